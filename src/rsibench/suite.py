"""The suite: task families on disk, loaded into immutable specs.

Owns finding and loading family folders (``task.yaml`` is typed in :mod:`rsibench.spec`), where
the suite lives, its version, and selecting variants by glob. Every problem found is reported
with the file, the field and a fix, all at once, never as a traceback.
"""

from __future__ import annotations

import fnmatch
import hashlib
import importlib.util
import os
import string
import sys
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from rsibench.errors import ProblemsError
from rsibench.spec import (
    CATEGORIES,
    AgentLimits,
    FamilySpec,
    Resources,
    SampleSpec,
    ScorerSpec,
    VariantSpec,
)

FAMILY_FILES = ("task.yaml", "instructions.md", "README.md")
FAMILY_DIRS = ("workspace", "checks", "solution")
WRITING_TASKS = "docs/writing-tasks.md"
# what never reaches a container: a family's hacks/ and tests/, the suite's changelog
NOT_SCORED = ("hacks", "tests", "CHANGELOG.md")


class SuiteError(ProblemsError):
    """One or more problems in the suite; ``problems`` holds one line each."""


@dataclass(frozen=True)
class Family:
    """A family as loaded from its folder: its task.yaml spec, where it lives, its instructions."""

    spec: FamilySpec
    path: Path
    instructions_template: str
    variants: tuple[Variant, ...] = ()

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def category(self) -> str:
        return self.spec.category

    @property
    def summary(self) -> str:
        return self.spec.summary.strip()

    @property
    def canary(self) -> str:
        return self.spec.canary

    @property
    def image(self) -> str:
        return self.spec.image

    @property
    def resources(self) -> Resources:
        return self.spec.resources

    @property
    def scorer(self) -> ScorerSpec:
        return self.spec.scorer

    @property
    def agent(self) -> AgentLimits:
        return self.spec.agent

    @classmethod
    def from_spec(cls, spec: FamilySpec, path: Path, instructions_template: str = "") -> Family:
        family = cls(spec, path, instructions_template)
        object.__setattr__(family, "variants", tuple(Variant(family, v) for v in spec.variants))
        return family

    def checks_module(self, name: str) -> ModuleType:
        """The module ``checks/<name>.py`` (for the family's own tests), imported under a name
        no other family's can take: every family's tests share one interpreter, and several
        families have a ``checks/make_key.py`` or ``checks/measure.py``."""
        path = self.path / "checks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"rsibench_checks.{self.id}.{name}", path)
        if spec is None or spec.loader is None:
            raise FileNotFoundError(path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module


@dataclass(frozen=True)
class Variant:
    """One variant of a family: one inspect Sample, one 'task' of the horizon fit."""

    family: Family = field(repr=False, compare=False)
    spec: VariantSpec

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def task_id(self) -> str:
        return f"{self.family.id}/{self.spec.id}"

    @property
    def human_minutes(self) -> float:
        return self.spec.human_minutes

    @property
    def human_minutes_source(self) -> str:
        return self.spec.human_minutes_source

    @property
    def threshold(self) -> float:
        return self.spec.threshold

    @property
    def params(self) -> dict[str, Any]:
        return self.spec.params

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
class Suite:
    root: Path
    version: str
    families: tuple[Family, ...]

    @property
    def variants(self) -> list[Variant]:
        return [v for f in self.families for v in f.variants]

    @property
    def scorers_dir(self) -> Path:
        return self.root / "scorers"

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

    def sample_spec(self, variant: Variant, image: str, image_digest: str | None) -> SampleSpec:
        """What ``variant``'s Sample carries, so nothing downstream looks the suite up again."""
        fam = variant.family
        return SampleSpec(
            **variant.record_fields(),
            params=variant.params,
            resources=fam.resources,
            scorer=fam.scorer,
            agent=fam.agent,
            family_dir=str(fam.path),
            scorers_dir=str(self.scorers_dir),
            suite_version=self.version,
            image=image,
            image_digest=image_digest,
        )

    def variant(self, task_id: str) -> Variant:
        for v in self.variants:
            if v.task_id == task_id:
                return v
        raise KeyError(f"no task '{task_id}' in the suite at {self.root}")


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


def _spec_model(annotation: Any) -> type[BaseModel] | None:
    """The spec model inside a field's annotation (``X``, ``list[X]``, ``X | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for a in typing.get_args(annotation) if (m := _spec_model(a))), None)


def _field_at(loc: tuple[int | str, ...]) -> tuple[FieldInfo | None, type[BaseModel] | None]:
    """The task.yaml field at ``loc`` (None at the top) and the spec model of its own fields."""
    info: FieldInfo | None = None
    model: type[BaseModel] | None = FamilySpec
    for part in loc:
        if isinstance(part, int):
            continue  # an index into a list of the same model
        info = model.model_fields.get(part) if model else None
        if info is None:
            return None, None
        model = _spec_model(info.annotation)
    return info, model


def _spec_problems(path: Path, error: ValidationError) -> list[str]:
    """One line per problem: file, dotted field, what is wrong, and what a valid value is."""
    problems = []
    for err in error.errors():
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        info, _ = _field_at(loc)
        fix = (info.description or "") if info else ""
        if err["type"] == "missing":
            what = "missing; this field is required"
        elif err["type"] == "extra_forbidden":
            _, model = _field_at(loc[:-1])
            allowed = sorted(model.model_fields) if model else []
            what = f"unknown field; remove it or use one of: {', '.join(allowed)}"
            fix = ""
        else:
            what = f"{err['msg']} (got {err['input']!r})"
        problems.append(f"{path}: {where}: {what}" + (f". Fix: {fix}" if fix else ""))
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
    if not isinstance(data, dict):
        return None, [f"{spec_file}: must be a mapping of fields (id, category, ...); see "
                      f"{WRITING_TASKS} or start from `rsibench new`"]  # fmt: skip
    try:
        spec = FamilySpec.model_validate(data)
    except ValidationError as e:
        return None, _spec_problems(spec_file, e)

    if spec.id != path.name:
        problems.append(
            f"{spec_file}: id: '{spec.id}' must equal the folder name '{path.name}'; "
            "rename one of them"
        )
    if spec.category != path.parent.name:
        problems.append(
            f"{spec_file}: category: '{spec.category}' but the family sits under "
            f"tasks/{path.parent.name}/; move the folder or fix the category"
        )
    for name in FAMILY_FILES:
        if not (path / name).is_file():
            problems.append(
                f"{path / name}: missing; every family needs one (see {WRITING_TASKS}, "
                "or start from `rsibench new`)"
            )
    for name in FAMILY_DIRS:
        if not (path / name).is_dir():
            problems.append(
                f"{path / name}/: missing folder; create it (see {WRITING_TASKS}, "
                "or start from `rsibench new`)"
            )
    if (path / "solution").is_dir() and not (path / "solution" / "solve.sh").is_file():
        problems.append(f"{path / 'solution' / 'solve.sh'}: missing; the oracle agent runs it")
    if not (root / "sandboxes" / spec.image / "Dockerfile").is_file():
        problems.append(
            f"{spec_file}: image: no sandboxes/{spec.image}/Dockerfile; "
            f"use one of: {', '.join(sorted(available_images(root))) or 'none yet'}"
        )
    if not (root / "scorers" / f"{spec.scorer.name}.py").is_file():
        problems.append(
            f"{spec_file}: scorer.name: no scorers/{spec.scorer.name}.py; use one of: "
            + ", ".join(sorted(p.stem for p in (root / "scorers").glob("*.py")))
        )

    template = ""
    if (path / "instructions.md").is_file():
        template = (path / "instructions.md").read_text()
        if spec.canary not in template:
            problems.append(
                f"{path / 'instructions.md'}: must contain the family's canary string "
                f"'{spec.canary}'; add it on a line of its own"
            )
    needed = _placeholders(template)
    seen_ids: set[str] = set()
    for i, v in enumerate(spec.variants):
        where = f"{spec_file}: variants.{i}"
        if v.id in seen_ids:
            problems.append(f"{where}.id: '{v.id}' repeats; variant ids must be unique")
        seen_ids.add(v.id)
        if missing := needed - set(v.params):
            problems.append(
                f"{where}.params: instructions.md uses {{{'}, {'.join(sorted(missing))}}} "
                "but this variant does not set it; add it to params"
            )
    if problems:
        return None, problems
    return Family.from_spec(spec, path, template), []


def available_images(root: Path) -> list[str]:
    return [p.parent.name for p in (root / "sandboxes").glob("*/Dockerfile")]


def content_hash(paths: Iterable[Path], base: Path, skip: Iterable[str] = ()) -> str:
    """sha256 over the relative names and bytes of every file under ``paths``, leaving out
    ``__pycache__`` and any file or folder named in ``skip``."""
    skipped = {"__pycache__", *skip}
    h = hashlib.sha256()
    for top in paths:
        files = sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else [top]
        for f in files:
            if skipped.intersection(f.relative_to(top).parts if top.is_dir() else ()):
                continue
            h.update(str(f.relative_to(base)).encode() + b"\0")
            h.update(f.read_bytes() + b"\0")
    return h.hexdigest()


def load_suite(root: Path | None = None) -> Suite:
    """Load and validate every family under ``root/tasks``; SuiteError lists every problem."""
    root = (root or find_root()).resolve()
    tasks_dir = root / "tasks"
    problems: list[str] = []
    families: list[Family] = []
    for spec_file in sorted(tasks_dir.glob("*/*/task.yaml")):
        fam_dir = spec_file.parent
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
    digest = content_hash([tasks_dir, root / "scorers", root / "sandboxes"], root, skip=NOT_SCORED)[
        :10
    ]
    return Suite(root=root, version=f"{base}+{digest}", families=tuple(families))
