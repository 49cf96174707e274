"""Adding a family: `rsibench new`, the folder rules `rsibench validate` reports, `suite stats`,
and timed scorers scoring alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner

from rsibench.cli import main
from rsibench.rules import TODO, family_problems
from rsibench.scoring import SharedExclusiveLock
from rsibench.suite import load_suite

REPO = Path(__file__).resolve().parents[1]
FAMILY = "tasks/debugging/fix-answer"


def cli(monkeypatch, root: Path, *args: str):
    monkeypatch.setenv("RSIBENCH_ROOT", str(root))
    return CliRunner().invoke(main, list(args))


def family(root: Path, family_id: str):
    return next(f for f in load_suite(root).families if f.id == family_id)


def test_new_family_loads_at_once_and_reports_its_todos(mini_copy, monkeypatch):
    shutil.copytree(REPO / "scorers", mini_copy / "scorers", dirs_exist_ok=True)
    result = cli(monkeypatch, mini_copy, "new", "toy-model/tiny-speedrun")
    assert result.exit_code == 0, result.output
    path = mini_copy / "tasks/toy-model/tiny-speedrun"
    listed = json.loads(cli(monkeypatch, mini_copy, "list", "--json").output)
    assert "tiny-speedrun/first" in [row["id"] for row in listed]
    fam = family(mini_copy, "tiny-speedrun")
    assert fam.canary != family(mini_copy, "fix-answer").canary
    assert fam.canary in (path / "instructions.md").read_text()
    todos = [p for p in family_problems(fam) if TODO in p]
    assert any("task.yaml:1" in p for p in todos) and any("README.md" in p for p in todos)
    assert any("solve.sh" in p for p in todos)


def test_new_from_an_existing_family_gets_its_own_id_and_canary(mini_copy, monkeypatch):
    result = cli(monkeypatch, mini_copy, "new", "debugging/fix-answer-2", "--from", "fix-answer")
    assert result.exit_code == 0, result.output
    old, new = family(mini_copy, "fix-answer"), family(mini_copy, "fix-answer-2")
    assert [v.id for v in new.variants] == [v.id for v in old.variants]
    assert new.canary != old.canary
    for path in new.path.rglob("*"):
        if path.is_file() and path.suffix in (".md", ".py", ".sh", ".yaml"):
            assert old.canary not in path.read_text(), path
    problems = family_problems(new)
    assert any("task.yaml:1" in p and TODO in p for p in problems)
    assert any("README.md" in p and TODO in p for p in problems)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("cooking/pasta", "'cooking' is not a category"),
        ("debugging/Bad_Name", "is not a family id"),
        ("debugging/fix-answer", "exists already"),
    ],
)
def test_new_refuses_bad_names_with_the_fix(mini_copy, monkeypatch, name, message):
    result = cli(monkeypatch, mini_copy, "new", name)
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_rules_catch_a_variant_without_a_rationale_and_missing_hacks(mini_copy):
    readme = mini_copy / FAMILY / "README.md"
    text = readme.read_text()
    readme.write_text(text.replace("- `hard` (4 min)", "- `harder` (4 min)"))
    for hack in (mini_copy / FAMILY / "hacks").iterdir():
        for f in hack.iterdir():
            f.unlink()
        hack.rmdir()
    problems = family_problems(family(mini_copy, "fix-answer"))
    assert any("does not name `hard`" in p for p in problems)
    assert any("needs at least 2 known reward hacks" in p for p in problems)


def test_rules_want_the_minutes_and_a_step_by_step_account(mini_copy):
    readme = mini_copy / FAMILY / "README.md"
    lines = readme.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("- `easy`"))
    lines[start : start + 2] = ["- `easy` (2 min): change the number."]
    readme.write_text("\n".join(lines) + "\n")
    problems = family_problems(family(mini_copy, "fix-answer"))
    assert any("`easy` does not state its 1 minutes" in p for p in problems)
    assert any("`easy` is not a step-by-step account" in p for p in problems)


def test_suite_stats_counts_buckets_sources_and_the_saved_validation(mini_copy, monkeypatch):
    (mini_copy / "results").mkdir(exist_ok=True)
    saved = {
        "suite_version": "x",
        "finished_at": "2026-12-01T00:00:00Z",
        "variants": 2,
        "passed": 4,
        "failed": 0,
        "wall_seconds": 12.5,
        "scoring_seconds": {"fix-answer": 1.5},
        "scoring_seconds_max": {"fix-answer": 2.0},
    }
    (mini_copy / "results" / "validation.json").write_text(json.dumps(saved))
    result = cli(monkeypatch, mini_copy, "suite", "stats", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    debugging = stats["categories"]["debugging"]
    assert debugging == {
        "families": 1,
        "variants": 2,
        "buckets": [1, 4],
        "variants_8h_or_more": 0,
        "estimates": 2,
        "baselines": 0,
    }
    assert stats["buckets"]["4"]["debugging"] == 1
    assert stats["per_family"][0]["scoring_s"] == 1.5
    # 15 minutes on 2 cores for 64 variants x (oracle + noop): about 14 s per attempt
    assert stats["attempt_budget_s"] == 14.1 and stats["mean_scoring_s"] == 1.5
    text = cli(monkeypatch, mini_copy, "suite", "stats")
    assert "whole-suite validation: 12 s for 2 variants" in text.output
    assert "(an older suite version)" in text.output
    assert "mean scoring per attempt 1.5 s: within the 14 s per attempt" in text.output


def test_a_timed_scorer_scores_alone():
    """Shared holders overlap one another; an exclusive holder never overlaps anyone."""
    lock = SharedExclusiveLock()
    active: list[str] = []
    overlaps: list[tuple[str, list[str]]] = []

    async def hold(name: str, exclusive: bool, delay: float) -> None:
        await anyio.sleep(delay)
        async with lock.hold(exclusive=exclusive):
            overlaps.append((name, list(active)))
            active.append(name)
            await anyio.sleep(0.05)
            active.remove(name)

    async def go() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(hold, "shared-1", False, 0)
            tg.start_soon(hold, "shared-2", False, 0)
            tg.start_soon(hold, "timed", True, 0.01)
            tg.start_soon(hold, "shared-3", False, 0.02)

    anyio.run(go)
    seen = dict(overlaps)
    assert seen["shared-2"] == ["shared-1"]  # shared holders do overlap
    assert seen["timed"] == []  # the exclusive holder waited for both to finish
    assert "timed" not in seen["shared-3"]  # and nobody joined it while it held the lock
