"""Commands for the statistics: `rsibench horizon`, `simulate`, `gate` and `plan`.

Registered on the main group in ``rsibench.cli``. Bad input exits with status 2 and one line that
names the file, the field and the fix; machine output (--json) is the only thing on stdout.
These commands import neither inspect-ai nor Docker, nor pandas: they start in a fraction of a
second.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich import box
from rich.console import Console
from rich.table import Table

from rsibench import gate as gate_mod
from rsibench import horizon as hz
from rsibench.records import FORMATS, RecordError, Runs, read_runs, scored

if TYPE_CHECKING:
    from rsibench.suite import Suite

#: Every table fits a terminal of this many columns.
WIDTH = 80
DEFAULT_SLOPE = -0.6  # rsibench.simulate.DEFAULT_SLOPE (checked by a test), without its import


class BadInput(click.ClickException):
    """Unusable input: exit status 2, as for usage errors."""

    exit_code = 2


def default_runs_dir() -> Path:
    """results/runs/ of the suite checkout, or of the current directory outside one."""
    from rsibench.suite import SuiteError, find_root

    try:
        return find_root() / "results" / "runs"
    except SuiteError:
        return Path("results") / "runs"


def input_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--format and --skip-invalid, shared by every command that reads runs."""
    command = click.option(
        "--skip-invalid",
        is_flag=True,
        help="Leave out lines that are not valid runs (a truncated last line, a bad record) and "
        "say how many, instead of stopping at the first.",
    )(command)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="rsibench",
        show_default=True,
        help="rsibench run records, or METR's public runs.jsonl.",
    )(command)


def load_runs(paths: list[Path], fmt: str, skip_invalid: bool) -> Runs:
    """Every attempt in ``paths`` (BadInput naming file, line and fix on bad input); lines left
    out by --skip-invalid are counted on stderr."""
    try:
        runs = read_runs(paths, fmt, skip_invalid=skip_invalid)
    except RecordError as e:
        raise BadInput(str(e)) from e
    if skipped := runs.attrs["skipped"]:
        click.echo(
            f"warning: --skip-invalid left out {len(skipped)} invalid line(s); first: {skipped[0]}",
            err=True,
        )
    return runs


def load_scored(paths: list[Path], fmt: str, skip_invalid: bool) -> Runs:
    try:
        return scored(load_runs(paths, fmt, skip_invalid))
    except RecordError as e:
        raise BadInput(str(e)) from e


def table(title: str, names: tuple[str, ...], left: tuple[str, ...] = ()) -> Table:
    """A table whose text columns wrap and whose numbers never do, within WIDTH columns."""
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for name in names:
        t.add_column(
            name,
            justify="left" if name in left else "right",
            no_wrap=name not in left,
            overflow="fold",
        )
    return t


def console() -> Console:
    """stdout, at most WIDTH columns wide."""
    c = Console()
    c.width = min(c.width, WIDTH)
    return c


def _two_lines(value: str, ci: tuple[float, float] | None) -> str:
    """A horizon with its interval on a second line."""
    if ci is None:
        return value
    return f"{value}\n[{hz.format_minutes(ci[0])}–{hz.format_minutes(ci[1])}]"


def horizon_cells(m: hz.ModelHorizon) -> list[str]:
    """p50 with its interval on a second line, and p80; '>=' marks a lower bound, and a horizon
    below the shortest task attempted shows as '< that task' (below range)."""

    def cell(value: float | None, ci: tuple[float, float] | None) -> str:
        if value is not None and value < m.min_minutes:
            return f"< {hz.format_minutes(m.min_minutes)}\n(below range)"
        if m.lower_bound:
            return ">= " + hz.format_minutes(value)
        return _two_lines(hz.format_minutes(value), ci)

    # The p80's interval stays in --json: both intervals would not fit 80 columns.
    return [cell(m.p50, m.p50_ci), cell(m.p80, None).partition("\n")[0]]


HORIZON_COLUMNS = ("p50 (95% CI)", "p80")


