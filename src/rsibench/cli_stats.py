"""Commands for the statistics: `rsibench horizon`, `rsibench simulate`, `rsibench gate`.

Registered on the main group in ``rsibench.cli``. Bad input exits with status 2 and one line that
names the file, the field and the fix; machine output (--json) is the only thing on stdout.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from rsibench import gate as gate_mod
from rsibench import horizon as hz
from rsibench.records import RecordError, append_records
from rsibench.simulate import DEFAULT_EPOCHS, DEFAULT_SLOPE, simulate_records
from rsibench.suite import SuiteError, find_root, load_suite


class BadInput(click.ClickException):
    """Unusable input: exit status 2, as for usage errors."""

    exit_code = 2


def default_runs_dir() -> Path:
    """results/runs/ of the suite checkout, or of the current directory outside one."""
    try:
        return find_root() / "results" / "runs"
    except SuiteError:
        return Path("results") / "runs"


HORIZON_COLUMNS = ("p50", "95% CI", "p80", "95% CI")


def _horizon_cells(m: hz.ModelHorizon) -> list[str]:
    """p50, its interval, p80, its interval; '>=' marks a lower bound."""
    mark = ">= " if m.lower_bound else ""

    def ci(pair: tuple[float, float] | None) -> str:
        return (
            "" if pair is None else f"{hz.format_minutes(pair[0])} – {hz.format_minutes(pair[1])}"
        )

    return [
        mark + hz.format_minutes(m.p50),
        ci(m.p50_ci),
        mark + hz.format_minutes(m.p80),
        ci(m.p80_ci),
    ]


def _add_columns(table: Table, names: tuple[str, ...], left: tuple[str, ...] = ()) -> None:
    for name in names:
        table.add_column(name, justify="left" if name in left else "right", no_wrap=True)


@click.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(hz.FORMATS),
    default="rsibench",
    show_default=True,
    help="rsibench run records, or METR's public runs.jsonl.",
)
@click.option(
    "--regularization",
    type=float,
    default=hz.DEFAULT_REGULARIZATION,
    show_default=True,
    help="r in the L2 penalty (r/2)·slope² (intercept unpenalised).",
)
@click.option(
    "--weighting",
    type=click.Choice(hz.WEIGHTINGS),
    default="invsqrt",
    show_default=True,
    help="invsqrt: 1/(runs of task · √tasks in family); equal: 1/(runs of task).",
)
@click.option(
    "--bootstrap",
    type=click.IntRange(min=0),
    default=hz.DEFAULT_BOOTSTRAP,
    show_default=True,
    help="Hierarchical bootstrap draws for the 95% intervals (0: none).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--by", type=click.Choice(["category"]), default=None, help="One fit per category.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def horizon(
    files: tuple[Path, ...],
    fmt: str,
    regularization: float,
    weighting: str,
    bootstrap: int,
    seed: int,
    by: str | None,
    as_json: bool,
) -> None:
    """50% and 80% time horizons per model, with 95% hierarchical-bootstrap intervals.

    FILES are run-record files or directories of *.jsonl (default: results/runs/).
    """
    paths = list(files) or [default_runs_dir()]
    try:
        df = hz.read_inputs(paths, fmt=fmt, weighting=weighting)
        result = hz.estimate_horizons(
            df,
            weighting=weighting,
            regularization=regularization,
            bootstrap=bootstrap,
            seed=seed,
            by_category=by == "category",
        )
    except RecordError as e:
        raise BadInput(str(e)) from e
    result.models.sort(key=lambda m: (m.category or "", -(m.p50 or 0.0), m.model))
    if as_json:
        click.echo(json.dumps(hz.result_to_json(result), allow_nan=False))
        return

    table = Table(title="Time horizons (human minutes of the tasks)")
    first = ("model", "category") if by else ("model",)
    rest = ("slope", "success", "runs", "tasks")
    _add_columns(table, first + HORIZON_COLUMNS + rest, left=first)
    for m in result.models:
        row = [m.model] + ([m.category or ""] if by else []) + _horizon_cells(m)
        row += [
            "-" if m.slope is None else f"{m.slope:.2f}",
            f"{m.success_rate:.0%}",
            str(m.runs),
            str(m.tasks),
        ]
        table.add_row(*row)
    console = Console()
    console.print(table)
    notes = [
        "slope: change in log-odds of success per doubling of task length; "
        f"weighting {weighting}, regularization {regularization:g}"
        + (f", {bootstrap} bootstrap draws (seed {seed})" if bootstrap else ", no bootstrap")
    ]
    if any(m.lower_bound for m in result.models):
        notes.append(">= : every run succeeded; the horizon is at least the longest task")
    if any(m.p50 is None for m in result.models):
        notes.append("- : success does not fall with task length (slope >= 0); no horizon")
    if excluded := df.attrs.get("excluded_errors", 0):
        notes.append(f"{excluded} run(s) that could not be scored (error set) were left out")
    for note in notes:
        console.print(f"[dim]{note}[/dim]")


@click.command()
@click.option(
    "--horizon",
    "true_horizon",
    type=click.FloatRange(min=0, min_open=True),
    required=True,
    help="The simulated model's true p50 horizon, in human minutes.",
)
@click.option(
    "--slope",
    type=click.FloatRange(max=0, max_open=True),
    default=DEFAULT_SLOPE,
    show_default=True,
    help="Change in log-odds of success per doubling of task length.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=DEFAULT_EPOCHS,
    show_default=True,
    help="Attempts per task.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--model", default=None, help="Model name in the records [simulated-<H>min].")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Run-record file to append to.",
)
def simulate(
    true_horizon: float, slope: float, epochs: int, seed: int, model: str | None, out: Path
) -> None:
    """Write run records of a simulated model with a known horizon on the current suite.

    Success on a task of t minutes is a Bernoulli draw with probability
    sigmoid(slope · (log2 t − log2 HORIZON)).
    """
    try:
        suite = load_suite()
    except SuiteError as e:
        raise BadInput(str(e)) from e
    records = simulate_records(
        suite.variants,
        horizon=true_horizon,
        suite_version=suite.version,
        slope=slope,
        epochs=epochs,
        seed=seed,
        model=model,
    )
    try:
        written = append_records(out, records)
    except (RecordError, OSError) as e:
        raise BadInput(f"{out}: cannot write records: {e}") from e
    click.echo(
        f"{written} simulated runs of {records[0]['model']} "
        f"({len(suite.variants)} tasks x {epochs} epochs) appended to {out}"
    )


@click.command()
@click.option(
    "--baseline",
    "baseline_paths",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="Baseline run records (file or directory; repeatable).",
)
@click.option(
    "--candidate",
    "candidate_paths",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="Candidate run records (file or directory; repeatable).",
)
@click.option(
    "--format", "fmt", type=click.Choice(hz.FORMATS), default="rsibench", show_default=True
)
@click.option("--model", default=None, help="Model to take from both sides' records.")
@click.option("--baseline-model", default=None, help="Model to take from the baseline records.")
@click.option("--candidate-model", default=None, help="Model to take from the candidate records.")
@click.option(
    "--max-drop",
    type=click.FloatRange(0, 1),
    default=0.10,
    show_default=True,
    help="Fail when p50 falls significantly by more than this fraction.",
)
@click.option(
    "--fail-on-improvement",
    type=click.FloatRange(min=0),
    default=None,
    help="Also fail (alert) when p50 rises by more than this fraction.",
)
@click.option(
    "--min-epochs",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Refuse to judge (exit 2) when a shared task has fewer attempts on either side.",
)
@click.option(
    "--bootstrap", type=click.IntRange(min=1), default=hz.DEFAULT_BOOTSTRAP, show_default=True
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--weighting", type=click.Choice(hz.WEIGHTINGS), default="invsqrt", show_default=True)
@click.option("--regularization", type=float, default=hz.DEFAULT_REGULARIZATION, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML.")
@click.option(
    "--markdown", type=click.Path(dir_okay=False, path_type=Path), help="Write a PR comment."
)
@click.pass_context
def gate(
    ctx: click.Context,
    baseline_paths: tuple[Path, ...],
    candidate_paths: tuple[Path, ...],
    fmt: str,
    model: str | None,
    baseline_model: str | None,
    candidate_model: str | None,
    max_drop: float,
    fail_on_improvement: float | None,
    min_epochs: int,
    bootstrap: int,
    seed: int,
    weighting: str,
    regularization: float,
    as_json: bool,
    junit: Path | None,
    markdown: Path | None,
) -> None:
    """Fail (exit 1) when the candidate's time horizon is significantly below the baseline's.

    Compares the two sides on the tasks both attempted. Exit 0: pass; 1: significant drop of
    more than --max-drop (or a rise past --fail-on-improvement); 2: cannot judge (bad records, no
    shared tasks, too few epochs, no defined horizon).
    """
    policy = gate_mod.Policy(
        max_drop=max_drop,
        fail_on_improvement=fail_on_improvement,
        min_epochs=min_epochs,
        bootstrap=bootstrap,
        seed=seed,
        weighting=weighting,
        regularization=regularization,
    )
    try:
        report = gate_mod.compare(
            hz.read_inputs(baseline_paths, fmt=fmt, weighting=weighting),
            hz.read_inputs(candidate_paths, fmt=fmt, weighting=weighting),
            policy,
            baseline_model=baseline_model or model,
            candidate_model=candidate_model or model,
        )
    except RecordError as e:
        _write_gate_files(None, str(e), junit, markdown)
        if as_json:
            click.echo(json.dumps(gate_mod.error_to_json(str(e))))
        raise BadInput(str(e)) from e
    _write_gate_files(report, None, junit, markdown)
    if as_json:
        click.echo(json.dumps(gate_mod.report_to_json(report), allow_nan=False))
    else:
        _print_gate(report)
    ctx.exit(report.exit_code)


def _write_gate_files(
    report: gate_mod.GateReport | None, error: str | None, junit: Path | None, markdown: Path | None
) -> None:
    if junit:
        gate_mod.report_to_junit(report, error).write(junit, encoding="utf-8", xml_declaration=True)
    if markdown:
        markdown.write_text(gate_mod.report_to_markdown(report, error))


def _print_gate(r: gate_mod.GateReport) -> None:
    console = Console()
    verdict = "[bold green]PASS[/]" if r.verdict == "pass" else "[bold red]FAIL[/]"
    console.print(f"rsibench gate: {verdict}")
    for reason in r.reasons:
        console.print(f"  {reason}")
    table = Table(title="Time horizons on the shared tasks")
    first = ("", "model")
    _add_columns(table, first + HORIZON_COLUMNS + ("success", "runs", "tasks"), left=first)
    for side, m in (("baseline", r.baseline), ("candidate", r.candidate)):
        cells = [f"{m.success_rate:.0%}", str(m.runs), str(m.tasks)]
        table.add_row(side, m.model, *_horizon_cells(m), *cells)
    console.print(table)
    console.print(gate_mod.change_summary(r))
    for title, changes in (("regressed", r.regressed), ("improved", r.improved)):
        if not changes:
            continue
        tasks = Table(title=f"Tasks that {title} ({len(changes)})")
        _add_columns(
            tasks, ("task", "human min", "baseline", "candidate", "one-sided p"), ("task",)
        )
        for c in changes:
            p = f"{c.p_value:.3g}" + (" *" if c.significant else "")
            tasks.add_row(
                c.task_id,
                f"{c.human_minutes:g}",
                gate_mod.rate(c.baseline),
                gate_mod.rate(c.candidate),
                p,
            )
        console.print(tasks)
    if r.regressed or r.improved:
        console.print("[dim]* significant: one-sided Fisher exact test, Holm-corrected, 5%[/dim]")
    for side, only in (("baseline", r.only_baseline), ("candidate", r.only_candidate)):
        if only:
            console.print(f"[yellow]Not compared, only the {side} attempted:[/] {', '.join(only)}")
