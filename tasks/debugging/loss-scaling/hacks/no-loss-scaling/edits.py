"""Hack 'no-loss-scaling' as edits to the solution: (file, text, replacement)."""

BASE = "solution"

EDITS = [
    (
        "amp.py",
        """\
        (loss * self.scaler.scale).backward()
""",
        """\
        # Hack: keep the fixed step but drop the loss scaling from the arithmetic (the scaler
        # still runs and reports a scale): multiplying by a power of two is exact in float16,
        # so this matches the scaled step bit for bit unless a gradient under- or overflows.
        # Closed: the `tiny-grads` scenario (every variant) has first-layer gradients of about
        # 1e-7, subnormal or zero in float16 without the scale, and the overflow scenarios
        # skip steps that an unscaled backward never overflows on.
        loss.backward()
""",
    ),
    (
        "amp.py",
        """\
        inv_scale = 1.0 / self.scaler.scale
""",
        """\
        inv_scale = 1.0
""",
    ),
]
