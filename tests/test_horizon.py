"""The horizon fit, weights, bootstrap, inputs and the `horizon` command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression

from rsibench import horizon as hz
from rsibench.cli_stats import horizon as horizon_cmd
from rsibench.records import RecordError, append_records, as_runs, read_runs, scored
from rsibench.simulate import simulate_records, synthetic_suite

METR_FIXTURE = Path(__file__).parent / "fixtures" / "metr" / "runs.jsonl"


def runs(rows: list[tuple[str, str, float, bool]], model: str = "m") -> pd.DataFrame:
    """A runs frame from (task_id, family, human_minutes, success) tuples."""
    return pd.DataFrame(
        [
            {
                "model": model,
                "task_id": t,
                "family": f,
                "category": "debugging",
                "human_minutes": minutes,
                "success": ok,
            }
            for t, f, minutes, ok in rows
        ]
    )


def simulated(horizons: dict[str, float], *, n_tasks: int = 30, epochs: int = 4, seed: int = 0):
    suite = synthetic_suite(n_tasks=n_tasks)
    records = []
    for i, (model, true_p50) in enumerate(horizons.items()):
        records += simulate_records(
            suite.variants,
            horizon=true_p50,
            suite_version=suite.version,
            epochs=epochs,
            seed=seed + i,
            model=model,
        )
    return records


def frame(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(records)[hz.COLUMNS]


def sklearn_fit(x, y, w, r):
    model = LogisticRegression(C=1 / r, solver="newton-cholesky", tol=1e-12, max_iter=10_000)
    model.fit(np.asarray(x)[:, None], y, sample_weight=w)
    return model.intercept_[0], model.coef_[0, 0]


# --- the fit ---------------------------------------------------------------------------------


@pytest.mark.parametrize("r", [1e-5, 0.1, 1.0])
def test_fit_matches_sklearn(r: float) -> None:
    rng = np.random.default_rng(7)
    t = np.exp2(rng.uniform(0, 10, 400))
    y = rng.random(400) < hz.logistic_curve(t, 3.0, -0.6)
    w = rng.uniform(0.2, 3.0, 400)
    w /= w.sum()
    a, b = hz.fit_logistic(t, y, w, regularization=r)
    ref_a, ref_b = sklearn_fit(np.log2(t), y, w, r)
    assert a == pytest.approx(ref_a, abs=1e-6)
    assert b == pytest.approx(ref_b, abs=1e-6)


def test_fit_matches_sklearn_on_separable_data() -> None:
    # Perfectly separated outcomes: only the penalty keeps the slope finite.
    t = np.array([1, 2, 4, 8, 16, 32.0])
    y = np.array([1, 1, 1, 0, 0, 0])
    w = np.full(6, 1 / 6)
    a, b = hz.fit_logistic(t, y, w)
    ref_a, ref_b = sklearn_fit(np.log2(t), y, w, 1e-5)
    assert (a, b) == pytest.approx((ref_a, ref_b), abs=1e-6)
    assert b < -5


def test_estimate_matches_sklearn_with_invsqrt_weights() -> None:
    df = frame(simulated({"m": 40.0}, epochs=3))
    df = df.drop(index=df.index[::7])  # uneven runs per task, so weights differ
    est = hz.estimate_horizons(df, bootstrap=0).models[0]
    w = hz.run_weights(df)
    ref_a, ref_b = sklearn_fit(np.log2(df["human_minutes"]), df["success"], w, 1e-5)
    assert est.intercept == pytest.approx(ref_a, abs=1e-6)
    assert est.slope == pytest.approx(ref_b, abs=1e-6)
    assert est.p50 == pytest.approx(2 ** (-ref_a / ref_b), rel=1e-6)
    assert est.p80 == pytest.approx(2 ** ((math.log(4) - ref_a) / ref_b), rel=1e-6)


def test_hand_computed_saturated_fit() -> None:
    # Two lengths, 1 and 4 minutes, with 3/4 and 1/4 success: without penalty the curve goes
    # through both rates, a = ln 3 and a + 2b = -ln 3, so p50 = 2 min and p80 = 2^((ln4-ln3)/-ln3).
    df = runs(
        [("f/a", "f", 1.0, ok) for ok in (1, 1, 1, 0)]
        + [("f/b", "f", 4.0, ok) for ok in (1, 0, 0, 0)]
    )
    m = hz.estimate_horizons(df, regularization=0.0, bootstrap=0).models[0]
    assert m.intercept == pytest.approx(math.log(3), abs=1e-9)
    assert m.slope == pytest.approx(-math.log(3), abs=1e-9)
    assert m.p50 == pytest.approx(2.0, abs=1e-9)
    assert m.p80 == pytest.approx(2 ** ((math.log(4) - math.log(3)) / -math.log(3)), abs=1e-9)
    assert (m.runs, m.tasks, m.success_rate) == (8, 2, 0.5)


def test_logistic_curve_and_horizon_agree() -> None:
    a, b = 2.0, -0.5
    p50 = hz.horizon_minutes(0.5, a, b)
    p80 = hz.horizon_minutes(0.8, a, b)
    assert hz.logistic_curve([p50, p80], a, b) == pytest.approx([0.5, 0.8])
    assert hz.horizon_minutes(0.5, a, 0.1) is None


# --- weights ---------------------------------------------------------------------------------


def test_weighting_formulas() -> None:
    # Family f has two tasks (run twice and once), family g one task run four times.
    df = runs(
        [("f/a", "f", 1.0, True)] * 2 + [("f/b", "f", 2.0, False)] + [("g/c", "g", 4.0, True)] * 4
    )
    total = 2 / (2 * math.sqrt(2)) + 1 / math.sqrt(2) + 4 / 4
    expected = [1 / (2 * math.sqrt(2))] * 2 + [1 / math.sqrt(2)] + [1 / 4] * 4
    assert hz.run_weights(df, "invsqrt").tolist() == pytest.approx([e / total for e in expected])
    assert hz.run_weights(df, "equal").tolist() == pytest.approx(
        [1 / 6] * 2 + [1 / 3] + [1 / 12] * 4
    )


def test_weights_sum_to_one_per_model() -> None:
    df = frame(simulated({"x": 10.0, "y": 100.0}))
    w = pd.Series(hz.run_weights(df))
    assert w.groupby(df["model"].to_numpy()).sum().tolist() == pytest.approx([1.0, 1.0])


def test_given_weight_column_is_used() -> None:
    df = frame(simulated({"m": 30.0}))
    plain = hz.estimate_horizons(df, weighting="equal", bootstrap=0).models[0]
    df["weight"] = hz.run_weights(df, "equal") * 5  # scale does not matter: renormalised
    given = hz.estimate_horizons(df, weighting="invsqrt", bootstrap=0).models[0]
    assert given.p50 == pytest.approx(plain.p50, rel=1e-9)


def test_weight_varying_within_a_task_is_refused() -> None:
    df = runs([("f/a", "f", 1.0, True), ("f/a", "f", 1.0, False), ("f/b", "f", 8.0, False)])
    df["weight"] = [0.2, 0.3, 0.5]
    with pytest.raises(hz.InputError, match="differs between runs of the same model and task"):
        hz.estimate_horizons(df, bootstrap=0)


def test_weighting_changes_the_fit() -> None:
    df = frame(simulated({"m": 30.0}, n_tasks=10))  # families of 3, 3, 2 and 2 tasks
    a = hz.estimate_horizons(df, weighting="invsqrt", bootstrap=0).models[0]
    b = hz.estimate_horizons(df, weighting="equal", bootstrap=0).models[0]
    assert a.p50 != pytest.approx(b.p50, rel=1e-6)


# --- edge cases ------------------------------------------------------------------------------


def test_never_succeeds_has_horizon_zero() -> None:
    df = runs([("f/a", "f", 1.0, False), ("f/b", "f", 30.0, False), ("g/c", "g", 5.0, False)])
    m = hz.estimate_horizons(df, bootstrap=50).models[0]
    assert (m.p50, m.p80, m.p50_ci, m.lower_bound) == (0.0, 0.0, (0.0, 0.0), False)
    assert m.slope is None and m.intercept is None and m.success_rate == 0.0


def test_always_succeeds_is_a_lower_bound_at_the_longest_task() -> None:
    df = runs([("f/a", "f", 1.0, True), ("f/b", "f", 30.0, True), ("g/c", "g", 5.0, True)])
    m = hz.estimate_horizons(df, bootstrap=50).models[0]
    assert m.lower_bound
    assert m.p50 == pytest.approx(30.0) and m.p80 == pytest.approx(30.0)
    assert m.slope is None
    assert 1.0 <= m.p50_ci[0] <= m.p50_ci[1] <= 30.0


def test_single_task_has_no_horizon() -> None:
    df = runs([("f/a", "f", 10.0, ok) for ok in (True, False, True)])
    m = hz.estimate_horizons(df, bootstrap=20).models[0]
    assert m.p50 is None and m.p80 is None
    assert m.slope == pytest.approx(0.0, abs=1e-9)
    assert m.success_rate == pytest.approx(2 / 3)


def test_rising_success_has_no_horizon() -> None:
    df = runs(
        [("f/a", "f", 1.0, ok) for ok in (0, 0, 0, 1)]
        + [("g/b", "g", 60.0, ok) for ok in (1, 1, 1, 0)]
    )
    m = hz.estimate_horizons(df, bootstrap=0).models[0]
    assert m.slope > 0 and m.p50 is None and m.p80 is None


def test_inconsistent_human_minutes_is_refused() -> None:
    df = runs([("f/a", "f", 1.0, True), ("f/a", "f", 2.0, False), ("f/b", "f", 8.0, False)])
    with pytest.raises(hz.InputError, match="task f/a has human_minutes 1.0 and 2.0"):
        hz.estimate_horizons(df, bootstrap=0)


# --- bootstrap -------------------------------------------------------------------------------


def test_bootstrap_is_reproducible_with_a_seed() -> None:
    df = frame(simulated({"x": 10.0, "y": 100.0}))
    one = hz.estimate_horizons(df, bootstrap=200, seed=3)
    two = hz.estimate_horizons(df, bootstrap=200, seed=3)
    other = hz.estimate_horizons(df, bootstrap=200, seed=4)
    for key in ("x", "y"):
        assert one.draws[key].shape == (200,)
        np.testing.assert_array_equal(one.draws[key], two.draws[key])
        assert not np.array_equal(one.draws[key], other.draws[key])
    assert one.models[0].p50_ci == two.models[0].p50_ci


def test_interval_brackets_the_estimate() -> None:
    result = hz.estimate_horizons(frame(simulated({"x": 10.0, "y": 100.0})), bootstrap=300)
    for m in result.models:
        assert m.p50_ci[0] < m.p50 < m.p50_ci[1]
        assert m.p80_ci[0] < m.p80 < m.p80_ci[1]
        assert m.p80 < m.p50


def _naive_bootstrap(df: pd.DataFrame, n: int, seed: int) -> np.ndarray:
    """METR's hierarchical bootstrap written out run by run, for one model."""
    rng = np.random.default_rng(seed)
    df = df.assign(weight=hz.run_weights(df))
    families = {f: sorted(g["task_id"].unique()) for f, g in df.groupby("family")}
    by_task = dict(tuple(df.groupby("task_id")))
    out = []
    for _ in range(n):
        parts = []
        for fam in rng.choice(sorted(families), len(families)):
            for task in rng.choice(families[fam], len(families[fam])):
                g = by_task[task]
                parts.append(g.iloc[rng.integers(0, len(g), len(g))])
        d = pd.concat(parts)
        if d["success"].all() or not d["success"].any():
            out.append(d["human_minutes"].max() if d["success"].all() else 0.0)
            continue
        a, b = hz.fit_logistic(d["human_minutes"], d["success"], d["weight"])
        out.append(hz.horizon_minutes(0.5, a, b) or np.nan)
    return np.array(out, dtype=float)


