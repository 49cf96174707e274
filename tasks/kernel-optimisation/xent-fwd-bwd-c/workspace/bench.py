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
# (n, v, logit spread, offset added to every logit)
SHAPES = [(1, 1, 2, 0), (3, 7, 2, 0), (5, 33, 8, 0), (7, 1023, 2, 0), (2, 4099, 2, 300),
          (2, 3001, 2, -300), (4, 5003, 2, 0), (4, 100, 8, 0), (16, 50257, 2, 0)]  # fmt: skip
TIMED = (16, 50257)  # (n, v)
ATOL, RTOL = 1e-6, 1e-5


def build(source: Path, out_dir: Path):
    lib = out_dir / (source.stem + ".so")
    subprocess.run(["gcc", *CFLAGS, "-o", str(lib), str(source), "-lm"], check=True)
    fn = ctypes.CDLL(str(lib)).xent_fwd_bwd
    fn.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_int] * 2
    fn.restype = None
    return fn


def run(fn, logits, targets):
    n, v = logits.shape
    loss = np.empty(n, dtype=np.float32)
    dlogits = np.empty((n, v), dtype=np.float32)
    fn(logits.ctypes.data, targets.ctypes.data, loss.ctypes.data, dlogits.ctypes.data, n, v)
    return loss, dlogits


def exact(logits, targets):
    x = logits.astype(np.float64)
    t = targets.astype(np.int64)
    rows = np.arange(x.shape[0])
    m = x.max(axis=1, keepdims=True)
    e = np.exp(x - m)
    s = e.sum(axis=1, keepdims=True)
    d = e / s
    d[rows, t] -= 1.0
    return (m[:, 0] - x[rows, t]) + np.log(s[:, 0]), d


def inputs(rng, n, v, sigma=2.0, offset=0.0):
    logits = (rng.standard_normal((n, v), dtype=np.float32) * sigma + offset).astype(np.float32)
    targets = rng.integers(0, v, size=n).astype(np.float32)
    return logits, targets


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", type=Path)
    ap.add_argument("--calls", type=int, default=20)
    args = ap.parse_args()
    rng = np.random.default_rng()
    # built next to kernel.c: /tmp in the sandbox does not allow loading libraries from it
    with tempfile.TemporaryDirectory(prefix=".bench-", dir=".") as tmp:
        fns = {"kernel.c": build(Path("kernel.c"), Path(tmp))}
        if args.baseline:
            fns[str(args.baseline)] = build(args.baseline, Path(tmp))
        for n, v, sigma, offset in SHAPES:
            logits, targets = inputs(rng, n, v, sigma, offset)
            got = run(fns["kernel.c"], logits, targets)
            worst = 0.0
            for g, w in zip(got, exact(logits, targets), strict=True):
                if not np.isfinite(g).all():
                    worst = float("inf")
                    break
                worst = max(worst, float((np.abs(g - w) / (ATOL + RTOL * np.abs(w))).max()))
            status = "ok" if worst <= 1 else "WRONG"
            print(f"(n, v) = ({n}, {v}), spread {sigma}, offset {offset:+}: "
                  f"error {worst:.3g} x tolerance  {status}")  # fmt: skip
        times = {name: [] for name in fns}
        for _ in range(args.calls):
            for name, fn in fns.items():
                logits, targets = inputs(rng, *TIMED)
                t0 = time.perf_counter()
                run(fn, logits, targets)
                times[name].append(time.perf_counter() - t0)
        for name, ts in times.items():
            print(f"{name}: median {1e3 * statistics.median(ts):.2f} ms on (n, v) = {TIMED}")
        if args.baseline:
            ratio = statistics.median(times[str(args.baseline)]) / statistics.median(
                times["kernel.c"]
            )
            print(f"speedup of kernel.c over {args.baseline}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
