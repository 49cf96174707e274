"""The suite: task families on disk, validated into immutable specs.

Owns ``task.yaml`` (its JSON Schema ships in ``schema/task.schema.json``), where the suite lives,
its version, and selecting variants by glob. Every problem found is reported with the file, the
field and a fix, all at once, never as a traceback.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from rsibench.errors import ProblemsError

CATEGORIES = ("debugging", "kernel-optimisation", "toy-model", "research-judgement")
FAMILY_FILES = ("task.yaml", "instructions.md", "README.md")
FAMILY_DIRS = ("workspace", "checks", "solution")


class SuiteError(ProblemsError):
    """One or more problems in the suite; ``problems`` holds one line each."""


@dataclass(frozen=True)
class Resources:
    cpus: float
    memory: str
    pids: int
    disk: str
    gpus: int = 0


@dataclass(frozen=True)
class Variant:
    id: str
    human_minutes: float
    human_minutes_source: str
    threshold: float
    params: dict[str, Any]
    family: Family = field(repr=False, compare=False)

    @property
    def task_id(self) -> str:
        return f"{self.family.id}/{self.id}"

    def record_fields(self) -> dict[str, Any]:
        """What every run record of this variant says about the task it attempted."""
        return {
            "task_id": self.task_id,
            "family": self.family.id,
            "variant": self.id,
            "category": self.family.category,
            "human_minutes": self.human_minutes,
            "human_minutes_source": self.human_minutes_source,
            "threshold": self.threshold,
        }

    def instructions(self) -> str:
        """The family's instructions with this variant's parameters filled in."""
        return string.Formatter().vformat(self.family.instructions_template, (), self.params)


@dataclass(frozen=True)
class Family:
    id: str
    category: str
    summary: str
    canary: str
    image: str
    resources: Resources
    scorer: str
    scorer_timeout: int
    scorer_params: dict[str, Any]
    working_minutes: float
    token_limit: int | None
    message_limit: int | None
    command_timeout: int
    path: Path
    instructions_template: str
    variants: tuple[Variant, ...] = ()


@dataclass(frozen=True)
class Suite:
    root: Path
    version: str
    families: tuple[Family, ...]

    @property
    def variants(self) -> list[Variant]:
        return [v for f in self.families for v in f.variants]

    def select(self, patterns: Iterable[str] | None) -> list[Variant]:
        """Variants whose task id, family id or category matches any glob; all when none given."""
        pats = [p for p in (patterns or []) if p]
        if not pats:
            return self.variants
        chosen = [
            v
            for v in self.variants
            if any(
                fnmatch.fnmatchcase(name, p)
                for p in pats
                for name in (v.task_id, v.family.id, v.family.category)
            )
        ]
        if not chosen:
            raise SuiteError(
                [
                    f"--tasks {' '.join(pats)}: matches no task id, family or category; "
                    "run `rsibench list` to see them"
                ]
            )
        return chosen

    def variant(self, task_id: str) -> Variant:
        for v in self.variants:
            if v.task_id == task_id:
                return v
        raise KeyError(f"no task '{task_id}' in the suite at {self.root}")


@cache
def task_schema() -> dict[str, Any]:
    return json.loads(resources.files("rsibench").joinpath("schema/task.schema.json").read_text())


def find_root(start: Path | None = None) -> Path:
    """The suite checkout: $RSIBENCH_ROOT, else the nearest parent with tasks/ and scorers/,
    else the checkout this package was installed from."""
    if env := os.environ.get("RSIBENCH_ROOT"):
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "tasks").is_dir() and (d / "scorers").is_dir():
            return d
    source_checkout = Path(__file__).resolve().parents[2]
    if (source_checkout / "tasks").is_dir():
        return source_checkout
    raise SuiteError(
        [
            f"{here}: no rsibench suite here (a folder with tasks/ and scorers/); "
            "cd into the rsibench checkout or set RSIBENCH_ROOT"
        ]
    )


def _schema_problems(path: Path, data: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(task_schema())
    problems = []
    for err in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        fix = err.schema.get("description", "")
        problems.append(f"{path}: {where}: {err.message}" + (f" ({fix})" if fix else ""))
    return problems


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def load_family(path: Path, root: Path) -> tuple[Family | None, list[str]]:
    """Load one family folder; returns the family (None if unusable) and every problem found."""
    spec_file = path / "task.yaml"
    problems: list[str] = []
    try:
        data = yaml.safe_load(spec_file.read_text())
    except FileNotFoundError:
        return None, [f"{spec_file}: missing; every family folder needs a task.yaml"]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f":{mark.line + 1}" if mark else ""
        return None, [f"{spec_file}{at}: not valid YAML ({getattr(e, 'problem', e)})"]
    problems += _schema_problems(spec_file, data)
    if problems:
        return None, problems

    if data["id"] != path.name:
        problems.append(f"{spec_file}: id: '{data['id']}' must equal the folder name '{path.name}'")
    if data["category"] != path.parent.name:
        problems.append(
            f"{spec_file}: category: '{data['category']}' but the family sits under "
            f"tasks/{path.parent.name}/; move the folder or fix the category"
        )
    for name in FAMILY_FILES:
        if not (path / name).is_file():
            problems.append(f"{path / name}: missing; see TASKS.md for what a family holds")
    for name in FAMILY_DIRS:
        if not (path / name).is_dir():
            problems.append(f"{path / name}/: missing folder; see TASKS.md")
    if (path / "solution").is_dir() and not (path / "solution" / "solve.sh").is_file():
        problems.append(f"{path / 'solution' / 'solve.sh'}: missing; the oracle agent runs it")
    if not (root / "sandboxes" / data["image"] / "Dockerfile").is_file():
        problems.append(
            f"{spec_file}: image: no sandboxes/{data['image']}/Dockerfile; "
            f"use one of: {', '.join(sorted(available_images(root))) or 'none yet'}"
        )
    scorer = data["scorer"]["name"]
    if not (root / "scorers" / f"{scorer}.py").is_file():
        problems.append(f"{spec_file}: scorer.name: no scorers/{scorer}.py")

    template = ""
    if (path / "instructions.md").is_file():
        template = (path / "instructions.md").read_text()
        if data["canary"] not in template:
            problems.append(
                f"{path / 'instructions.md'}: must contain the family's canary string "
                f"'{data['canary']}'"
            )
    needed = _placeholders(template)
    seen_ids: set[str] = set()
    for i, v in enumerate(data["variants"]):
        where = f"{spec_file}: variants.{i}"
        if v["id"] in seen_ids:
            problems.append(f"{where}.id: '{v['id']}' repeats; variant ids must be unique")
        seen_ids.add(v["id"])
        missing = needed - set(v.get("params", {}))
        if missing:
            problems.append(
                f"{where}.params: instructions.md uses {{{'}, {'.join(sorted(missing))}}} "
                "but this variant does not set it"
            )
    if problems:
        return None, problems

    res = data["resources"]
    agent = data["agent"]
    family = Family(
        id=data["id"],
        category=data["category"],
        summary=data["summary"].strip(),
        canary=data["canary"],
        image=data["image"],
        resources=Resources(
            cpus=float(res["cpus"]),
            memory=res["memory"],
            pids=res["pids"],
            disk=res["disk"],
            gpus=res.get("gpus", 0),
        ),
        scorer=scorer,
        scorer_timeout=data["scorer"].get("timeout", 600),
        scorer_params=data["scorer"].get("params", {}),
        working_minutes=float(agent["working_minutes"]),
        token_limit=agent.get("tokens"),
        message_limit=agent.get("messages"),
        command_timeout=agent.get("command_timeout", 600),
        path=path,
        instructions_template=template,
    )
    variants = tuple(
        Variant(
            id=v["id"],
            human_minutes=float(v["human_minutes"]),
            human_minutes_source=v["human_minutes_source"],
            threshold=float(v["threshold"]),
            params=v.get("params", {}),
            family=family,
        )
        for v in data["variants"]
    )
    object.__setattr__(family, "variants", variants)
    return family, []


def available_images(root: Path) -> list[str]:
    return [p.parent.name for p in (root / "sandboxes").glob("*/Dockerfile")]


def content_hash(paths: Iterable[Path], base: Path) -> str:
    """sha256 over the relative names and bytes of every file under ``paths``."""
    h = hashlib.sha256()
    for top in paths:
        files = sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else [top]
        for f in files:
            if "__pycache__" in f.parts:
                continue
            h.update(str(f.relative_to(base)).encode() + b"\0")
            h.update(f.read_bytes() + b"\0")
    return h.hexdigest()


@cache
def suite_at(root: str) -> Suite:
    """The suite at ``root``, loaded once per process (solvers and scorers look variants up
    here, since inspect serialises their arguments and a Variant is not plain data)."""
    return load_suite(Path(root))


def load_suite(root: Path | None = None) -> Suite:
    """Load and validate every family under ``root/tasks``; SuiteError lists every problem."""
    root = (root or find_root()).resolve()
    tasks_dir = root / "tasks"
    problems: list[str] = []
    families: list[Family] = []
    for spec in sorted(tasks_dir.glob("*/*/task.yaml")):
        fam_dir = spec.parent
        if fam_dir.parent.name not in CATEGORIES:
            problems.append(
                f"{fam_dir}: tasks/{fam_dir.parent.name}/ is not a category; "
                f"use one of {', '.join(CATEGORIES)}"
            )
            continue
        family, found = load_family(fam_dir, root)
        problems += found
        if family:
            families.append(family)
    ids = [f.id for f in families]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"{tasks_dir}: family id '{dup}' is used twice; family ids are global")
    if not families and not problems:
        problems.append(f"{tasks_dir}: no task families (tasks/<category>/<family>/task.yaml)")
    if problems:
        raise SuiteError(problems)
    version_file = tasks_dir / "VERSION"
    base = version_file.read_text().strip() if version_file.is_file() else "0.0.0"
    digest = content_hash([tasks_dir, root / "scorers", root / "sandboxes"], root)[:10]
    return Suite(root=root, version=f"{base}+{digest}", families=tuple(families))
