"""The task spec: one typed model of ``task.yaml``, and of what travels with each inspect Sample.

``FamilySpec`` is the single description of a family's ``task.yaml``; the JSON Schema shipped in
``schema/task.schema.json`` is generated from it (``rsibench.spec`` run as a script rewrites it, and
a test fails when the two disagree). Every field's description says what a valid value is, so
that a loader error can always name the fix. ``SampleSpec`` is the part of a variant that its
Sample carries in ``metadata``: solvers, the scorer and the run records read it from there and
never look the suite up again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

Category = Literal["debugging", "kernel-optimisation", "toy-model", "research-judgement"]
CATEGORIES: tuple[str, ...] = get_args(Category)
ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
SIZE_PATTERN = r"^[0-9]+(k|m|g)$"
CANARY_PATTERN = r"^RSIBENCH CANARY [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
SCHEMA_FILE = Path(__file__).with_name("schema") / "task.schema.json"


class Spec(BaseModel):
    """Strict (no silent coercion of "45" to 45), closed (no unknown keys) and immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Resources(Spec):
    cpus: float = Field(gt=0, le=64, description="CPUs for each container, e.g. 1 or 0.5.")
    memory: str = Field(
        pattern=SIZE_PATTERN, description="Memory cap per container with a unit, e.g. 2g or 512m."
    )
    pids: int = Field(ge=16, description="Process cap per container, an integer >= 16, e.g. 128.")
    disk: str = Field(
        pattern=SIZE_PATTERN,
        description="Writable space for /workspace with a unit, e.g. 256m.",
    )
    gpus: int = Field(default=0, ge=0, description="GPUs per container; 0 for CPU-only tasks.")


class ScorerSpec(Spec):
    name: str = Field(
        pattern=r"^[a-z0-9_]+$",
        description="A scorer program: scorers/<name>.py, e.g. behaviour_match.",
    )
    timeout: int = Field(
        default=600,
        ge=10,
        le=1800,
        description="Seconds one scoring may take, 10 to 1800; the oracle's scoring must take "
        "at most half of it.",
    )
    timed: bool = Field(
        default=False,
        description="true when the scorer measures speed: its scoring never runs beside another "
        "sample's scoring.",
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="A mapping passed to the scorer in params.json."
    )


class AgentLimits(Spec):
    working_minutes: float = Field(
        gt=0, description="Working-time budget in minutes (excludes waiting on the model API)."
    )
    tokens: int | None = Field(default=None, ge=1000, description="Token budget, e.g. 2000000.")
    messages: int | None = Field(default=None, ge=2, description="Message budget, e.g. 300.")
    command_timeout: int = Field(
        default=600, ge=1, description="Seconds one bash or python tool call may run, e.g. 600."
    )


class VariantSpec(Spec):
    id: str = Field(
        pattern=ID_PATTERN, description="Variant id: lowercase letters, digits and '-'."
    )
    human_minutes: float = Field(
        gt=0,
        description="Minutes a skilled ML engineer needs, a number > 0, e.g. 45; the family "
        "README says why, step by step.",
    )
    human_minutes_source: Literal["estimate", "baseline"] = Field(
        description="'estimate' until timed human baselines exist, then 'baseline'."
    )
    human_minutes_baselines: int | None = Field(
        default=None,
        ge=1,
        description="How many successful human baselines the human_minutes come from "
        "(written by `rsibench baseline apply`).",
    )
    threshold: float = Field(
        description="Success iff the normalised score is at least this number, e.g. 1.0."
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="A mapping that fills {placeholders} in instructions.md and is passed to "
        "the scorer.",
    )


class FamilySpec(Spec):
    """A task family's task.yaml."""

    model_config = ConfigDict(title="rsibench task family (task.yaml)")

    id: str = Field(pattern=ID_PATTERN, description="Family id; must equal the folder name.")
    category: Category = Field(description="Must equal the parent folder name.")
    summary: str = Field(min_length=10, description="One or two sentences on what the agent does.")
    canary: str = Field(
        pattern=CANARY_PATTERN,
        description="Contamination canary 'RSIBENCH CANARY <uuid4>'; make one with "
        "python3 -c 'import uuid; print(uuid.uuid4())'.",
    )
    image: str = Field(
        pattern=ID_PATTERN, description="A folder under sandboxes/ with a Dockerfile."
    )
    resources: Resources
    scorer: ScorerSpec
    agent: AgentLimits
    variants: list[VariantSpec] = Field(min_length=1, description="One entry per variant.")


class SampleSpec(Spec):
    """What one Sample carries: the variant, its family's settings, and where its files are."""

    task_id: str
    family: str
    variant: str
    category: Category
    human_minutes: float
    human_minutes_source: str
    threshold: float
    params: dict[str, Any]
    resources: Resources
    scorer: ScorerSpec
    agent: AgentLimits
    family_dir: str  # host path of the family folder (solution/ for the oracle, checks/)
    scorers_dir: str  # host path of the suite's scorers/
    suite_version: str
    image: str  # the content-hashed tag
    image_digest: str | None

    def record_fields(self) -> dict[str, Any]:
        """What every run record says about the task it attempted."""
        return {
            "suite_version": self.suite_version,
            "task_id": self.task_id,
            "family": self.family,
            "variant": self.variant,
            "category": self.category,
            "human_minutes": self.human_minutes,
            "human_minutes_source": self.human_minutes_source,
            "threshold": self.threshold,
            "image": self.image,
            "image_digest": self.image_digest,
        }


def task_schema() -> dict[str, Any]:
    """The JSON Schema of task.yaml, generated from FamilySpec."""
    schema = FamilySpec.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://rsibench.dev/schema/task.schema.json",
        **schema,
    }


def schema_text() -> str:
    return json.dumps(task_schema(), indent=2) + "\n"


if __name__ == "__main__":  # python -m rsibench.spec: regenerate the shipped schema
    SCHEMA_FILE.write_text(schema_text())
    print(f"wrote {SCHEMA_FILE}")
