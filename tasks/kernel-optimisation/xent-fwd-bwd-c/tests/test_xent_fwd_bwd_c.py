"""xent-fwd-bwd-c: the scorer times checks/' copies of the starting and reference kernels,
each variant's stated target is its threshold, and the spec's expected() is the definition
(per-row log-sum-exp minus the target logit; softmax minus the one-hot target), computed
without overflow for the shifted cases."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

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
        assert f"at least {v.params['score_target']}." in v.instructions()


def test_inputs_have_the_declared_shapes_and_exact_targets():
    spec = FAMILY.checks_module("kernel_spec")
    rng = np.random.default_rng(0)
    for case in [*spec.CORRECTNESS_CASES, spec.TIMING_CASE]:
        inputs = spec.make_inputs(rng, case)
        shapes = spec.shapes(case)
        assert {n: a.shape for n, a in inputs.items()} == {n: shapes[n] for n in inputs}
        assert all(a.dtype == np.float32 for a in inputs.values())
        t = inputs["targets"]
        assert (t == np.round(t)).all() and t.min() >= 0 and t.max() < case["v"]


def test_expected_is_the_definition():
    spec = FAMILY.checks_module("kernel_spec")
    rng = np.random.default_rng(1)
    for case in spec.CORRECTNESS_CASES:
        if case["v"] > 5003:
            continue
        inputs = spec.make_inputs(rng, case)
        got = spec.expected(inputs, case)
        assert all(np.isfinite(a).all() for a in got.values())
        for i in range(min(int(case["n"]), 3)):
            row = [float(x) for x in inputs["logits"][i]]
            t = int(inputs["targets"][i])
            shift = max(row)  # exp(±300) overflows float32; math.fsum keeps the sum exact
            total = math.fsum(math.exp(x - shift) for x in row)
            lse = shift + math.log(total)
            assert math.isclose(float(got["loss"][i]), lse - row[t], rel_tol=1e-12, abs_tol=1e-9)
            for j in range(min(len(row), 64)):
                want = math.exp(row[j] - lse) - (1.0 if j == t else 0.0)
                assert math.isclose(float(got["dlogits"][i, j]), want, rel_tol=1e-9, abs_tol=1e-15)
