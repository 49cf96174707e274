"""Check kernel.c against NumPy and time it (a convenience; the real scoring is hidden).

python3 bench.py                      # check and time kernel.c
python3 bench.py --baseline old.c     # also time old.c, interleaved, and print the speedup
"""

import argparse
import ctypes
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

CFLAGS = ["-O2", "-shared", "-fPIC", "-std=gnu11"]
SHAPES = [(1, 1, 1), (2, 7, 5), (3, 37, 24), (1, 65, 9), (2, 129, 67), (4, 256, 64)]
TIMED = (4, 256, 64)
NAMES = ("q", "k", "v", "dout", "out", "dq", "dk", "dv")


def build(source: Path, out_dir: Path):
    lib = out_dir / f"{len(list(out_dir.iterdir()))}-{source.stem}.so"  # two may share a stem
    subprocess.run(["gcc", *CFLAGS, "-o", str(lib), str(source), "-lm"], check=True)
    fn = ctypes.CDLL(str(lib)).attention_fwd_bwd
    fn.argtypes = [ctypes.c_void_p] * 8 + [ctypes.c_int] * 3
    fn.restype = None
    return fn


def run(fn, q, k, v, g):
    outs = [np.full_like(q, np.nan) for _ in range(4)]
    fn(*(a.ctypes.data for a in (q, k, v, g, *outs)), *q.shape)
    return outs


def exact(q, k, v, g):
    """out, dq, dk, dv in float64 (autograd by hand)."""
    q, k, v, g = (a.astype(np.float64) for a in (q, k, v, g))
    t, d = q.shape[1:]
    scale = 1 / np.sqrt(d)
    s = q @ k.transpose(0, 2, 1) * scale
    s[:, ~np.tri(t, dtype=bool)] = -np.inf
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    out = p @ v
    dp = g @ v.transpose(0, 2, 1)
    ds = p * (dp - (g * out).sum(-1, keepdims=True)) * scale
    return [out, ds @ k, ds.transpose(0, 2, 1) @ q, p.transpose(0, 2, 1) @ g]


def inputs(rng, shape):
    return [rng.standard_normal(shape, dtype=np.float32) for _ in range(4)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", type=Path)
    ap.add_argument("--calls", type=int, default=10)
    args = ap.parse_args()
    rng = np.random.default_rng()
    # built next to kernel.c: /tmp in the sandbox does not allow loading libraries from it
    with tempfile.TemporaryDirectory(prefix=".bench-", dir=".") as tmp:
        fns = {"kernel.c": build(Path("kernel.c"), Path(tmp))}
        if args.baseline:
            fns[str(args.baseline)] = build(args.baseline, Path(tmp))
        for shape in SHAPES:
            x = inputs(rng, shape)
            want = exact(*x)
            got = run(fns["kernel.c"], *x)
            worst = max(
                float(np.max(np.abs(gt - w) / (1e-3 + 1e-3 * np.abs(w))))
                for gt, w in zip(got, want)
            )
            print(f"shape {shape}: worst error {worst:.3g} x tolerance", "ok" if worst <= 1 else "FAIL")
        times = {name: [] for name in fns}
        for _ in range(args.calls):
            for name, fn in fns.items():
                x = inputs(rng, TIMED)
                t0 = time.perf_counter()
                run(fn, *x)
                times[name].append(time.perf_counter() - t0)
        for name, ts in times.items():
            print(f"{name}: median {1e3 * statistics.median(ts):.2f} ms on {TIMED}")
        if args.baseline:
            speedup = statistics.median(times[str(args.baseline)]) / statistics.median(times["kernel.c"])
            print(f"speedup over {args.baseline}: {speedup:.2f}x")


if __name__ == "__main__":
    main()