@click.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@input_options
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
@click.option(
    "--by",
    default=None,
    metavar="COLUMN",
    help="One fit per value of this column: category, family, or any text column of the runs "
    "(METR's task_source, ...).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def horizon(
    files: tuple[Path, ...],
    fmt: str,
    skip_invalid: bool,
    regularization: float,
    weighting: str,
    bootstrap: int,
    seed: int,
    by: str | None,
    as_json: bool,
) -> None:
    """50% and 80% time horizons per model, with 95% hierarchical-bootstrap intervals, and each
    model's judgement gap when its runs include research-judgement tasks.

    FILES are run-record files or directories of *.jsonl (default: results/runs/).
    """
    runs = load_scored(list(files) or [default_runs_dir()], fmt, skip_invalid)
    fit = {"weighting": weighting, "regularization": regularization, "bootstrap": bootstrap}
    try:
        result = hz.estimate_horizons(runs, seed=seed, by=by, **fit)
        gaps = hz.judgement_gaps(runs, seed=seed, **fit)
    except RecordError as e:
        raise BadInput(str(e)) from e
    result.models.sort(key=lambda m: (m.group or "", -(m.p50 or 0.0), m.model))
    if as_json:
        out = hz.result_to_json(result)
        out["judgement_gap"] = [hz.gap_to_json(g) for g in gaps]
        click.echo(json.dumps(out, allow_nan=False))
        return

    out_console = console()
    groups = sorted({m.group for m in result.models}, key=lambda g: g or "")
    for group in groups:
        title = "Time horizons (human minutes of the tasks)"
        t = table(
            title if group is None else f"{title}, {by} {group}",
            ("model", *HORIZON_COLUMNS, "slope", "success", "runs", "tasks"),
            left=("model",),
        )
        t.columns[0].min_width = 14
        for m in (m for m in result.models if m.group == group):
            t.add_row(
                m.model,
                *horizon_cells(m),
                "-" if m.slope is None else f"{m.slope:.2f}",
                f"{m.success_rate:.0%}",
                str(m.runs),
                str(m.tasks),
                end_section=True,
            )
        out_console.print(t)
    if gaps:
        print_gaps(gaps, out_console)
    notes = [
        "slope: change in log-odds of success per doubling of task length; "
        f"weighting {weighting}, regularization {regularization:g}"
        + (f", {bootstrap} bootstrap draws (seed {seed})" if bootstrap else ", no bootstrap")
    ]
    if any(m.lower_bound for m in result.models):
        notes.append(">= : every run succeeded; the horizon is at least the longest task")
    if any(m.below_range for m in result.models):
        notes.append("below range: the fitted p50 is below the shortest task attempted")
    if any(m.p50 is None for m in result.models):
        notes.append("- : success does not fall with task length (slope >= 0); no horizon")
    if excluded := runs.attrs.get("excluded_errors", 0):
        notes.append(f"{excluded} run(s) that could not be scored (error set) were left out")
    for note in notes:
        out_console.print(f"[dim]{note}[/dim]", highlight=False)


def print_gaps(gaps: list[hz.JudgementGap], out: Console) -> None:
    """The judgement gap of each model, as a table and what it means."""
    t = table(
        "Judgement gap: research-judgement p50 / p50 on the other categories",
        ("model", "ratio (95% CI)", "judgement p50", "execution p50"),
        left=("model",),
    )
    for g in gaps:
        t.add_row(
            g.model,
            hz.gap_text(g).replace(" [", "\n[").replace(" (", "\n("),
            hz.format_minutes(g.judgement.p50),
            hz.format_minutes(g.execution.p50),
        )
    out.print(t)
    out.print(
        "[dim]Below 1: the model executes longer tasks than it can judge. Paired bootstrap: "
        "both horizons refitted on the same draws of families, tasks and runs.[/dim]",
        highlight=False,
    )


def _horizon_by(ctx: click.Context, param: click.Parameter, value: str | None) -> dict:
    """--horizon-by debugging=30,research-judgement=8 -> {category: minutes}."""
    from rsibench.suite import CATEGORIES

    out: dict[str, float] = {}
    for item in filter(None, (value or "").split(",")):
        category, _, minutes = item.partition("=")
        category = category.strip()
        if category not in CATEGORIES:
            raise click.BadParameter(
                f"{category!r} is no category; use one of {', '.join(CATEGORIES)}", ctx, param
            )
        try:
            out[category] = float(minutes)
        except ValueError:
            out[category] = -1.0
        if not out[category] > 0:
            raise click.BadParameter(
                f"{item!r}: write CATEGORY=MINUTES with a positive number of minutes", ctx, param
            )
    return out


def _suite(synthetic: int | None) -> Suite:
    from rsibench.simulate import synthetic_suite
    from rsibench.suite import SuiteError, load_suite

    if synthetic:
        return synthetic_suite(n_tasks=synthetic, family_size=3, max_minutes=960.0)
    try:
        return load_suite()
    except SuiteError as e:
        raise BadInput(str(e)) from e


