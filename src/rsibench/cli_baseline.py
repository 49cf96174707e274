"""`rsibench baseline`: time people on task variants and turn their times into human_minutes.

``rsibench baseline TASK --name NAME`` is short for ``rsibench baseline start TASK --name NAME``.
Docker and inspect are imported only by the commands that open a sandbox.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from rsibench import baseline as bl
from rsibench.suite import SuiteError

console = Console()


class _Fail(click.ClickException):
    exit_code = 2


class _StartByDefault(click.Group):
    """A first argument that is not a subcommand is a task id for ``start``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["start", *args]
        return super().parse_args(ctx, args)


def _errors(fn):  # noqa: ANN001, ANN202 (a decorator)
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        try:
            return fn(*args, **kwargs)
        except bl.BaselineError as e:
            raise _Fail(str(e)) from None
        except SuiteError as e:
            raise _Fail("the suite has problems:\n  " + "\n  ".join(e.problems)) from None
        except Exception as e:  # Docker down, image missing: one line, not a traceback
            from rsibench.engine import DockerUnavailable
            from rsibench.images import ImageError

            if isinstance(e, DockerUnavailable | ImageError):
                raise _Fail(str(e)) from None
            raise

    return wrapper


FOLDER = click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where baseline records live [default: results/baselines/ of the suite].",
)


@click.group(cls=_StartByDefault, invoke_without_command=False)
def baseline() -> None:
    """Time skilled people on task variants, in the agent's sandbox, scored by its verifier.

    \b
    rsibench baseline TASK_ID --name NAME       start (or resume) an attempt in this terminal
    rsibench baseline TASK_ID --name NAME --attach   another shell in the open attempt
    rsibench baseline summary | apply | rescore
    """


@baseline.command("start")
@click.argument("task_id")
@click.option("--name", required=True, help="Who is working (names results/baselines/NAME.jsonl).")
@click.option("--attach", is_flag=True, help="Open another shell in the attempt already open.")
@click.option(
    "--idle-minutes",
    type=click.FloatRange(min=0, min_open=True),
    default=bl.DEFAULT_IDLE_MINUTES,
    show_default=True,
    help="Gaps with no terminal input or output longer than this are not counted.",
)
@click.option("--restart", is_flag=True, help="Discard an interrupted attempt and start anew.")
@click.option(
    "--notes",
    help="Kept in the record: anything a reader must know, e.g. an AI assistant that was allowed.",
)
@FOLDER
@_errors
def start(
    task_id: str,
    name: str,
    attach: bool,
    idle_minutes: float,
    restart: bool,
    notes: str | None,
    folder: Path | None,
) -> None:
    """Open TASK_ID's agent sandbox in this terminal and time the attempt until `submit`.

    Inside the sandbox: `instructions`, `status`, `pause`, `resume`, `submit`. An interrupted
    attempt (terminal closed, machine rebooted) resumes with the same command within a day.
    """
    if attach:
        bl.attach(task_id, name, folder)
    else:
        bl.start(task_id, name, folder, idle_minutes, restart, notes)


@baseline.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON array, an object per variant.")
@FOLDER
@_errors
def summary(as_json: bool, folder: Path | None) -> None:
    """Per variant: baselines, successes, geometric-mean working time of the successful ones
    with a 95% interval, and its ratio to the suite's current human_minutes."""
    from rsibench.suite import load_suite

    folder = folder or bl.default_folder()
    rows = bl.summarise(bl.load_baselines(folder), load_suite())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo(f"no baseline records in {folder}/ (`rsibench baseline TASK_ID --name NAME`)")
        return
    table = Table(title=f"human baselines: {sum(r['attempts'] for r in rows)} attempt(s)")
    for col in ("task", "scored", "ok", "geo. mean", "95% CI", "suite now", "ratio"):
        table.add_column(col, justify="left" if col == "task" else "right", no_wrap=True)
    for r in rows:
        gm, ci = r["geomean_minutes"], r["ci95_minutes"]
        now = "" if r["human_minutes"] is None else f"{r['human_minutes']:g}"
        if r["human_minutes_source"] == "estimate":
            now += " (est.)"
        table.add_row(
            r["task_id"],
            str(r["scored"]) + ("*" if r["unscored"] else ""),
            str(r["successes"]),
            "" if gm is None else f"{gm:.1f}",
            "" if ci is None else f"{ci[0]:.1f}–{ci[1]:.1f}",
            now,
            "" if r["ratio"] is None else f"{r['ratio']:.2f}",
        )
    console.print(table)
    if any(r["unscored"] for r in rows):
        console.print("* plus unscored attempts: `rsibench baseline rescore` scores them again.")
    console.print("geo. mean: minutes of working time of the successful baselines (95% CI)")
    console.print("ratio: geo. mean / the suite's human_minutes now", highlight=False)


@baseline.command()
@click.option(
    "--min-successes",
    type=click.IntRange(min=1),
    default=bl.DEFAULT_MIN_SUCCESSES,
    show_default=True,
    help="Successful baselines a variant needs before its estimate is replaced.",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@FOLDER
@_errors
def apply(min_successes: int, dry_run: bool, folder: Path | None) -> None:
    """Write the geometric-mean baseline time into task.yaml (human_minutes_source: baseline)
    for every variant with enough successful baselines; this changes the suite version."""
    from rsibench.suite import load_suite

    suite = load_suite()
    records = bl.load_baselines(folder or bl.default_folder())
    changes, kept = bl.apply_baselines(suite, records, min_successes, dry_run)
    for c in changes:
        b_min, b_src, b_n = c.before
        a_min, _, a_n = c.after
        was = f"{b_min:g} min ({b_src}{f', {b_n} baselines' if b_n else ''})"
        click.echo(f"{c.task_id}: {was} -> {a_min:g} min (baseline, {a_n} successful)")
    for line in kept:
        click.echo(line)
    if not changes:
        click.echo("nothing to change")
    elif dry_run:
        click.echo("dry run: nothing written")
    else:
        click.echo(f"suite version {suite.version} -> {load_suite(suite.root).version}")


@baseline.command()
@click.argument("attempt_ids", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every recorded attempt, not just unscored.")
@FOLDER
@_errors
def rescore(attempt_ids: tuple[str, ...], every: bool, folder: Path | None) -> None:
    """Score archived attempts again with the current verifier (default: the unscored ones)."""
    done = bl.rescore(folder, attempt_ids, every, lambda m: console.print(m, highlight=False))
    if not done:
        click.echo("no attempt to rescore (all are scored; name ATTEMPT_IDS or use --all)")
