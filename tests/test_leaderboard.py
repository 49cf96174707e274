"""The leaderboard's outputs (Markdown, HTML, terminal), its command, and models.yaml."""

from __future__ import annotations

import base64
import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console

from rsibench import leaderboard as board
from rsibench.cli_report import leaderboard as leaderboard_command
from rsibench.horizon import HorizonResult, ModelHorizon
from rsibench.models import ModelInfo, ModelsFileError, load_models
from rsibench.records import append_records, read_runs
from rsibench.simulate import simulate_records, synthetic_suite
from rsibench.spec import CATEGORIES
from rsibench.trend import fit_trend

REPO = Path(__file__).resolve().parents[1]
EVIL = 'evil<script>alert("x")</script>|&co'
SECTIONS = ("leaderboard", "method", "success-curves", "trend", "categories")


def horizon(
    model: str, p50: float | None, category: str | None = None, *, lower_bound: bool = False
) -> ModelHorizon:
    defined = p50 is not None and p50 > 0 and not lower_bound
    return ModelHorizon(
        model=model,
        group=category,
        p50=p50,
        p80=None if p50 is None else p50 / 4,
        p50_ci=(p50 / 2, p50 * 2) if defined else None,
        p80_ci=(p50 / 8, p50 / 2) if defined else None,
        lower_bound=lower_bound,
        runs=72,
        tasks=24,
        success_rate=0.5,
        slope=-0.6 if defined else None,
        intercept=0.6 * np.log2(p50) if defined else None,
    )


# model -> (p50 minutes, release date)
MODELS = {
    "lab/small": (3.0, dt.date(2023, 3, 1)),
    "lab/large": (45.0, dt.date(2024, 6, 1)),
    EVIL: (12.0, None),
    "lab/flat": (None, dt.date(2024, 1, 1)),
    "oracle": (960.0, None),
}


def simulated_runs(path: Path) -> pd.DataFrame:
    variants = synthetic_suite(n_tasks=24, family_size=3).variants
    for i, (model, (p50, _)) in enumerate(MODELS.items()):
        records = simulate_records(
            variants, horizon=p50 or 10.0, suite_version="synthetic", model=model, seed=i
        )
        for r in records:
            r["total_tokens"], r["cost_usd"] = 1000, 0.25
        append_records(path, records)
    return read_runs([path]).to_pandas()


def model_infos() -> dict[str, ModelInfo]:
    return {m: ModelInfo(m, m.title(), "Lab", d) for m, (_, d) in MODELS.items() if m != EVIL}


@pytest.fixture
def lb(tmp_path: Path) -> board.Leaderboard:
    runs = simulated_runs(tmp_path / "runs.jsonl")
    overall = HorizonResult(
        models=[horizon(m, p, lower_bound=m == "oracle") for m, (p, _) in MODELS.items()],
        draws={"lab/small": np.array([2.0, 3.0, 4.0]), "lab/large": np.array([30.0, 45.0, 70.0])},
    )
    per_category = HorizonResult(
        models=[
            horizon(m, p * (j + 1) / 2, c)
            for m, (p, _) in MODELS.items()
            if p is not None
            for j, c in enumerate(CATEGORIES)
        ],
        draws={},
    )
    models = model_infos()
    return board.build(runs, overall, per_category, models, fit_trend(overall, models))


def test_rows_are_ranked_by_p50_with_undefined_last(lb: board.Leaderboard) -> None:
    assert [(r.rank, r.model) for r in lb.rows] == [
        (1, "oracle"),
        (2, "lab/large"),
        (3, EVIL),
        (4, "lab/small"),
        (None, "lab/flat"),
    ]
    assert lb.categories == list(CATEGORIES)
    assert lb.rows[1].tokens_per_run == 1000 and lb.rows[1].cost_per_run == 0.25


