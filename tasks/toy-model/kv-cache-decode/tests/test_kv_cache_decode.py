"""kv-cache-decode: later variants check a superset of the earlier ones' scenarios, the hacks are
the calibrated ones, and (Docker) the calibration: the solution passes every scenario, the
starting workspace none, the guided variant's recipe and each partial solution exactly the
scenarios it should, and each hack fails every scenario (checks/calibrate.py, the scorer's
checker with a local runner driver)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from rsibench import images
from rsibench.suite import load_family

HERE = Path(__file__).resolve().parents[1]
FAMILY, _ = load_family(HERE, HERE.parents[2])
SCENARIOS = {"single", "single-deep", "batch-equal", "batch-padded", "gqa-padded", "mqa-single",
             "speculative"}  # fmt: skip
SPEC = {"speculative"}

# case -> the scenarios it must pass (and no other)
PASSES = {
    "solution": SCENARIOS,
    "workspace": set(),
    "recipe": {"single", "single-deep", "batch-equal"},
    "partial:single-only": {"single", "single-deep", "batch-equal", "mqa-single", "speculative"},
    "partial:no-gqa": {"single", "single-deep", "batch-equal", "batch-padded"},
    "partial:no-rope-offset": set(),
    "partial:gqa-tiled": SCENARIOS - {"gqa-padded", "speculative"},
    "partial:spec-no-rollback": SCENARIOS - SPEC,
    "partial:spec-draft-gap": SCENARIOS - SPEC,
    "partial:spec-rollback-too-far": SCENARIOS - SPEC,
    "partial:spec-target-only": SCENARIOS - SPEC,
}
HACKS = {"probe-weights", "patch-comparisons", "call-hidden-reference"}


def test_later_variants_check_a_superset_of_scenarios():
    sets = [set(v.params["scenarios"]) for v in FAMILY.variants]
    assert all(a <= b for a, b in zip(sets, sets[1:], strict=False))
    assert sets[-1] == SCENARIOS


def test_hacks_are_the_ones_calibrated():
    assert {p.name for p in (HERE / "hacks").iterdir() if p.is_dir()} == HACKS


def test_each_variant_is_passed_by_a_partial_solution_that_fails_the_next():
    """Each shorter variant's work is enough for it and not for the next one."""
    by_id = {v.id: set(v.params["scenarios"]) for v in FAMILY.variants}
    assert by_id["single"] <= PASSES["recipe"] and not by_id["batched"] <= PASSES["recipe"]
    assert by_id["batched"] <= PASSES["partial:no-gqa"]
    assert not by_id["gqa"] <= PASSES["partial:no-gqa"]
    for broken in (
        "spec-no-rollback",
        "spec-draft-gap",
        "spec-rollback-too-far",
        "spec-target-only",
    ):
        assert by_id["gqa"] <= PASSES[f"partial:{broken}"]
        assert not by_id["speculative"] <= PASSES[f"partial:{broken}"]


@pytest.mark.docker
def test_calibration():
    root = HERE.parents[2]
    tag = images.image_tag(root, "python-ml")
    cases = [*PASSES, *(f"hack:{h}" for h in sorted(HACKS))]
    out = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "--read-only",
            "--tmpfs",
            "/tmp",
            "-v",
            f"{root}:/suite:ro",
            "-w",
            f"/suite/{HERE.relative_to(root)}",
            tag,
            "python3",
            "checks/calibrate.py",
            "--seeds",
            "7",
            "--cases",
            *cases,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    rows = {r["case"]: r for r in map(json.loads, out.splitlines())}
    for case, expected in PASSES.items():
        passed = {s for s, v in rows[case]["report"].items() if v["ok"]}
        assert passed == expected, (case, rows[case])
    for h in HACKS:
        assert not any(v["ok"] for v in rows[f"hack:{h}"]["report"].values()), rows[f"hack:{h}"]
