"""attention-fwd-bwd-c: the scorer times checks/' copies of the starting and reference kernels,
and each variant's stated target is its threshold."""

from __future__ import annotations

from pathlib import Path

from rsibench.suite import load_family

HERE = Path(__file__).resolve().parents[1]
FAMILY, _ = load_family(HERE, HERE.parents[2])


def test_hidden_copies_are_the_visible_kernels():
    start, reference = HERE / "checks/start.c", HERE / "checks/reference.c"
    assert start.read_bytes() == (HERE / "workspace/kernel.c").read_bytes()
    assert reference.read_bytes() == (HERE / "solution/kernel.c").read_bytes()


def test_targets_in_instructions_match_thresholds():
    for v in FAMILY.variants:
        assert float(v.params["score_target"]) == v.threshold