def test_markdown_table_has_every_column(lb: board.Leaderboard) -> None:
    md = board.render_markdown(lb)
    lines = md.splitlines()
    header = next(line for line in lines if line.startswith("| Rank"))
    cells = [c.strip() for c in header.strip("|").split("|")]
    assert cells == [
        "Rank",
        "Model",
        "p50 [95% CI]",
        "p80 [95% CI]",
        *(f"p50 {c}" for c in CATEGORIES),
        "Success",
        "Runs",
        "Tokens/run",
        "Cost/run",
        "Released",
        "Suite",
    ]
    rows = [line for line in lines if line.startswith("| ") and line is not header]
    body = rows[1:]  # after the alignment row
    assert len(body) == len(MODELS)
    # Every row has as many cells as the header: the pipe in a model name is escaped.
    assert all(len(re.split(r"(?<!\\)\|", row)) == len(cells) + 2 for row in rows)
    assert body[0].startswith("| 1 | Oracle (oracle) | ≥ 16 h |")
    assert "| 2 | Lab/Large (lab/large) | 45 min \\[22.5 min – 1.5 h\\] |" in body[1]
    assert "2024-06-01 | synthetic |" in body[1]
    assert body[-1].startswith("| — | Lab/Flat (lab/flat) | — | — |")
    assert "95% hierarchical bootstrap" in md
    assert "Doubling time" in md


def test_html_page_has_every_section_and_loads_nothing_from_outside(
    lb: board.Leaderboard,
) -> None:
    page = board.render_html(lb)
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 3
    for image in images:  # not even an address in the PNG's metadata
        data = base64.b64decode(image)
        assert data.startswith(b"\x89PNG") and b"http" not in data
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert re.findall(r'src="(?!data:)', page) == []
    assert "95% hierarchical bootstrap" in page
    assert "one working year of one engineer" in page
    for name in ("Lab/Large", "Lab/Small", "Oracle", "Lab/Flat"):
        assert name in page


def test_html_escapes_model_names(lb: board.Leaderboard) -> None:
    page = board.render_html(lb)
    assert EVIL not in page
    assert "evil&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;|&amp;co" in page


def test_html_renders_without_trend_or_categories(tmp_path: Path) -> None:
    runs = simulated_runs(tmp_path / "runs.jsonl")
    overall = HorizonResult(models=[horizon("lab/small", 3.0)], draws={})
    lb = board.build(runs, overall, HorizonResult([], {}), {}, fit_trend(overall, {}))
    page = board.render_html(lb)
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    assert "Too few data: 0 dated model(s)" in page
    assert lb.categories == []


def test_cells_mark_lower_bounds_and_hide_their_interval() -> None:
    assert board.horizon_text(960.0, (900.0, 960.0), True) == "≥ 16 h"
    assert board.horizon_text(30.0, (20.0, 45.0), False) == "30 min [20–45 min]"
    assert board.horizon_text(0.0, (0.0, 0.0), False) == "0 s"
    assert board.horizon_text(None, None, False) == "—"