def test_bootstrap_matches_run_by_run_resampling() -> None:
    # Our batched bootstrap draws per-task success counts instead of individual runs; its
    # distribution must be the same as resampling families, tasks and runs one by one.
    df = frame(simulated({"m": 10.0}, n_tasks=18, epochs=6))
    naive = np.log2(_naive_bootstrap(df, 500, seed=1))
    ours = np.log2(hz.estimate_horizons(df, bootstrap=2000, seed=1).draws["m"])
    q = [10, 50, 90]
    np.testing.assert_allclose(np.nanpercentile(ours, q), np.nanpercentile(naive, q), atol=0.15)


def test_family_and_task_draws_are_shared_across_models() -> None:
    # With one run per task, resampling runs changes nothing, so two models with identical runs
    # get identical horizons on every draw only if they share the family and task draws.
    df = frame(simulated({"x": 20.0}, epochs=1))
    twin = df.assign(model="twin")
    result = hz.estimate_horizons(pd.concat([df, twin]), bootstrap=100, seed=5)
    np.testing.assert_array_equal(result.draws["x"], result.draws["twin"])
    assert np.nanstd(result.draws["x"]) > 0


def test_by_category() -> None:
    df = frame(simulated({"m": 30.0}, n_tasks=40))
    df["category"] = pd.DataFrame(simulated({"m": 30.0}, n_tasks=40))["category"]
    result = hz.estimate_horizons(df, bootstrap=20, by="category")
    cats = sorted(m.group for m in result.models)
    assert cats == sorted(df["category"].unique())
    assert sum(m.runs for m in result.models) == len(df)
    assert set(result.draws) == {f"m [{c}]" for c in cats}


