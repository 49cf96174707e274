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
SHAPES = [(1, 1, 1), (2, 7, 5), (3, 37, 24), (1, 129, 67), (4, 512, 64)]
TIMED = (4, 512, 64)


def build(source: Path, out_dir: Path):
    lib = out_dir / (source.stem + ".so")
    subprocess.run(["gcc", *CFLAGS, "-o", str(lib), str(source), "-lm"], check=True)
    fn = ctypes.CDLL(str(lib)).attention_forward
    fn.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_int] * 3
    fn.restype = None
    return fn


def run(fn, q, k, v):
    out = np.empty_like(q)
    fn(q.ctypes.data, k.ctypes.data, v.ctypes.data, out.ctypes.data, *q.shape)
    return out


def exact(q, k, v):
    q, k, v = (a.astype(np.float64) for a in (q, k, v))
    t, d = q.shape[1:]
    s = q @ k.transpose(0, 2, 1) / np.sqrt(d)
    s[:, ~np.tri(t, dtype=bool)] = -np.inf
    p = np.exp(s - s.max(-1, keepdims=True))
    return (p / p.sum(-1, keepdims=True)) @ v


def inputs(rng, shape):
    return [rng.standard_normal(shape, dtype=np.float32) for _ in range(3)]


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
        for shape in SHAPES:
            q, k, v = inputs(rng, shape)
            want = exact(q, k, v)
            err = np.abs(run(fns["kernel.c"], q, k, v) - want) / (1e-4 + 1e-4 * np.abs(want))
            status = "ok" if err.max() <= 1 else "WRONG"
            print(f"shape {shape}: error {err.max():.3g} x tolerance  {status}")
        times = {name: [] for name in fns}
        for _ in range(args.calls):
            for name, fn in fns.items():
                q, k, v = inputs(rng, TIMED)
                t0 = time.perf_counter()
                run(fn, q, k, v)
                times[name].append(time.perf_counter() - t0)
        for name, ts in times.items():
            print(f"{name}: median {1e3 * statistics.median(ts):.2f} ms on {TIMED}")
        if args.baseline:
            ratio = statistics.median(times[str(args.baseline)]) / statistics.median(
                times["kernel.c"]
            )
            print(f"speedup of kernel.c over {args.baseline}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
