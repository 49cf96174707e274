"""int8-weight-gemm-c: the scorer times checks/' copies of the starting and reference kernels,
each variant's stated target is its threshold, and the spec's int8 weights survive the float32
container the scorer's shared file holds them in."""

from __future__ import annotations

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


def test_weights_travel_as_raw_bytes_and_expected_is_the_definition():
    spec = FAMILY.checks_module("kernel_spec")
    rng = np.random.default_rng(0)
    for case in spec.CORRECTNESS_CASES:
        inputs = spec.make_inputs(rng, case)
        shapes = spec.shapes(case)
        assert {n: a.shape for n, a in inputs.items()} == {n: shapes[n] for n in inputs}
        assert all(a.dtype == np.float32 for a in inputs.values())
        # a copy into a float32 buffer, as the scorer writes it, keeps every weight byte
        copy = np.full(shapes["w"], np.nan, dtype=np.float32)
        copy[...] = inputs["w"]
        assert copy.tobytes() == inputs["w"].tobytes()
        m, n, k = case["m"], case["n"], case["k"]
        w = spec.weights(inputs, case)
        assert w.shape == (n, k) and w.min() >= -127
        x = inputs["x"].astype(np.float64)
        rows, cols = min(m, 2), min(n, 3)
        want = [
            [float(inputs["scale"][j]) * sum(x[i, c] * float(w[j, c]) for c in range(k))
             for j in range(cols)]
            for i in range(rows)
        ]  # fmt: skip
        got = spec.expected(inputs, case)["out"][:rows, :cols]
        np.testing.assert_allclose(got, np.array(want), rtol=1e-12, atol=1e-12)
