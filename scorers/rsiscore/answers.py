"""Reading a candidate's answer file (a config, a prediction, a choice) fail-closed.

An answer is data, never code: strict JSON (no NaN or Infinity, no duplicate keys, UTF-8, a
size cap), read without following links, then checked field by field against a spec. Anything
malformed raises ``CandidateError`` with a reason that names the file and the field; the
scorer's ``main`` turns it into a failed verdict with that reason.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any

from rsiscore.candidate import CandidateError, read_workspace_file
from rsiscore.verdict import Verdict

# A field's rule: (type, low, high) for numbers, (str,) for any string, or a tuple of the
# allowed values (strings, numbers, booleans).
FieldRule = tuple[Any, ...]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ValueError(f"duplicate keys {dupes}")
    return dict(pairs)


def parse_json(data: bytes, name: str) -> Any:
    """Strict JSON from the candidate's bytes."""
    try:
        return json.loads(
            data.decode("utf-8"), parse_constant=_no_constant, object_pairs_hook=_no_duplicates
        )
    except (UnicodeDecodeError, ValueError) as e:  # json.JSONDecodeError is a ValueError
        raise CandidateError(f"{name}: not valid JSON ({e})") from None


def read_json(workspace: Path, name: str, max_bytes: int = 64 * 1024) -> Any:
    """The parsed top-level workspace file ``name``."""
    return parse_json(read_workspace_file(workspace, name, max_bytes), name)


def check_fields(answer: Any, spec: dict[str, FieldRule], name: str) -> dict[str, Any]:
    """``answer`` as a dict with exactly the keys of ``spec``, each obeying its rule."""
    if not isinstance(answer, dict):
        raise CandidateError(f"{name}: must be a JSON object")
    unknown, missing = sorted(set(answer) - set(spec)), sorted(set(spec) - set(answer))
    if unknown or missing:
        raise CandidateError(f"{name}: unknown keys {unknown}, missing keys {missing}")
    out: dict[str, Any] = {}
    for key, rule in spec.items():
        value = answer[key]
        if rule and rule[0] in (int, float):
            kind, low, high = rule
            ok = isinstance(value, int) or (kind is float and isinstance(value, float))
            if isinstance(value, bool) or not ok:
                raise CandidateError(f"{name}: {key} must be a {kind.__name__}")
            value = kind(value)
            if not (math.isfinite(value) and low <= value <= high):
                raise CandidateError(f"{name}: {key} must be between {low} and {high}")
        elif rule == (str,):
            if not isinstance(value, str):
                raise CandidateError(f"{name}: {key} must be a string")
        elif not any(type(value) is type(r) and value == r for r in rule):  # True is not 1
            raise CandidateError(f"{name}: {key} must be one of {list(rule)}")
        out[key] = value
    return out


def read_answers(
    workspace: Path,
    name: str,
    known: Collection[str],
    asked: Collection[str],
    valid: Callable[[str, Any], bool],
    what: str,
    invalid: str,
) -> dict[str, Any]:
    """The answer file ``name`` as an object mapping questions to answers (each a ``what``):
    only questions in ``known``, every one in ``asked``, each answer ``valid(question, answer)``;
    ``invalid`` ends the message that names those that are not."""
    answer = read_json(workspace, name)
    if not isinstance(answer, dict):
        raise CandidateError(f"{name}: must be a JSON object of question -> {what}")
    unknown, missing = sorted(set(answer) - set(known)), sorted(set(asked) - set(answer))
    if unknown or missing:
        raise CandidateError(f"{name}: unknown questions {unknown}, missing {missing}")
    bad = sorted(q for q, value in answer.items() if not valid(q, value))
    if bad:
        raise CandidateError(f"{name}: answers to {bad} {invalid}")
    return answer


def is_number(value: Any) -> bool:
    """A finite JSON number (not a boolean)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_numeric_entry(entry: Any) -> bool:
    """A key entry for a numeric question: {"value": number, "tolerance": number, ...}."""
    return isinstance(entry, dict) and "value" in entry and "tolerance" in entry


def graded(asked: Sequence[str], right: Collection[str], **details: Any) -> Verdict:
    """A well-formed answer's verdict: the questions right, and their fraction of those asked."""
    return Verdict(
        True,
        len(right),
        len(right) / len(asked),
        {
            "asked": len(asked),
            "right": len(right),
            "wrong": sorted(set(asked) - set(right)),
            **details,
        },
    )
