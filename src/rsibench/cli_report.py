"""`rsibench trend` and `rsibench leaderboard`: horizons of many models side by side.

Both read runs (``rsibench.records``, either format), fit the horizons (``rsibench.horizon``)
and the trend over release dates (``rsibench.trend``); they are registered on the ``rsibench``
group in ``rsibench.cli``. The leaderboard module (pandas, matplotlib) is imported only by the
leaderboard command.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from rsibench import horizon as hz
from rsibench.cli_stats import BadInput, console, default_runs_dir, input_options, load_runs, table
from rsibench.models import ModelInfo, ModelsFileError, load_models
from rsibench.records import RecordError, Runs, scored
from rsibench.trend import LOOP_HOURS, Trend, fit_trend, summary_lines


def _common(command: Callable[..., Any]) -> Callable[..., Any]:
    """Arguments and options shared by both commands."""
    decorators = [
        click.argument("files", nargs=-1, type=click.Path(path_type=Path)),
        input_options,
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


def _models(path: Path | None, required: bool) -> tuple[dict[str, ModelInfo], Path]:
    """The models file (--models, or results/models.yaml beside the default runs) and its path.

    Without one, ``required`` (the trend, which needs release dates) exits 2 naming the file it
    looked for; otherwise a warning says so and models are shown by id.
    """
    if path is None:
        path = default_runs_dir().parent / "models.yaml"
        if not path.exists():
            fix = (
                "create it (model id -> name, organisation, release_date; see "
                "results/models.yaml in the rsibench repository) or pass --models FILE"
            )
            if required:
                raise BadInput(
                    f"no models file: looked for {path}; the trend needs the models' release "
                    f"dates: {fix}"
                )
            click.echo(
                f"warning: no models file at {path}, so models are shown by id and none has a "
                f"release date; {fix}",
                err=True,
            )
            return {}, path
    try:
        return load_models(path), path
    except ModelsFileError as e:
        raise BadInput(str(e)) from e


def _fit(runs: Runs, bootstrap: int, seed: int, by: str | None = None) -> hz.HorizonResult:
    try:
        return hz.estimate_horizons(runs, bootstrap=bootstrap, seed=seed, by=by)
    except RecordError as e:
        raise BadInput(str(e)) from e


def _categories(runs: Runs) -> list[str]:
    if "category" not in runs:
        return []
    return sorted({str(c) for c in runs["category"] if c is not None})


def _print_trend(trend: Trend) -> None:
    out = console()
    t = table(
        "Dated models", ("Model", "Released", "p50 [95% CI]", "Frontier", "Fitted"), ("Model",)
    )
    for p in trend.points:
        t.add_row(
            p.model,
            p.release_date.isoformat(),
            hz.horizon_text(p.p50, p.p50_ci, p.lower_bound).replace(" [", "\n["),
            "yes" if p.frontier else "no",
            "yes" if p.used else "no",
        )
    out.print(t)
    out.print(*summary_lines(trend), sep="\n", markup=False, highlight=False, soft_wrap=True)


@click.command()
@_common
@click.option(
    "--all", "all_models", is_flag=True, help="Fit over all dated models, not only the frontier."
)
@click.option("--json", "as_json", is_flag=True, help="Print the trend as JSON.")
def trend(
    files: tuple[Path, ...],
    fmt: str,
    skip_invalid: bool,
    models_file: Path | None,
    loop_hours: float,
    bootstrap: int,
    seed: int,
    all_models: bool,
    as_json: bool,
) -> None:
    """Doubling time of the 50% horizon over release dates, the closed-loop date, and the trend
    of the judgement gap.

    FILES are run-record files or directories of *.jsonl (default: results/runs/). The trend is a
    least-squares fit of ln(p50) on release date over the frontier models (each at least as good
    as every model released before it); models without a release date are left out.
    """
    models, models_path = _models(models_file, required=True)
    runs = _scored(load_runs(list(files) or [default_runs_dir()], fmt, skip_invalid))
    horizons = _fit(runs, bootstrap, seed)
    if not any(m.model in models and models[m.model].release_date for m in horizons.models):
        listed = ", ".join(sorted(m.model for m in horizons.models))
        raise BadInput(
            f"{models_path}: none of the models in the runs ({listed}) has a release date "
            "there; add them (model id -> name, organisation, release_date)"
        )
    gaps = hz.judgement_gaps(runs, bootstrap=bootstrap, seed=seed)
    result = fit_trend(
        horizons,
        models,
        frontier_only=not all_models,
        loop_hours=loop_hours,
        categories=_categories(runs),
        gaps=gaps,
    )
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        _print_trend(result)


def _scored(runs: Runs) -> Runs:
    try:
        return scored(runs)
    except RecordError as e:
        raise BadInput(str(e)) from e


def command_line() -> str:
    """The command as it was given, for the outputs' provenance."""
    ctx = click.get_current_context()
    argv = ctx.meta.get("rsibench.argv")  # set by the main group
    if argv is None:  # the command called on its own
        argv = [ctx.info_name or "leaderboard", *sys.argv[1:]]
    return shlex.join(["rsibench", *argv])


@click.command()
@_common
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("results"),
    show_default=True,
    help="Where leaderboard.md, .html, .csv and .json are written.",
)
def leaderboard(
    files: tuple[Path, ...],
    fmt: str,
    skip_invalid: bool,
    models_file: Path | None,
    loop_hours: float,
    bootstrap: int,
    seed: int,
    out_dir: Path,
) -> None:
    """Rank models by their 50% horizon: terminal tables, Markdown, a static HTML page, and the
    numbers as CSV and JSON.

    FILES are run-record files or directories of *.jsonl (default: results/runs/). The HTML page is
    self-contained (inline CSS, plots as embedded images) and opens without a network.
    """
    from rsibench import leaderboard as board

    models, models_path = _models(models_file, required=False)
    paths = list(files) or [default_runs_dir()]
    # Every run, errored ones included, for what the runs consumed (tokens, cost).
    runs = load_runs(paths, fmt, skip_invalid)
    ok = _scored(runs)
    overall = _fit(ok, bootstrap, seed)
    by = "category" if "category" in runs and not runs.missing("category").all() else None
    per_category = _fit(ok, bootstrap, seed, by=by) if by else None
    gaps = hz.judgement_gaps(ok, bootstrap=bootstrap, seed=seed)
    trend_fit = fit_trend(
        overall, models, loop_hours=loop_hours, categories=_categories(ok), gaps=gaps
    )
    provenance = board.Provenance(
        command=command_line(),
        inputs=runs.attrs["files"],
        models_file=str(models_path) if models_path.exists() else None,
        skipped=len(runs.attrs["skipped"]),
    )
    lb = board.build(runs.to_pandas(), overall, per_category, models, trend_fit, gaps, provenance)
    # Files first, so that a closed pipe on the terminal output cannot lose them.
    written = board.write_outputs(lb, out_dir)
    board.render_terminal(lb, console())
    for path in written:
        click.echo(f"wrote {path}")