# --- inputs ----------------------------------------------------------------------------------


def metr_line(**fields) -> str:
    base = {
        "task_id": "fam_a/task_1",
        "task_family": "fam_a",
        "alias": "Model X",
        "model": "lab/model-x",
        "run_id": "r1",
        "score_binarized": 1,
        "human_minutes": 3.5,
        "task_source": "HCAST",
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not None})


def read(paths: list[Path], fmt: str = "rsibench"):
    return scored(read_runs(paths, fmt))


def test_read_metr_format(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    path.write_text(
        "\n".join(
            [
                metr_line(run_id="r1", invsqrt_task_weight=0.25, equal_task_weight=0.5),
                metr_line(
                    run_id="r2", score_binarized=0, invsqrt_task_weight=0.25, equal_task_weight=0.5
                ),
                metr_line(
                    run_id="r3",
                    alias=None,
                    task_id="ai_rd_fix_embedding/main",
                    task_family="ai_rd_fix_embedding",
                    human_minutes=60,
                    invsqrt_task_weight=0.5,
                    equal_task_weight=0.1,
                ),
            ]
        )
        + "\n"
    )
    runs = read([path], fmt="metr")
    assert runs["model"].tolist() == ["Model X", "Model X", "lab/model-x"]
    assert runs["task_id"].tolist()[2] == "ai_rd_fix_embedding/main"  # METR's ids are accepted
    assert runs["family"].tolist() == ["fam_a", "fam_a", "ai_rd_fix_embedding"]
    assert runs["task_source"].tolist() == ["HCAST"] * 3
    assert "category" not in runs  # METR's file has none: --by category must say so
    assert runs["success"].tolist() == [True, False, True]
    assert runs["invsqrt_task_weight"].tolist() == [0.25, 0.25, 0.5]
    # METR's weight column for the weighting asked for is used as given.
    invsqrt = hz.estimate_horizons(runs, bootstrap=0, weighting="invsqrt").models
    equal = hz.estimate_horizons(runs, bootstrap=0, weighting="equal").models
    assert [m.runs for m in invsqrt] == [2, 1] and [m.runs for m in equal] == [2, 1]


def test_metr_weights_recomputed_when_absent(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    path.write_text(metr_line() + "\n" + metr_line(run_id="r2", score_binarized=0) + "\n")
    assert "invsqrt_task_weight" not in read([path], fmt="metr")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (metr_line(score_binarized=0.5), r"runs.jsonl:2: score_binarized: 0.5; must be 0 or 1"),
        (metr_line(human_minutes=0), r"runs.jsonl:2: human_minutes: 0; must be a positive"),
        (metr_line(task_family=None), r"runs.jsonl:2: task_family: missing"),
        (metr_line(alias=None, model=None), r"runs.jsonl:2: alias/model: missing"),
        ("{not json", r"runs.jsonl:2: not a JSON object"),
    ],
)
def test_bad_metr_input_names_file_line_and_field(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "runs.jsonl"
    path.write_text(metr_line() + "\n" + line + "\n")
    with pytest.raises(RecordError, match=message):
        read([path], fmt="metr")


def test_read_rsibench_records_leaves_out_errored_runs(tmp_path: Path) -> None:
    records = simulated({"m": 30.0}, n_tasks=6, epochs=1)
    records[0] = {**records[0], "error": "scorer crashed", "success": False}
    append_records(tmp_path / "runs" / "a.jsonl", records)
    runs = read([tmp_path / "runs"])
    assert len(runs) == len(records) - 1
    assert runs.attrs["excluded_errors"] == 1
    assert set(hz.COLUMNS) <= set(runs.names)


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="no \\*.jsonl files"):
        read([tmp_path])


