"""Simulated records, the `simulate` command, and parameter recovery by the horizon fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from rsibench import horizon as hz
from rsibench.cli_stats import simulate as simulate_cmd
from rsibench.records import read_runs, record_problems
from rsibench.simulate import (
    simulate_records,
    success_probability,
    synthetic_suite,
)

CANARY = "RSIBENCH CANARY 12345678-1234-4123-8123-123456789abc"


def write_suite(root: Path) -> None:
    """A two-family suite on disk that load_suite accepts."""
    (root / "sandboxes" / "img").mkdir(parents=True)
    (root / "sandboxes" / "img" / "Dockerfile").write_text("FROM scratch\n")
    (root / "scorers").mkdir()
    (root / "scorers" / "check.py").write_text("")
    for category, family, lengths in [
        ("debugging", "fix-loader", [2, 30]),
        ("toy-model", "tiny-lm", [10, 120, 600]),
    ]:
        fam = root / "tasks" / category / family
        for sub in ("workspace", "checks", "solution"):
            (fam / sub).mkdir(parents=True)
        (fam / "solution" / "solve.sh").write_text("true\n")
        (fam / "instructions.md").write_text(f"Do it.\n{CANARY}\n")
        (fam / "README.md").write_text("Why these lengths.\n")
        spec = {
            "id": family,
            "category": category,
            "summary": "A family for the simulate tests.",
            "canary": CANARY,
            "image": "img",
            "resources": {"cpus": 1, "memory": "1g", "pids": 64, "disk": "1g"},
            "scorer": {"name": "check"},
            "agent": {"working_minutes": 30},
            "variants": [
                {
                    "id": f"v{i}",
                    "human_minutes": m,
                    "human_minutes_source": "estimate",
                    "threshold": 1.0,
                }
                for i, m in enumerate(lengths)
            ],
        }
        (fam / "task.yaml").write_text(yaml.safe_dump(spec))


def test_records_are_schema_valid_and_complete() -> None:
    suite = synthetic_suite(n_tasks=12)
    records = simulate_records(suite.variants, horizon=30, suite_version="v1", epochs=2)
    assert len(records) == 24
    assert all(record_problems(r) == [] for r in records)
    assert {r["agent"] for r in records} == {"simulated"}
    assert {r["model"] for r in records} == {"simulated-30min"}
    assert len({r["run_id"] for r in records}) == 24
    assert sorted({r["epoch"] for r in records}) == [1, 2]


def test_same_seed_same_outcomes_other_settings_other_run_ids() -> None:
    variants = synthetic_suite().variants
    one = simulate_records(variants, horizon=30, suite_version="v", seed=1)
    two = simulate_records(variants, horizon=30, suite_version="v", seed=1)
    other = simulate_records(variants, horizon=30, suite_version="v", seed=2)
    assert [r["success"] for r in one] == [r["success"] for r in two]
    assert [r["success"] for r in one] != [r["success"] for r in other]
    assert {r["run_id"] for r in one}.isdisjoint(r["run_id"] for r in other)


def test_success_frequency_follows_the_logistic() -> None:
    suite = synthetic_suite(n_tasks=5, min_minutes=4, max_minutes=256)
    records = simulate_records(suite.variants, horizon=32, suite_version="v", epochs=4000)
    df = pd.DataFrame(records)
    observed = df.groupby("human_minutes")["success"].mean()
    expected = success_probability(observed.index.to_numpy(), 32, -0.6)
    # 4000 draws: standard error at most 0.008
    np.testing.assert_allclose(observed.to_numpy(), expected, atol=0.03)
    assert success_probability(32, 32) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "kwargs", [{"horizon": 0}, {"horizon": 10, "slope": 0.2}, {"horizon": 10, "epochs": 0}]
)
def test_bad_settings_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        simulate_records(synthetic_suite().variants, suite_version="v", **kwargs)


def test_synthetic_suite_spreads_lengths_on_a_log_scale() -> None:
    suite = synthetic_suite(n_tasks=30, family_size=3)
    lengths = sorted(v.human_minutes for v in suite.variants)
    assert len(lengths) == 30 and len(suite.families) == 10
    assert lengths[0] == 1.0 and lengths[-1] == 960.0
    ratios = np.diff(np.log(lengths))
    assert ratios == pytest.approx(np.full(29, ratios.mean()), rel=1e-2)  # lengths are rounded


def test_cli_writes_valid_records_for_the_current_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_suite(tmp_path / "suite")
    monkeypatch.setenv("RSIBENCH_ROOT", str(tmp_path / "suite"))
    out = tmp_path / "runs" / "sim.jsonl"
    args = ["--horizon", "45", "--epochs", "2", "--seed", "3", "--model", "sim-a", "--out", out]
    result = CliRunner().invoke(simulate_cmd, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    df = read_runs([out])  # validates every record against the schema
    assert len(df) == 10
    assert set(df["task_id"]) == {
        "fix-loader/v0",
        "fix-loader/v1",
        "tiny-lm/v0",
        "tiny-lm/v1",
        "tiny-lm/v2",
    }
    assert set(df["model"]) == {"sim-a"} and set(df["agent"]) == {"simulated"}
    assert "10 simulated runs of sim-a" in result.output


def test_cli_without_a_suite_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tasks").mkdir()
    monkeypatch.setenv("RSIBENCH_ROOT", str(tmp_path))
    result = CliRunner().invoke(simulate_cmd, ["--horizon", "10", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "no task families" in result.output


# --- parameter recovery ----------------------------------------------------------------------
# Stated tolerance: on 30 tasks spread evenly on a log scale from 1 minute to 16 hours, 8
# attempts each, with the default slope -0.6, every one of 20 simulated models is within a
# factor of 2 of its true p50, their RMS error is below 0.5 doublings, and the 95% interval
# contains the true value for at least 18 of the 20.


@pytest.mark.parametrize("true_p50", [4.0, 30.0, 240.0])
def test_recovers_a_known_horizon(true_p50: float) -> None:
    suite = synthetic_suite(n_tasks=30)
    records = []
    for seed in range(20):
        records += simulate_records(
            suite.variants,
            horizon=true_p50,
            suite_version=suite.version,
            epochs=8,
            seed=seed,
            model=f"m{seed:02d}",
        )
    result = hz.estimate_horizons(pd.DataFrame(records)[hz.COLUMNS], bootstrap=200, seed=1)
    errors = np.array([np.log2(m.p50 / true_p50) for m in result.models])
    covered = sum(m.p50_ci[0] <= true_p50 <= m.p50_ci[1] for m in result.models)
    assert np.abs(errors).max() < 1.0
    assert np.sqrt(np.mean(errors**2)) < 0.5
    assert covered >= 18
    assert np.mean([m.slope for m in result.models]) == pytest.approx(-0.6, abs=0.15)


def test_recovery_is_tight_with_plenty_of_data() -> None:
    suite = synthetic_suite(n_tasks=200, family_size=4)
    records = simulate_records(
        suite.variants, horizon=90.0, suite_version=suite.version, epochs=30, seed=11
    )
    (m,) = hz.estimate_horizons(pd.DataFrame(records)[hz.COLUMNS], bootstrap=0).models
    assert m.p50 == pytest.approx(90.0, rel=0.1)
    assert m.slope == pytest.approx(-0.6, abs=0.05)
