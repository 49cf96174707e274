"""Model metadata: display name, organisation and public release date, from ``models.yaml``.

Run records name a model only by its inspect model string; the leaderboard needs a readable name
and the trend needs a release date. Both come from one hand-edited file, validated here. Every
problem is reported at once with the file, the model, the field and a fix, never as a traceback.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rsibench.errors import ProblemsError

FIELDS = ("name", "organisation", "release_date")
DATE_FIX = "write it as YYYY-MM-DD, or null when the model has no public release date"


class ModelsFileError(ProblemsError):
    """One or more problems in a models file; ``problems`` holds one line each."""


@dataclass(frozen=True)
class ModelInfo:
    id: str
    name: str
    organisation: str
    release_date: dt.date | None  # None: a reference agent or unreleased model, kept off the trend


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects a repeated key (PyYAML would silently keep the last entry)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"model id {key!r} appears twice; keep one entry",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# Dates stay text, checked in _release_date: PyYAML's own timestamps fail on a date such as
# 2024-13-01 with a bare ValueError that names neither the model nor the field.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _release_date(value: Any) -> tuple[dt.date | None, str | None]:
    """The release date and, when ``value`` is not a valid one, what is wrong with it."""
    if value is None:
        return None, None
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return dt.date.fromisoformat(value), None
        except ValueError:
            pass
    return None, f"{value!r} is not a date; {DATE_FIX}"


def _parse_models(data: Any, where: str) -> dict[str, ModelInfo]:
    """Validate the parsed YAML of a models file; ``where`` names the file in messages."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ModelsFileError(
            [f"{where}: expected a mapping of model id to its entry, found {type(data).__name__}"]
        )
    problems: list[str] = []
    models: dict[str, ModelInfo] = {}
    for model_id, entry in data.items():
        here = f"{where}: model {model_id!r}"
        if not isinstance(model_id, str) or not model_id:
            problems.append(f"{here}: the model id must be a non-empty string (quote it)")
            continue
        if not isinstance(entry, dict):
            problems.append(
                f"{here}: expected a mapping with fields {', '.join(FIELDS)}, "
                f"found {type(entry).__name__}"
            )
            continue
        bad = len(problems)
        for field in sorted(entry.keys() - set(FIELDS), key=str):
            problems.append(
                f"{here}: field {field!r}: unknown field; the fields are {', '.join(FIELDS)}"
            )
        for field in ("name", "organisation"):
            value = entry.get(field)
            if not isinstance(value, str) or not value.strip():
                problems.append(
                    f"{here}: field {field!r}: missing or not text; give it as non-empty text"
                )
        if "release_date" not in entry:
            problems.append(f"{here}: field 'release_date': missing; {DATE_FIX}")
        released, problem = _release_date(entry.get("release_date"))
        if problem:
            problems.append(f"{here}: field 'release_date': {problem}")
        if len(problems) == bad:
            models[model_id] = ModelInfo(
                id=model_id,
                name=entry["name"].strip(),
                organisation=entry["organisation"].strip(),
                release_date=released,
            )
    if problems:
        raise ModelsFileError(problems)
    return models


def load_models(path: Path) -> dict[str, ModelInfo]:
    """Read and validate a models file; raises ModelsFileError naming every problem."""
    try:
        text = path.read_text()
    except OSError as e:
        raise ModelsFileError([f"{path}: cannot read the models file: {e.strerror or e}"]) from e
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark else ""
        reason = getattr(e, "problem", None) or str(e)
        raise ModelsFileError([f"{path}{line}: not valid YAML: {reason}; fix the syntax"]) from e
    return _parse_models(data, str(path))
