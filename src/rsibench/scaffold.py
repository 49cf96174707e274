"""``rsibench new``: start a family folder, from the package's template or a copy of another family.

The result loads at once (``rsibench list``) and carries ``TODO(rsibench)`` markers where the
author must write something; ``rsibench validate`` reports each marker until it is gone.
"""

from __future__ import annotations

import re
import shutil
import string
import uuid
from importlib import resources
from pathlib import Path

from rsibench.rules import TODO
from rsibench.spec import CATEGORIES, ID_PATTERN
from rsibench.suite import Family, SuiteError

TEXT_SUFFIXES = (".py", ".c", ".h", ".sh", ".md", ".yaml", ".txt", ".json", ".cu", ".cpp")


def new_canary() -> str:
    return f"RSIBENCH CANARY {uuid.uuid4()}"


def _target(root: Path, name: str) -> tuple[str, str, Path]:
    category, _, family_id = name.partition("/")
    problems = []
    if category not in CATEGORIES:
        problems.append(
            f"{name}: '{category}' is not a category; use one of {', '.join(CATEGORIES)}"
        )
    if not re.match(ID_PATTERN, family_id):
        problems.append(
            f"{name}: '{family_id}' is not a family id (lowercase letters, digits and '-'); "
            "write CATEGORY/FAMILY, e.g. debugging/kv-cache-bug"
        )
    path = root / "tasks" / category / family_id
    if not problems and any((root / "tasks").glob(f"*/{family_id}/task.yaml")):
        problems.append(f"{name}: a family '{family_id}' exists already; family ids are global")
    if problems:
        raise SuiteError(problems)
    return category, family_id, path


def _text_files(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix in TEXT_SUFFIXES]


def from_template(root: Path, name: str) -> Path:
    """A new family folder from the package's template, every field a TODO."""
    category, family_id, path = _target(root, name)
    template = resources.files("rsibench").joinpath("templates/family")
    with resources.as_file(template) as src:
        shutil.copytree(src, path, ignore=shutil.ignore_patterns("__pycache__"))
    values = {"family": family_id, "category": category, "canary": new_canary()}
    for f in _text_files(path):
        f.write_text(string.Template(f.read_text()).substitute(values))
    return path


def from_family(root: Path, name: str, source: Family) -> Path:
    """A copy of ``source`` under a new id and canary, with TODO markers on what must change
    (the summary, the README, the human minutes)."""
    category, family_id, path = _target(root, name)
    shutil.copytree(source.path, path, ignore=shutil.ignore_patterns("__pycache__"))
    canary = new_canary()
    for f in _text_files(path):
        text = f.read_text().replace(source.canary, canary)
        if f.name == "task.yaml":
            text = re.sub(r"^id: .*$", f"id: {family_id}", text, count=1, flags=re.M)
            text = re.sub(r"^category: .*$", f"category: {category}", text, count=1, flags=re.M)
            text = f"# {TODO}: copied from {source.id}; rewrite the summary, variants and " \
                f"human_minutes for this family.\n{text}"  # fmt: skip
        elif f.name == "README.md" and f.parent == path:
            text = text.replace(f"# {source.id}", f"# {family_id}", 1)
            text += f"\n{TODO}: copied from {source.id}; rewrite this README for {family_id}.\n"
        f.write_text(text)
    return path