SYNTHETIC_HELP = (
    "Simulate over an in-memory synthetic suite of N tasks (1 min to 16 h, families of 3, "
    "cycling through all four categories) instead of the real suite."
)


@click.command()
@click.option(
    "--horizon",
    "true_horizon",
    type=click.FloatRange(min=0, min_open=True),
    required=True,
    help="The simulated model's true p50 horizon, in human minutes.",
)
@click.option(
    "--horizon-by",
    callback=_horizon_by,
    metavar="CATEGORY=MINUTES,...",
    help="A different true p50 on these categories (e.g. research-judgement=8): a jagged "
    "frontier or a judgement gap.",
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
    default=3,
    show_default=True,
    help="Attempts per task.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--model", default=None, help="Model name in the records [simulated-<H>min].")
@click.option("--synthetic", type=click.IntRange(min=1), metavar="N", help=SYNTHETIC_HELP)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Run-record file to append to.",
)
def simulate(
    true_horizon: float,
    horizon_by: dict[str, float],
    slope: float,
    epochs: int,
    seed: int,
    model: str | None,
    synthetic: int | None,
    out: Path,
) -> None:
    """Write run records of a simulated model with a known horizon on the current suite.

    Success on a task of t minutes is a Bernoulli draw with probability
    sigmoid(slope · (log2 t − log2 HORIZON)), HORIZON being --horizon-by's value for the task's
    category where it gives one.
    """
    from rsibench.records import append_records
    from rsibench.simulate import simulate_records

    suite = _suite(synthetic)
    present = {v.family.category for v in suite.variants}
    if absent := sorted(set(horizon_by) - present):
        raise BadInput(
            f"--horizon-by {', '.join(absent)}: the suite has no task in that category; "
            "simulate over a suite that has (--synthetic 32 covers all four categories)"
        )
    records = simulate_records(
        suite.variants,
        horizon=true_horizon,
        horizon_by=horizon_by,
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
@input_options
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
    "--detectable",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.5,
    show_default=True,
    help="Cannot judge (exit 2) instead of passing when the data could not detect a drop of "
    "this fraction (80% power).",
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
    skip_invalid: bool,
    model: str | None,
    baseline_model: str | None,
    candidate_model: str | None,
    max_drop: float,
    detectable: float,
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

    Compares the two sides on the tasks both attempted. Exit 0: pass, and the data could have
    detected a drop of --detectable; 1: significant drop of more than --max-drop (or a rise past
    --fail-on-improvement); 2: cannot judge (too little data to detect a drop of --detectable,
    bad records, no shared tasks, too few epochs, no defined horizon).
    """
    policy = gate_mod.Policy(
        max_drop=max_drop,
        fail_on_improvement=fail_on_improvement,
        min_epochs=min_epochs,
        detectable=detectable,
        bootstrap=bootstrap,
        seed=seed,
        weighting=weighting,
        regularization=regularization,
    )
    try:
        base = scored(read_runs(baseline_paths, fmt, skip_invalid=skip_invalid))
        cand = scored(read_runs(candidate_paths, fmt, skip_invalid=skip_invalid))
        for side in (base, cand):
            if skipped := side.attrs["skipped"]:
                click.echo(
                    f"warning: --skip-invalid left out {len(skipped)} invalid line(s); first: "
                    f"{skipped[0]}",
                    err=True,
                )
        report = gate_mod.compare(
            base,
            cand,
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


VERDICTS = {
    "pass": "[bold green]PASS[/]",
    "fail": "[bold red]FAIL[/]",
    "inconclusive": "[bold yellow]CANNOT JUDGE[/]",
}


def _print_gate(r: gate_mod.GateReport) -> None:
    out = console()
    out.print(f"rsibench gate: {VERDICTS[r.verdict]}")
    for reason in r.reasons:
        out.print(f"  {reason}", highlight=False, soft_wrap=True)
    t = table(
        "Time horizons on the shared tasks",
        ("model", *HORIZON_COLUMNS, "success", "runs", "tasks"),
        left=("model",),
    )
    for side, m in (("baseline", r.baseline), ("candidate", r.candidate)):
        cells = [f"{m.success_rate:.0%}", str(m.runs), str(m.tasks)]
        t.add_row(f"[dim]{side}[/dim]\n{m.model}", *horizon_cells(m), *cells, end_section=True)
    out.print(t)
    out.print(gate_mod.change_summary(r), highlight=False, soft_wrap=True)
    out.print(gate_mod.power_line(r), highlight=False, soft_wrap=True)
    for title, changes in (("regressed", r.regressed), ("improved", r.improved)):
        if not changes:
            continue
        tasks = table(
            f"Tasks that {title} ({len(changes)})",
            ("task", "human min", "baseline", "candidate", "one-sided p"),
            left=("task",),
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
        out.print(tasks)
    if r.regressed or r.improved:
        out.print("[dim]* significant: one-sided Fisher exact test, Holm-corrected, 5%[/dim]")
    for side, only in (("baseline", r.only_baseline), ("candidate", r.only_candidate)):
        if only:
            out.print(
                f"[yellow]Not compared, only the {side} attempted:[/] {', '.join(only)}",
                highlight=False,
            )


@click.command()
@click.option(
    "--drop",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    required=True,
    help="The relative drop in p50 to detect (0.5: the candidate's horizon is half).",
)
@click.option(
    "--power",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.8,
    show_default=True,
    help="The share of such candidates the gate must fail.",
)
@click.option(
    "--horizon",
    "baseline_horizon",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="The baseline's p50 in minutes [the geometric middle of the suite's task lengths].",
)
@click.option(
    "--max-drop", type=click.FloatRange(0, 1), default=0.10, show_default=True, help="As for gate."
)
@click.option(
    "--min-epochs", type=click.IntRange(min=1), default=3, show_default=True, help="As for gate."
)
@click.option(
    "--seeds",
    type=click.IntRange(min=2),
    default=20,
    show_default=True,
    help="Simulated baseline/candidate pairs per number of epochs.",
)
@click.option(
    "--bootstrap",
    type=click.IntRange(min=50),
    default=200,
    show_default=True,
    help="Bootstrap draws per simulated gate.",
)
@click.option("--synthetic", type=click.IntRange(min=1), metavar="N", help=SYNTHETIC_HELP)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def plan(
    drop: float,
    power: float,
    baseline_horizon: float | None,
    max_drop: float,
    min_epochs: int,
    seeds: int,
    bootstrap: int,
    synthetic: int | None,
    as_json: bool,
) -> None:
    """How many epochs the gate needs to catch a drop of --drop in p50, with probability
    --power, on this suite.

    Simulates a baseline at --horizon and a candidate --drop below it on the suite's tasks (as
    `rsibench simulate` does), runs the gate on each pair at growing epochs, and reports the
    share it fails.
    """
    import math

    suite = _suite(synthetic)
    minutes = [v.human_minutes for v in suite.variants]
    if baseline_horizon is None:
        baseline_horizon = math.exp(sum(map(math.log, minutes)) / len(minutes))
    policy = gate_mod.Policy(max_drop=max_drop, min_epochs=min_epochs, bootstrap=bootstrap)
    err = Console(stderr=True)
    result = gate_mod.plan(
        suite.variants,
        suite.version,
        drop=drop,
        power=power,
        horizon=baseline_horizon,
        policy=policy,
        seeds=seeds,
        progress=lambda step: err.print(
            f"[dim]{step.epochs} epochs: the gate failed {step.detected} of {seeds}[/dim]"
        ),
    )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "epochs": result.epochs,
                    "drop": drop,
                    "power": power,
                    "baseline_horizon": baseline_horizon,
                    "tasks": len(suite.variants),
                    "steps": [
                        {
                            "epochs": st.epochs,
                            "power": st.power,
                            "fail": st.detected,
                            "cannot_judge": st.inconclusive,
                            "pass": st.passed,
                        }
                        for st in result.steps
                    ],
                }
            )
        )
        return
    out = console()
    t = table(
        f"Gate on {len(suite.variants)} tasks: baseline p50 {hz.format_minutes(baseline_horizon)}"
        f", candidate {drop:.0%} lower ({seeds} simulated pairs each)",
        ("epochs", "fail (exit 1)", "cannot judge (2)", "pass (0)", "power"),
    )
    for st in result.steps:
        t.add_row(
            str(st.epochs), str(st.detected), str(st.inconclusive), str(st.passed),
            f"{st.power:.0%}",
        )  # fmt: skip
    out.print(t)
    if result.epochs is not None:
        out.print(
            f"About {result.epochs} epochs per task detect a {drop:.0%} drop with "
            f"{power:.0%} power (gate --max-drop {max_drop:g}).",
            highlight=False,
        )
    else:
        out.print(
            f"Even {result.steps[-1].epochs} epochs do not reach {power:.0%} power: the suite has "
            "too few tasks near this horizon; add tasks, or plan for a larger --drop.",
            highlight=False,
        )
