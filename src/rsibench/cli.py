"""The `rsibench` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from inspect_ai._util.error import PrerequisiteError
from rich.console import Console
from rich.table import Table

from rsibench.engine import DockerUnavailable
from rsibench.images import ImageError
from rsibench.records import RecordError
from rsibench.suite import Suite, SuiteError, load_suite

console = Console()
err_console = Console(stderr=True)


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Known failures print their message (which names the file, field and fix) and exit 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SuiteError as e:
            err_console.print(f"[red]The suite has {len(e.problems)} problem(s):[/red]")
            for p in e.problems:
                err_console.print(f"  - {p}", markup=False, highlight=False)
            sys.exit(2)
        except (DockerUnavailable, ImageError, RecordError) as e:
            err_console.print(f"[red]error:[/red] {e}", highlight=False)
            sys.exit(2)
        except PrerequisiteError as e:  # inspect: a model provider's package or key is missing
            err_console.print(f"[red]error:[/red] {e}", highlight=False)
            sys.exit(2)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rsibench")
def main() -> None:
    """rsibench: time horizons for autonomous AI R&D."""


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, an object per variant.")
@friendly_errors
def list_cmd(as_json: bool) -> None:
    """List the suite's task variants."""
    suite = load_suite()
    rows = [
        {"id": v.task_id, **v.record_fields(), "image": v.family.image, "summary": v.family.summary}
        for v in suite.variants
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"rsibench suite {suite.version}: {len(rows)} variants")
    table.add_column("id", no_wrap=True)  # ids are what users copy into --tasks
    table.add_column("minutes", justify="right", no_wrap=True)
    table.add_column("threshold", justify="right", no_wrap=True)
    for category in sorted({r["category"] for r in rows}):
        table.add_row(f"[bold]{category}[/bold]", end_section=False)
        for r in (r for r in rows if r["category"] == category):
            source = "" if r["human_minutes_source"] == "baseline" else " (est.)"
            table.add_row(f"  {r['id']}", f"{r['human_minutes']:g}{source}", f"{r['threshold']:g}")
        table.add_section()
    console.print(table)


@main.group()
def images() -> None:
    """Build and list the sandbox images."""


@images.command("build")
@click.argument("names", nargs=-1)
@click.option("--force", is_flag=True, help="Rebuild even if an image of this content exists.")
@friendly_errors
def images_build(names: tuple[str, ...], force: bool) -> None:
    """Build the sandbox images (all, or NAMES)."""
    from rsibench import images as img
    from rsibench.suite import available_images, find_root

    root = find_root()
    for name in names or sorted(available_images(root)):
        with console.status(f"building {name}") as status:
            tag = img.build(root, name, log=lambda m: status.update(m), force=force)
        console.print(f"[green]ready[/green] {name}: {tag}")


@images.command("list")
@friendly_errors
def images_list() -> None:
    """Show each sandbox image, its content-hash tag and whether it is built."""
    from rsibench import images as img
    from rsibench.suite import find_root

    table = Table(title="sandbox images")
    for col in ("name", "tag", "built", "image id", "size"):
        table.add_column(col, no_wrap=col in ("name", "tag"))
    for info in img.list_images(find_root()):
        table.add_row(
            info.name,
            info.tag,
            "yes" if info.built else "[yellow]no[/yellow]",
            (info.image_id or "")[:19],
            f"{info.size_mb:.0f} MB" if info.size_mb else "",
        )
    console.print(table)


def _print_summary(title: str, records: list[dict]) -> None:
    """Per attempt: success, normalised score and time, tokens and cost when a model ran; then
    why any attempt was cut short or not scored."""
    records = sorted(records, key=lambda r: (r["task_id"], r["epoch"]))
    used_model = any(r["total_tokens"] for r in records)
    table = Table(title=title)
    table.add_column("task", no_wrap=True)
    for col in ("success", "score", "time", *(("tokens", "cost") if used_model else ())):
        table.add_column(col, justify="right", no_wrap=True)
    notes = []
    for r in records:
        task = r["task_id"] + (f" #{r['epoch']}" if r["epoch"] > 1 else "")
        norm, cost = r["score_normalised"], r["cost_usd"]
        usage = (f"{r['total_tokens']:,}", "" if cost is None else f"${cost:.2f}")
        table.add_row(
            task,
            "[green]yes[/green]" if r["success"] else "[red]no[/red]",
            "" if norm is None else f"{norm:.3f}",
            "" if r["total_time_s"] is None else f"{r['total_time_s']:.0f} s",
            *(usage if used_model else ()),
        )
        if note := r["error"] or ", ".join(f"{lim} limit reached" for lim in r["limits_hit"]):
            notes.append(f"  {task}: {note}")
    console.print(table)
    for line in notes:
        console.print(line, highlight=False, markup=False)


def _run(
    suite: Suite,
    patterns: tuple[str, ...],
    model: str | None,
    epochs: int,
    max_samples: int | None,
    log_dir: Path | None,
    records_dir: Path | None,
) -> list:
    """Run and print a summary per attempter; on Ctrl-C say how to resume and exit 130."""
    from rsibench.harness import RunInterrupted, run_suite, runs_for

    variants = suite.select(patterns)
    try:
        outcomes = run_suite(
            suite,
            variants,
            runs_for(model),
            epochs=epochs,
            max_samples=max_samples,
            log_dir=log_dir,
            records_dir=records_dir,
            log=lambda m: console.print(m, highlight=False),
        )
    except RunInterrupted as e:
        err_console.print(f"[yellow]{e}[/yellow]", highlight=False)
        sys.exit(130)
    for o in outcomes:
        _print_summary(f"{o.run.name}: {len(o.records)} attempt(s)", o.records)
        console.print(f"records: {o.records_file}", highlight=False)
    return outcomes