def test_by_names_the_missing_column_and_those_available() -> None:
    runs = read([METR_FIXTURE], fmt="metr")
    with pytest.raises(RecordError) as err:
        hz.estimate_horizons(runs, bootstrap=0, by="category")
    assert str(err.value) == (
        "--by category: these runs (metr format) have no column 'category' to group by; the "
        "columns available are: family, human_source, scaffold, task_source, task_version"
    )
    by_source = hz.estimate_horizons(runs, bootstrap=0, by="task_source")
    assert {m.group for m in by_source.models} == {"HCAST", "RE-Bench", "SWAA"}


def test_judgement_gap_recovers_simulated_horizons() -> None:
    suite = synthetic_suite(n_tasks=64, family_size=4)
    records = simulate_records(
        suite.variants,
        horizon=64.0,
        horizon_by={"research-judgement": 8.0},
        suite_version=suite.version,
        epochs=8,
        seed=3,
        model="m",
    )
    runs = as_runs(pd.DataFrame(records))
    (gap,) = hz.judgement_gaps(runs, bootstrap=300, seed=1)
    assert gap.model == "m"
    assert gap.execution_categories == ["debugging", "kernel-optimisation", "toy-model"]
    assert gap.ratio_ci[0] < 8 / 64 < gap.ratio_ci[1]  # the true ratio
    assert gap.ratio_ci[1] < 1  # the gap is seen
    np.testing.assert_allclose(np.nanpercentile(gap.draws, [2.5, 97.5]), gap.ratio_ci, rtol=1e-12)


