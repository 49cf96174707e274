"""Checks particular to lm-trainer-hunt (the rules every family keeps are checked for all of them)."""

from __future__ import annotations

from pathlib import Path

from rsibench.suite import load_family

HERE = Path(__file__).resolve().parents[1]
FAMILY, _ = load_family(HERE, HERE.parents[2])


def test_family_loads():
    assert FAMILY is not None and FAMILY.id == HERE.name