def _validation(outcomes: list, expected: list[str], epochs: int) -> tuple[int, int]:
    """Each oracle attempt must succeed, each noop attempt must fail, and none may be missing."""
    passed = failed = 0
    for o in outcomes:
        want = o.run.agent == "oracle"
        attempted = {(r["task_id"], r["epoch"]) for r in o.records}
        for task_id in expected:
            for epoch in range(1, epochs + 1):
                if (task_id, epoch) not in attempted:
                    failed += 1
                    console.print(
                        f"[red]FAIL[/red] {task_id}: {o.run.agent} has no scored "
                        f"attempt (epoch {epoch}); see the log",
                        highlight=False,
                    )
        for r in sorted(o.records, key=lambda r: (r["task_id"], r["epoch"])):
            ok = r["success"] == want and r["error"] is None
            passed, failed = passed + ok, failed + (not ok)
            verdict = "[green]PASS[/green]" if ok else "[red]FAIL[/red]"
            expect = "succeeds" if want else "fails"
            why = (
                ""
                if ok
                else f" (success={r['success']}, normalised={r['score_normalised']}"
                f"{', error: ' + r['error'] if r['error'] else ''})"
            )
            console.print(f"{verdict} {r['task_id']}: {o.run.agent} {expect}{why}", highlight=False)
    return passed, failed


RUN_OPTIONS = [
    click.option("--epochs", default=1, show_default=True, help="Attempts per variant."),
    click.option(
        "--max-samples",
        type=int,
        help="Samples run at once (default 2 for the "
        "reference agents, inspect's default for models).",
    ),
    click.option(
        "--log-dir",
        type=click.Path(path_type=Path),
        help="inspect log folder (default logs/<attempter>-<hash>; re-running resumes).",
    ),
    click.option(
        "--records-dir",
        type=click.Path(path_type=Path),
        help="Where run records go (default results/runs/).",
    ),
]


def run_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed(RUN_OPTIONS):
        fn = opt(fn)
    return fn


@main.command()
@click.option(
    "--model",
    help="inspect model string, e.g. anthropic/claude-sonnet-4-5. "
    "Without it the reference agents (oracle, noop) run and are checked.",
)
@click.option(
    "--tasks",
    "patterns",
    multiple=True,
    help="Glob over task ids, families or categories (repeatable).",
)
@run_options
@friendly_errors
def run(
    model: str | None,
    patterns: tuple[str, ...],
    epochs: int,
    max_samples: int | None,
    log_dir: Path | None,
    records_dir: Path | None,
) -> None:
    """Run the suite in Docker sandboxes and record every attempt."""
    if model is None:
        _validate(patterns, epochs, max_samples, log_dir, records_dir)
    outcomes = _run(load_suite(), patterns, model, epochs, max_samples, log_dir, records_dir)
    sys.exit(0 if all(o.complete for o in outcomes) else 1)


@main.command()
@click.argument("patterns", nargs=-1)
@run_options
@friendly_errors
def validate(
    patterns: tuple[str, ...],
    epochs: int,
    max_samples: int | None,
    log_dir: Path | None,
    records_dir: Path | None,
) -> None:
    """Check that the oracle succeeds and noop fails on every variant (or those matching
    PATTERNS); exits 1 if any check fails."""
    _validate(patterns, epochs, max_samples, log_dir, records_dir)


def _validate(
    patterns: tuple[str, ...],
    epochs: int,
    max_samples: int | None,
    log_dir: Path | None,
    records_dir: Path | None,
) -> None:
    """Run the reference agents, print a verdict per check and exit 1 if any failed."""
    suite = load_suite()
    outcomes = _run(suite, patterns, None, epochs, max_samples, log_dir, records_dir)
    expected = [v.task_id for v in suite.select(patterns)]
    passed, failed = _validation(outcomes, expected, epochs)
    click.echo(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("logs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--records-dir",
    type=click.Path(path_type=Path),
    help="Where run records go (default results/runs/).",
)
@friendly_errors
def harvest(logs: tuple[Path, ...], records_dir: Path | None) -> None:
    """Turn inspect eval logs (files or folders) of the rsibench task into run records, e.g.
    after `inspect eval rsibench/rsibench`. Attempts already recorded are skipped."""
    from rsibench.harvest import harvest_logs
    from rsibench.suite import find_root

    try:
        added = harvest_logs(list(logs), records_dir or find_root() / "results" / "runs")
    except ValueError as e:
        err_console.print(f"[red]error:[/red] {e}", highlight=False)
        sys.exit(2)
    for path, n in added.items():
        console.print(f"{n} new record(s) in {path}", highlight=False)


@main.command("cleanup")
@friendly_errors
def cleanup() -> None:
    """Remove every rsibench sandbox container and volume left on this Docker daemon."""
    from rsibench.sandbox import remove_leftovers

    console.print(f"removed {remove_leftovers(None)} container(s) and volume(s)")


def _register_analysis() -> None:
    # Analysis commands live beside the statistics they drive; they need no Docker.
    from rsibench.cli_report import leaderboard, trend
    from rsibench.cli_stats import gate, horizon, simulate

    for command in (horizon, trend, leaderboard, simulate, gate):
        main.add_command(command)


_register_analysis()


def _register_baseline() -> None:
    from rsibench.cli_baseline import baseline  # human baselines; Docker imported on use

    main.add_command(baseline)


_register_baseline()
