"""The analysis commands as a user runs them: start-up imports, both input formats on every
command, and the errors that must name what is wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rsibench.cli import main
from rsibench.records import append_records
from rsibench.simulate import simulate_records, synthetic_suite

REPO = Path(__file__).resolve().parents[1]
METR = REPO / "tests" / "fixtures" / "metr" / "runs.jsonl"
METR_MODELS = """
Model Early: {name: Early, organisation: Lab, release_date: 2023-03-01}
Model Middle: {name: Middle, organisation: Lab, release_date: 2024-03-01}
Model Late: {name: Late, organisation: Lab, release_date: 2025-03-01}
"""


def rsibench(*args: str | Path) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("args", [["--help"], ["horizon", str(METR), "--format", "metr"]])
def test_analysis_commands_import_neither_inspect_nor_docker(args: list[str]) -> None:
    code = (
        "import sys\nfrom rsibench.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in ('inspect_ai', 'docker', 'pandas', 'matplotlib') "
        "if m in sys.modules), file=sys.stderr)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "LOADED []" in out.stderr, out.stderr


# ---- METR's format on every analysis command -----------------------------------------------


def test_horizon_reads_metr_and_splits_by_any_column() -> None:
    result = rsibench("horizon", METR, "--format", "metr", "--by", "task_source", "--json",
                      "--bootstrap", "50")  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["by"] == "task_source"
    assert {m["task_source"] for m in out["models"]} == {"HCAST", "RE-Bench", "SWAA"}


def test_by_a_missing_column_names_it_and_the_columns_available() -> None:
    result = rsibench("horizon", METR, "--format", "metr", "--by", "category")
    assert result.exit_code == 2
    assert "--by category: these runs (metr format) have no column 'category'" in result.output
    assert "the columns available are: family, human_source, scaffold, task_source" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_trend_reads_metr(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(METR_MODELS)
    args = ("trend", METR, "--format", "metr", "--models", models, "--bootstrap", "50")
    result = rsibench(*args, "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [p["model"] for p in out["points"]] == ["Model Early", "Model Middle", "Model Late"]
    assert out["doubling_days"] > 0
    assert out["categories"] == []  # METR's runs carry no category


def test_leaderboard_reads_metr(tmp_path: Path) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(METR_MODELS)
    out_dir = tmp_path / "site"
    args = ("leaderboard", METR, "--format", "metr", "--models", models, "--out-dir", out_dir)
    result = rsibench(*args, "--bootstrap", "50")
    assert result.exit_code == 0, result.output
    data = json.loads((out_dir / "leaderboard.json").read_text())
    assert [m["model"] for m in data["models"]] == ["Model Late", "Model Middle", "Model Early"]
    assert any(t["task_id"] == "ai_rd_fix_embedding/main" for t in data["tasks"])
    assert "--format metr" in data["provenance"]["command"] or data["provenance"]["inputs"]


def test_gate_reads_metr(tmp_path: Path) -> None:
    result = rsibench(
        "gate", "--format", "metr", "--baseline", METR, "--candidate", METR,
        "--baseline-model", "Model Late", "--candidate-model", "Model Early", "--json",
        "--bootstrap", "200", "--min-epochs", "4",
    )  # fmt: skip
    out = json.loads(result.stdout)
    assert result.exit_code == 1, result.output
    assert out["verdict"] == "fail" and out["power"]["detectable_drop"] < 1


# ---- errors ------------------------------------------------------------------------------------


def _records(path: Path, **kw: object) -> Path:
    suite = synthetic_suite(n_tasks=12)
    append_records(
        path, simulate_records(suite.variants, suite_version="s", horizon=30.0, epochs=3, **kw)
    )
    return path


@pytest.mark.parametrize("command", ["horizon", "trend", "leaderboard"])
def test_truncated_last_line_names_file_and_line_and_can_be_skipped(
    tmp_path: Path, command: str
) -> None:
    runs = _records(tmp_path / "runs.jsonl")
    with runs.open("a") as f:
        f.write('{"schema_version": 1, "run_id": "cut')
    models = tmp_path / "models.yaml"
    models.write_text("simulated-30min: {name: S, organisation: L, release_date: 2024-01-01}\n")
    extra = [] if command == "horizon" else ["--models", str(models)]
    extra += ["--out-dir", str(tmp_path / "site")] if command == "leaderboard" else []
    result = rsibench(command, runs, "--bootstrap", "20", *extra)
    assert result.exit_code == 2
    assert f"{runs}:37: truncated last line" in result.output and "--skip-invalid" in result.output
    assert "Traceback" not in result.output
    skipped = rsibench(command, runs, "--bootstrap", "20", "--skip-invalid", *extra)
    assert skipped.exit_code == 0, skipped.output
    assert "--skip-invalid left out 1 invalid line(s)" in skipped.output


def test_trend_without_a_models_file_names_the_file_it_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _records(tmp_path / "runs.jsonl")
    monkeypatch.chdir(tmp_path)  # outside a checkout: results/models.yaml of the cwd
    monkeypatch.setattr("rsibench.cli_stats.default_runs_dir", lambda: tmp_path / "results/runs")
    monkeypatch.setattr("rsibench.cli_report.default_runs_dir", lambda: tmp_path / "results/runs")
    result = rsibench("trend", runs, "--bootstrap", "0")
    assert result.exit_code == 2
    assert f"no models file: looked for {tmp_path / 'results' / 'models.yaml'}" in result.output
    assert "--models FILE" in result.output


def test_trend_with_no_dated_model_says_so(tmp_path: Path) -> None:
    runs = _records(tmp_path / "runs.jsonl")
    models = tmp_path / "models.yaml"
    models.write_text("other/model: {name: O, organisation: L, release_date: 2024-01-01}\n")
    result = rsibench("trend", runs, "--models", models, "--bootstrap", "0")
    assert result.exit_code == 2
    assert "none of the models in the runs (simulated-30min) has a release date" in result.output


# ---- simulate --horizon-by and the judgement gap ----------------------------------------------


def test_simulate_horizon_by_category_gives_a_judgement_gap(tmp_path: Path) -> None:
    out = tmp_path / "runs.jsonl"
    result = rsibench(
        "simulate", "--synthetic", "48", "--horizon", "120", "--horizon-by",
        "research-judgement=10", "--epochs", "6", "--out", out, "--model", "m",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    horizon = rsibench("horizon", out, "--json", "--bootstrap", "200")
    (gap,) = json.loads(horizon.stdout)["judgement_gap"]
    assert gap["model"] == "m" and gap["ratio_ci"][1] < 1
    assert gap["execution_categories"] == ["debugging", "kernel-optimisation", "toy-model"]
    table = rsibench("horizon", out, "--bootstrap", "100")
    assert "Judgement gap" in table.output


@pytest.mark.parametrize(
    ("value", "message"),
    [("cooking=3", "'cooking' is no category"), ("debugging=-1", "positive number of minutes")],
)
def test_simulate_horizon_by_rejects_bad_values(tmp_path: Path, value: str, message: str) -> None:
    out = tmp_path / "r.jsonl"
    result = rsibench("simulate", "--horizon", "30", "--horizon-by", value, "--out", out)
    assert result.exit_code == 2 and message in result.output


def test_simulate_horizon_by_a_category_the_suite_lacks(tmp_path: Path, monkeypatch) -> None:
    # the fixture suite has debugging tasks only
    monkeypatch.setenv("RSIBENCH_ROOT", str(REPO / "tests" / "fixtures" / "mini"))
    out = tmp_path / "r.jsonl"
    result = rsibench("simulate", "--horizon", "30", "--horizon-by", "toy-model=5", "--out", out)
    assert result.exit_code == 2
    assert "the suite has no task in that category" in result.output and "--synthetic" in (
        result.output
    )
