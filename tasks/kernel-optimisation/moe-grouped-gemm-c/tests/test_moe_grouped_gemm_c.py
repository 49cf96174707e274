"""moe-grouped-gemm-c: the scorer times checks/' copies of the starting and reference kernels,
each variant's stated targets are its threshold and peak fraction, the spec's expected output
is the definition, and the int32 group boundaries survive the float32 container the scorer's
shared file holds them in."""

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
        text = v.instructions()
        assert f"at least {v.params['score_target']}." in text
        fraction = v.params.get("min_peak_fraction")
        if fraction is not None:
            assert f"at least {fraction} of that peak" in " ".join(text.split())
        else:
            assert "of that peak" not in text


def test_group_boundaries_travel_as_raw_int32_bytes():
    spec = FAMILY.checks_module("kernel_spec")
    rng = np.random.default_rng(0)
    layouts = set()
    for case in spec.CORRECTNESS_CASES * 5:
        inputs = spec.make_inputs(rng, case)
        shapes = spec.shapes(case)
        assert {n: a.shape for n, a in inputs.items()} == {n: shapes[n] for n in inputs}
        assert all(a.dtype == np.float32 for a in inputs.values())
        # a copy into a float32 buffer, as the scorer writes it, keeps every boundary's bytes
        copy = np.full(shapes["offsets"], np.nan, dtype=np.float32)
        copy[...] = inputs["offsets"]
        assert copy.tobytes() == inputs["offsets"].tobytes()
        off = spec.boundaries({"offsets": copy})
        assert off.dtype == np.int32 and off[0] == 0 and off[-1] == case["t"]
        sizes = np.diff(off)
        assert (sizes >= 0).all()
        layouts.add(case["groups"])
        if case["groups"] == "one":
            assert (sizes > 0).sum() == 1
        if case["groups"] == "singletons" and case["t"] <= case["e"]:
            assert set(sizes.tolist()) <= {0, 1}
    assert layouts == {"routed", "one", "singletons"}


def test_routed_groups_are_ragged_and_fresh():
    spec = FAMILY.checks_module("kernel_spec")
    rng = np.random.default_rng(1)
    draws = [spec.group_sizes(rng, spec.TIMING_CASE) for _ in range(50)]
    assert len({tuple(s) for s in draws}) == 50  # a fresh layout every call
    assert any((s == 0).any() for s in draws)  # empty experts happen on the timed shape
    assert all(s.sum() == spec.TIMING_CASE["t"] for s in draws)
    assert np.mean([s.max() / s.mean() for s in draws]) > 1.5  # uneven, as a router's


def test_expected_is_the_definition():
    spec = FAMILY.checks_module("kernel_spec")
    rng = np.random.default_rng(2)
    for case in spec.CORRECTNESS_CASES[:7]:
        inputs = spec.make_inputs(rng, case)
        off = spec.boundaries(inputs)
        x = inputs["x"].astype(np.float64)
        w = inputs["w"].astype(np.float64)
        d, f = case["d"], case["f"]
        rows = range(0, case["t"], max(1, case["t"] // 5))
        want = []
        for i in rows:
            g = int(np.searchsorted(off, i, side="right")) - 1  # the expert owning token i
            want.append([sum(x[i, c] * w[g, c, j] for c in range(d)) for j in range(min(f, 4))])
        got = spec.expected(inputs, case)["out"][list(rows), : min(f, 4)]
        np.testing.assert_allclose(got, np.array(want), rtol=1e-12, atol=1e-12)
        assert spec.useful_flops(case) == 2 * case["t"] * d * f
    assert not hasattr(spec, "flops")  # no scorer roofline (README: "Roofline")