def test_terminal_output_prints_whole_rows_when_piped(lb: board.Leaderboard) -> None:
    console = Console(width=80, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    board.render_terminal(lb, console)
    text = console.export_text()
    assert "Lab/Large" in text and "2024-06-01" in text and "p50 per category" in text
    assert "Closed loop" in text


def test_leaderboard_command_writes_markdown_and_html(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    frame = simulated_runs(runs / "sim.jsonl")
    crashed = {**frame.iloc[0].to_dict(), "run_id": "crashed/1", "error": "scorer crashed"}
    append_records(runs / "crashed.jsonl", [crashed])
    models = tmp_path / "models.yaml"
    models.write_text(
        "lab/small: {name: Small, organisation: Lab, release_date: 2023-03-01}\n"
        "lab/large: {name: Large, organisation: Lab, release_date: 2024-06-01}\n"
    )
    out_dir = tmp_path / "site"
    args = [str(runs), "--models", str(models), "--out-dir", str(out_dir), "--bootstrap", "20"]
    result = CliRunner().invoke(leaderboard_command, args)
    assert result.exit_code == 0, result.output
    assert f"wrote {out_dir / 'leaderboard.html'}" in result.output
    page = (out_dir / "leaderboard.html").read_text()
    assert "Large" in page and "Doubling time" in page
    assert "https://" not in page
    md = (out_dir / "leaderboard.md").read_text()
    assert md.count("\n| ") == len(MODELS) + 2  # header, alignment row, one row per model
    assert "(1 unscored, with errors, left out of the horizons)" in md
    assert "| 72 |" in md  # the scored runs of each model: 24 tasks, 3 epochs


def test_leaderboard_command_reports_a_bad_models_file(tmp_path: Path) -> None:
    runs = tmp_path / "runs.jsonl"
    simulated_runs(runs)
    models = tmp_path / "models.yaml"
    models.write_text("lab/small: {name: Small, organisation: Lab, release_date: soon}\n")
    result = CliRunner().invoke(leaderboard_command, [str(runs), "--models", str(models)])
    assert result.exit_code == 2
    assert "model 'lab/small': field 'release_date': 'soon' is not a date" in result.output


# ---- models.yaml ---------------------------------------------------------------------------


def test_shipped_models_file_is_valid() -> None:
    models = load_models(REPO / "results" / "models.yaml")
    assert models["oracle"].release_date is None
    assert models["noop"].release_date is None


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "models.yaml"
    path.write_text(text)
    with pytest.raises(ModelsFileError) as err:
        load_models(path)
    assert all(p.startswith(str(path)) for p in err.value.problems)
    return [p.removeprefix(f"{path}") for p in err.value.problems]


def test_models_file_errors_name_model_field_and_fix(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "a/one:\n  name: One\n  organisation: Lab\n  release_date: 2024-13-01\n"
        "a/two:\n  name: ''\n  organisation: Lab\n  released: 2024-01-01\n"
        "a/three:\n  name: Three\n  organisation: Lab\n  release_date: 2024-02-03T10:00:00\n",
    )
    assert found == [
        ": model 'a/one': field 'release_date': '2024-13-01' is not a date; write it as "
        "YYYY-MM-DD, or null when the model has no public release date",
        ": model 'a/two': field 'released': unknown field; the fields are name, organisation, "
        "release_date",
        ": model 'a/two': field 'name': missing or not text; give it as non-empty text",
        ": model 'a/two': field 'release_date': missing; write it as YYYY-MM-DD, or null when "
        "the model has no public release date",
        ": model 'a/three': field 'release_date': '2024-02-03T10:00:00' is not a date; write "
        "it as YYYY-MM-DD, or null when the model has no public release date",
    ]


def test_models_file_rejects_a_repeated_model(tmp_path: Path) -> None:
    entry = "  name: X\n  organisation: Lab\n  release_date: 2024-01-01\n"
    [found] = problems(tmp_path, f"a/x:\n{entry}a/x:\n{entry}")
    assert found.startswith(" (line 5): not valid YAML:")
    assert "model id 'a/x' appears twice; keep one entry" in found


def test_models_file_must_be_a_mapping_of_entries(tmp_path: Path) -> None:
    [found] = problems(tmp_path, "- a/x\n- a/y\n")
    assert "expected a mapping of model id to its entry, found list" in found
    [found] = problems(tmp_path, "a/x: GPT\n")
    assert found == ": model 'a/x': expected a mapping with fields name, organisation, " + (
        "release_date, found str"
    )
    [found] = problems(tmp_path, "a/x: {name: [unclosed\n")
    assert found.startswith(" (line 2): not valid YAML") and found.endswith("fix the syntax")


def test_models_file_accepts_quoted_dates_and_null(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text(
        "a/x: {name: X, organisation: Lab, release_date: '2024-05-13'}\n"
        "a/y: {name: Y, organisation: Lab, release_date: null}\n"
    )
    models = load_models(path)
    assert models["a/x"].release_date == dt.date(2024, 5, 13)
    assert models["a/y"].release_date is None
