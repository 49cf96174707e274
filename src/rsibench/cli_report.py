"""`rsibench trend` and `rsibench leaderboard`: horizons of many models side by side.

Both read run records, fit the horizons (``rsibench.horizon``) and the trend over release dates
(``rsibench.trend``); the lead registers these commands on the ``rsibench`` group.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from rsibench import horizon as hz
from rsibench import leaderboard as board
from rsibench.cli_stats import BadInput, default_runs_dir
from rsibench.models import ModelInfo, ModelsFileError, load_models
from rsibench.records import RecordError, read_runs
from rsibench.trend import LOOP_HOURS, Trend, fit_trend, summary_lines


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    """Arguments and options shared by both commands."""
    decorators = [
        click.argument("files", nargs=-1, type=click.Path(path_type=Path)),
        click.option(
            "--models",
            "models_file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Model names and release dates [default: results/models.yaml].",
        ),
        click.option(
            "--loop-hours",
            type=click.FloatRange(min=0, min_open=True),
            default=LOOP_HOURS,
            show_default=True,
            help="Closed-loop threshold in skilled-human hours (assumed length of a "
            "model-development cycle; 2,000 h is about one working year of one engineer).",
        ),
        click.option(
            "--bootstrap",
            type=click.IntRange(min=0),
            default=hz.DEFAULT_BOOTSTRAP,
            show_default=True,
            help="Hierarchical bootstrap draws for the 95% intervals (0: none).",
        ),
        click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed."),
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


def _models(path: Path | None) -> dict[str, ModelInfo]:
    if path is None:
        # Beside the default run records: results/ of the suite checkout.
        path = default_runs_dir().parent / "models.yaml"
        if not path.exists():
            click.echo(
                f"warning: no {path}, so models are shown by id and none has a release date; "
                "pass --models",
                err=True,
            )
            return {}
    try:
        return load_models(path)
    except ModelsFileError as e:
        raise BadInput(str(e)) from e


def _print_trend(trend: Trend, console: Console) -> None:
    table = Table(title="Dated models", title_justify="left")
    for name in ("Model", "Released", "p50 [95% CI]", "Frontier", "Fitted"):
        table.add_column(name, justify="left" if name == "Model" else "right")
    for p in trend.points:
        table.add_row(
            p.model,
            p.release_date.isoformat(),
            board.horizon_text(p.p50, p.p50_ci, p.lower_bound),
            "yes" if p.frontier else "no",
            "yes" if p.used else "no",
        )
    console.print(table)
    console.print(*summary_lines(trend), sep="\n", markup=False, highlight=False, soft_wrap=True)


@click.command()
@_common
@click.option(
    "--all", "all_models", is_flag=True, help="Fit over all dated models, not only the frontier."
)
@click.option("--json", "as_json", is_flag=True, help="Print the trend as JSON.")
def trend(
    files: tuple[Path, ...],
    models_file: Path | None,
    loop_hours: float,
    bootstrap: int,
    seed: int,
    all_models: bool,
    as_json: bool,
) -> None:
    """Doubling time of the 50% horizon over release dates, and the closed-loop date.

    FILES are run-record files or directories of *.jsonl (default: results/runs/). The trend is a
    least-squares fit of ln(p50) on release date over the frontier models (each at least as good
    as every model released before it); models without a release date are left out.
    """
    models = _models(models_file)
    try:
        runs = hz.read_inputs(list(files) or [default_runs_dir()])
        horizons = hz.estimate_horizons(runs, bootstrap=bootstrap, seed=seed)
    except RecordError as e:
        raise BadInput(str(e)) from e
    result = fit_trend(horizons, models, frontier_only=not all_models, loop_hours=loop_hours)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        _print_trend(result, Console())


@click.command()
@_common
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results"),
    show_default=True,
    help="Where leaderboard.md and leaderboard.html are written.",
)
def leaderboard(
    files: tuple[Path, ...],
    models_file: Path | None,
    loop_hours: float,
    bootstrap: int,
    seed: int,
    out_dir: Path,
) -> None:
    """Rank models by their 50% horizon: terminal table, Markdown and a static HTML page.

    FILES are run-record files or directories of *.jsonl (default: results/runs/). The HTML page is
    self-contained (inline CSS, plots as embedded images) and opens without a network.
    """
    models = _models(models_file)
    paths = list(files) or [default_runs_dir()]
    try:
        scored = hz.read_inputs(paths)
        # Every record, errored ones included, for what the runs consumed (tokens, cost).
        runs = read_runs(paths)
        overall = hz.estimate_horizons(scored, bootstrap=bootstrap, seed=seed)
        per_category = hz.estimate_horizons(
            scored, bootstrap=bootstrap, seed=seed, by_category=True
        )
    except RecordError as e:
        raise BadInput(str(e)) from e
    trend_fit = fit_trend(overall, models, loop_hours=loop_hours)
    lb = board.build(runs, overall, per_category, models, trend_fit)
    # Files first, so that a closed pipe on the terminal output cannot lose them.
    written = board.write_outputs(lb, out_dir)
    board.render_terminal(lb, Console())
    for path in written:
        click.echo(f"wrote {path}")