def test_no_gap_without_research_judgement_runs() -> None:
    records = simulated({"m": 30.0})
    no_judging = [r for r in records if r["category"] != "research-judgement"]
    assert hz.judgement_gaps(pd.DataFrame(no_judging), bootstrap=0) == []


# --- the command -----------------------------------------------------------------------------


def test_cli_json(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    append_records(path, simulated({"slow": 8.0, "fast": 120.0}, epochs=2))
    result = CliRunner().invoke(horizon_cmd, [str(path), "--json", "--bootstrap", "100"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [m["model"] for m in out["models"]] == ["fast", "slow"]
    keys = {
        "model",
        "p50",
        "p80",
        "p50_ci",
        "p80_ci",
        "runs",
        "tasks",
        "success_rate",
        "slope",
        "intercept",
        "lower_bound",
        "task_minutes_range",
        "below_range",
    }
    assert out["judgement_gap"] == [] or {g["model"] for g in out["judgement_gap"]} <= {
        "fast",
        "slow",
    }
    for m in out["models"]:
        assert set(m) == keys
        assert m["p50_ci"][0] < m["p50"] < m["p50_ci"][1]
        assert m["runs"] == 60 and m["tasks"] == 30


def test_cli_by_category_and_table(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    append_records(path, simulated({"m": 30.0}, epochs=2))
    out = CliRunner().invoke(
        horizon_cmd, [str(path), "--json", "--by", "category", "--bootstrap", "0"]
    )
    assert out.exit_code == 0, out.output
    entries = json.loads(out.stdout)["models"]
    assert len(entries) == 4 and all("category" in m and m["p50_ci"] is None for m in entries)
    table = CliRunner().invoke(horizon_cmd, [str(path), "--bootstrap", "20"])
    assert table.exit_code == 0, table.output
    assert "Time horizons" in table.output and "m" in table.output


def test_cli_metr_format(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    lines = [
        metr_line(
            run_id=f"r{i}",
            task_id=f"f{i % 4}/t{i % 8}",
            task_family=f"f{i % 4}",
            human_minutes=2.0 ** (i % 8),
            score_binarized=int(i % 8 < 4 - (i % 3 == 0)),
        )
        for i in range(48)
    ]
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(
        horizon_cmd, [str(path), "--format", "metr", "--json", "--bootstrap", "50"]
    )
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout)["models"]
    assert entry["model"] == "Model X" and entry["runs"] == 48 and entry["tasks"] == 8
    assert 2.0 < entry["p50"] < 32.0


def test_cli_bad_record_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    append_records(path, simulated({"m": 30.0}, n_tasks=3, epochs=1))
    with path.open("a") as f:
        f.write('{"schema_version": 1}\n')
    result = CliRunner().invoke(horizon_cmd, [str(path), "--json"])
    assert result.exit_code == 2
    assert f"{path}:4" in result.output
    assert result.stdout == ""
