"""The `rsibench` command line.

Start-up matters (labs call it in CI, users call `--help`): this module imports only click and
rich; inspect-ai, Docker and the suite are imported inside the commands that use them, and the
analysis commands (``cli_stats``, ``cli_report``) import neither.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from rsibench.suite import Suite

console = Console()
err_console = Console(stderr=True)

#: Errors whose message already names what is wrong and the fix, by class name, so that catching
#: them imports nothing: DockerUnavailable, ImageError, RecordError and inspect's
#: PrerequisiteError (a model provider's package or API key is missing; inspect keeps the class
#: in a private module).
KNOWN_ERRORS = {"DockerUnavailable", "ImageError", "RecordError", "PrerequisiteError"}


def _known(e: BaseException) -> bool:
    return any(cls.__name__ in KNOWN_ERRORS for cls in type(e).__mro__)


def friendly_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Known failures print their message (which names the file, field and fix) and exit 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            if any(cls.__name__ == "SuiteError" for cls in type(e).__mro__):
                problems = getattr(e, "problems", [str(e)])
                err_console.print(f"[red]The suite has {len(problems)} problem(s):[/red]")
                for p in problems:
                    err_console.print(f"  - {p}", markup=False, highlight=False)
                sys.exit(2)
            if _known(e):
                err_console.print(f"[red]error:[/red] {e}", highlight=False)
                sys.exit(2)
            raise

    return wrapper


class _Group(click.Group):
    """The main group; keeps the arguments as given, for outputs that record how they were
    made (the leaderboard's provenance)."""

    def make_context(self, info_name: str | None, args: list[str], **extra: Any) -> click.Context:
        ctx = super().make_context(info_name, list(args), **extra)
        ctx.meta["rsibench.argv"] = list(args)
        return ctx


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rsibench")
def main() -> None:
    """rsibench: time horizons for autonomous AI R&D."""


@main.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, an object per variant.")
@friendly_errors
def list_cmd(as_json: bool) -> None:
    """List the suite's task variants."""
    from rsibench.suite import load_suite

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
    from rsibench.agents import runs_for
    from rsibench.harness import RunInterrupted, run_suite

    variants = suite.select(patterns)
    # Checked before any image is built or sandbox started: a paid run must not end in a
    # traceback because of a typo.
    if model is not None:
        _check_model(model)
    if records_dir is not None:
        _check_writable(records_dir, "--records-dir")
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
        err_console.print(f"[yellow]{e}[/yellow]", highlight=False, soft_wrap=True)
        sys.exit(130)
    for o in outcomes:
        _print_summary(f"{o.run.name}: {len(o.records)} attempt(s)", o.records)
        console.print(f"records: {o.records_file}", highlight=False)
    return outcomes


def _fail(message: str) -> None:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    sys.exit(2)


def _check_model(model: str) -> None:
    """inspect must know the model's provider (a missing package or key raises inspect's
    PrerequisiteError, which friendly_errors reports)."""
    from inspect_ai.model import get_model

    try:
        get_model(model)
    except ValueError as e:
        _fail(
            f"--model {model}: {e} Give an inspect model string, provider/model, e.g. "
            "anthropic/claude-sonnet-4-5, openai/gpt-4o or vllm/<path>"
        )


def _check_writable(folder: Path, option: str) -> None:
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as e:
        _fail(
            f"{option} {folder}: cannot write there ({e.strerror or e}); choose a writable folder"
        )


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
    from rsibench.suite import load_suite

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
    """Check the families' static rules, then run the reference agents; print a verdict per
    check and exit 1 if any failed. A whole-suite validation saves its timings."""
    from rsibench import coverage
    from rsibench.rules import family_problems
    from rsibench.suite import load_suite

    started = time.monotonic()
    suite = load_suite()
    variants = suite.select(patterns)
    rule_failures = 0
    for family in sorted({v.family.id: v.family for v in variants}.values(), key=lambda f: f.id):
        for problem in family_problems(family):
            rule_failures += 1
            console.print(f"[red]FAIL[/red] {family.id}: {problem}", highlight=False)
    outcomes = _run(suite, patterns, None, epochs, max_samples, log_dir, records_dir)
    passed, failed = _validation(outcomes, [v.task_id for v in variants], epochs)
    failed += rule_failures
    if not patterns:
        summary = coverage.validation_summary(
            suite,
            [r for o in outcomes for r in o.records],
            time.monotonic() - started,
            passed,
            failed,
        )
        path = coverage.save_validation(
            (records_dir or suite.root / "results") / coverage.VALIDATION_FILE, summary
        )
        console.print(
            f"whole-suite validation: {summary['wall_seconds']:.0f} s; timings in {path}",
            highlight=False,
        )
    click.echo(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


@main.command("new")
@click.argument("name", metavar="CATEGORY/FAMILY")
@click.option(
    "--from",
    "source",
    metavar="FAMILY",
    help="Copy this existing family instead of the blank template.",
)
@friendly_errors
def new(name: str, source: str | None) -> None:
    """Start a task family in tasks/CATEGORY/FAMILY, from a template (or a copy of another
    family) with TODO(rsibench) markers that `rsibench validate` reports until they are done."""
    from rsibench import scaffold
    from rsibench.suite import SuiteError, find_root, load_suite

    root = find_root()
    if source:
        suite = load_suite(root)
        family = next((f for f in suite.families if f.id == source), None)
        if family is None:
            raise SuiteError([f"--from {source}: no such family; run `rsibench list`"])
        path = scaffold.from_family(root, name, family)
    else:
        path = scaffold.from_template(root, name)
    console.print(f"created {path}", highlight=False)
    console.print(
        "next: fill in every TODO(rsibench), then `rsibench validate "
        f"{path.name}` (static rules, oracle succeeds, untouched workspace fails) and "
        f"`scripts/test.sh tasks/{path.parent.name}/{path.name}` (its hacks and tests)",
        highlight=False,
    )


@main.group("suite")
def suite_group() -> None:
    """What the suite covers."""


@suite_group.command("stats")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.option(
    "--validation",
    type=click.Path(path_type=Path),
    help="The saved whole-suite validation (default results/validation.json).",
)
@friendly_errors
def suite_stats(as_json: bool, validation: Path | None) -> None:
    """Variants and families per category and per log2 bucket of human minutes, estimates
    against baselines, scoring time per family, and the last whole-suite validation time."""
    from rsibench import coverage
    from rsibench.suite import load_suite

    suite = load_suite()
    saved = coverage.load_validation(
        validation or suite.root / "results" / coverage.VALIDATION_FILE
    )
    stats = coverage.suite_stats(suite, saved)
    if as_json:
        click.echo(json.dumps(stats, indent=2))
        return
    _print_stats(stats)


def _print_stats(stats: dict[str, Any]) -> None:
    from rsibench.coverage import BUCKETS

    cats = stats["categories"]
    short = dict(zip(cats, ("debug", "kernel", "toy", "judgement"), strict=True))
    table = Table(title=f"suite {stats['suite_version']}: {stats['variants']} variants, "
                  f"{stats['families']} families")  # fmt: skip
    table.add_column("category", no_wrap=True)
    for col in ("families", "variants", "buckets", ">= 8 h", "est.", "base."):
        table.add_column(col, justify="right", no_wrap=True)
    for c, row in cats.items():
        table.add_row(
            c,
            str(row["families"]),
            str(row["variants"]),
            f"{len(row['buckets'])}/{len(BUCKETS)}",
            str(row["variants_8h_or_more"]),
            str(row["estimates"]),
            str(row["baselines"]),
        )
    console.print(table)
    grid = Table(title="variants per log2 bucket of human minutes")
    grid.add_column("minutes", justify="right", no_wrap=True)
    for c in cats:
        grid.add_column(short[c], justify="right", no_wrap=True)
    for b, counts in stats["buckets"].items():
        grid.add_row(b, *(str(counts[c] or "·") for c in cats))
    console.print(grid)
    fams = Table(title="scoring time per family (median per attempt, last whole-suite validation)")
    for col in ("family", "variants", "scorer", "scoring", "timeout"):
        fams.add_column(
            col, no_wrap=col == "family", justify="left" if col == "family" else "right"
        )
    for f in stats["per_family"]:
        secs = f["scoring_s"]
        fams.add_row(
            f["family"],
            str(f["variants"]),
            f["scorer"] + (" (timed)" if f["timed"] else ""),
            "not measured" if secs is None else f"{secs:.0f} s",
            f"{f['timeout_s']} s",
        )
    console.print(fams)
    budget, mean = stats["attempt_budget_s"], stats["mean_scoring_s"]
    if mean is not None:
        verdict = "within" if mean <= budget else "[red]over[/red]"
        console.print(
            f"mean scoring per attempt {mean:.1f} s: {verdict} the {budget:.0f} s per attempt "
            "that keeps a 64-variant validation within 15 minutes on 2 cores",
            highlight=False,
        )
    last = stats["last_validation"]
    if last is None:
        console.print("whole-suite validation: never saved here (run `rsibench validate`)")
    else:
        same = (
            "" if last["suite_version"] == stats["suite_version"] else " (an older suite version)"
        )
        console.print(
            f"whole-suite validation: {last['wall_seconds']:.0f} s for {last['variants']} "
            f"variants, {last['passed']} passed, {last['failed']} failed, "
            f"at {last['finished_at']}, suite {last['suite_version']}{same}",
            highlight=False,
        )


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
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Also remove sandboxes of runs that are alive or were started on another host.",
)
@friendly_errors
def cleanup(everything: bool) -> None:
    """Remove rsibench sandbox containers and volumes that runs no longer alive left behind.

    Each sandbox is labelled with the process that made it (host, pid and the pid's start
    time); only those whose process has ended on this host are removed, unless --all.
    """
    from rsibench.sandbox import remove_leftovers

    done = remove_leftovers(everything=everything)
    console.print(f"removed {done.removed} container(s) and volume(s)", highlight=False)
    if done.kept:
        console.print(
            f"kept {done.kept} of runs still alive, or whose run cannot be told from here "
            "(made on another host, or by an rsibench that did not label owners); "
            "`rsibench cleanup --all` removes them too",
            highlight=False,
        )


def _register_analysis() -> None:
    # Analysis commands live beside the statistics they drive; they need no Docker.
    from rsibench.cli_report import leaderboard, trend
    from rsibench.cli_stats import gate, horizon, plan, simulate

    for command in (horizon, trend, leaderboard, simulate, gate, plan):
        main.add_command(command)


_register_analysis()


def _register_baseline() -> None:
    from rsibench.cli_baseline import baseline  # human baselines; Docker imported on use

    main.add_command(baseline)


_register_baseline()


if __name__ == "__main__":
    main()
