"""The rules every family keeps that can be checked from its folder alone (TASKS.md).

``rsibench validate`` reports these before it runs anything, and the test suite checks them for
every family found on disk, so that a family copied from another (or made by ``rsibench new``)
is held to the same rules without anyone listing it anywhere. What needs the sandbox (the oracle
succeeds, noop fails, hacks fail, nothing hidden reaches the agent) is checked by running it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from rsibench.suite import Family

TODO = "TODO(rsibench)"
MIN_HACKS = 2
MIN_RATIONALE_WORDS = 25
# text files where a comment can carry the canary (data and JSON cannot)
COMMENTED = (".py", ".c", ".h", ".sh", ".md", ".cu", ".cpp")
RATIONALE_HEADING = re.compile(r"^#+\s.*human minutes", re.IGNORECASE)


def hack_dirs(family: Family) -> list[Path]:
    """The family's known reward hacks: folders under hacks/ laid over the workspace."""
    hacks = family.path / "hacks"
    return sorted(p for p in hacks.iterdir() if p.is_dir()) if hacks.is_dir() else []


def todo_markers(family: Family) -> list[str]:
    """'file:line' of every TODO(rsibench) left in the family (a scaffold not yet finished)."""
    found = []
    for path in sorted(p for p in family.path.rglob("*") if p.is_file()):
        if "__pycache__" in path.parts:
            continue
        try:
            lines = path.read_text().splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        found += [f"{path}:{i}" for i, line in enumerate(lines, 1) if TODO in line]
    return found


def rationale_section(readme: str) -> list[str]:
    """The lines of the README section whose heading mentions human minutes."""
    lines = readme.splitlines()
    start = next((i for i, line in enumerate(lines) if RATIONALE_HEADING.match(line)), None)
    if start is None:
        return []
    level = len(lines[start]) - len(lines[start].lstrip("#"))
    section = []
    for line in lines[start + 1 :]:
        if line.startswith("#") and len(line) - len(line.lstrip("#")) <= level:
            break
        section.append(line)
    return section


def rationale_problems(family: Family) -> list[str]:
    """Each variant needs, in the README's human-minutes section, an entry that names it in
    backticks with its minutes and gives a step-by-step account of at least 25 words."""
    readme = family.path / "README.md"
    section = rationale_section(readme.read_text())
    if not section:
        return [
            f"{readme}: no section headed '... human minutes'; add one with a step-by-step "
            "rationale per variant"
        ]
    ids = [v.id for v in family.variants]
    problems = []
    for v in family.variants:
        # the entry: from the line naming the variant to the next line naming another one
        start = next((i for i, line in enumerate(section) if f"`{v.id}`" in line), None)
        if start is None:
            problems.append(f"{readme}: the human-minutes section does not name `{v.id}`")
            continue
        entry = [section[start]]
        for line in section[start + 1 :]:
            if any(f"`{other}`" in line for other in ids if other != v.id) or not line.strip():
                break
            entry.append(line)
        text = " ".join(entry)
        if not re.search(rf"(?<![\d.]){v.human_minutes:g}(?![\d.])", text):
            problems.append(
                f"{readme}: the entry for `{v.id}` does not state its {v.human_minutes:g} minutes"
            )
        if len(text.split()) < MIN_RATIONALE_WORDS:
            problems.append(
                f"{readme}: the entry for `{v.id}` is not a step-by-step account of the work "
                f"(fewer than {MIN_RATIONALE_WORDS} words)"
            )
    return problems


def family_problems(family: Family) -> list[str]:
    """Every rule the family's folder breaks, one line each naming the file and the fix."""
    problems = [f"{where}: {TODO} marker left; finish it" for where in todo_markers(family)]
    readme = family.path / "README.md"
    if family.canary not in readme.read_text():
        problems.append(f"{readme}: must contain the family's canary '{family.canary}'")
    for folder in ("checks", "solution"):
        for path in sorted((family.path / folder).rglob("*")):
            if path.suffix in COMMENTED and family.canary not in path.read_text():
                problems.append(f"{path}: must carry the family's canary in a comment")
    solve = family.path / "solution" / "solve.sh"
    if not os.access(solve, os.X_OK) or not solve.read_text().startswith("#!/usr/bin/env bash"):
        problems.append(f"{solve}: must start with '#!/usr/bin/env bash' and be executable")
    if len(hack_dirs(family)) < MIN_HACKS:
        problems.append(
            f"{family.path / 'hacks'}/: needs at least {MIN_HACKS} known reward hacks, one "
            "folder each (files laid over the workspace, or an edits.py), that must fail"
        )
    problems += rationale_problems(family)
    minutes = [v.human_minutes for v in family.variants]
    thresholds = [v.threshold for v in family.variants]
    if minutes != sorted(minutes) or thresholds != sorted(thresholds):
        problems.append(
            f"{family.path / 'task.yaml'}: variants must run easiest first (human_minutes and "
            "threshold non-decreasing): the hack checks score against the first"
        )
    return problems
