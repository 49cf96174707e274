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
SHAPES = [(1, 1, 1), (1, 7, 5), (3, 33, 17), (17, 100, 67), (1, 515, 4096), (32, 1024, 1024)]
TIMED = (32, 1024, 1024)  # (m, n, k)


def build(source: Path, out_dir: Path):
    lib = out_dir / (source.stem + ".so")
    subprocess.run(["gcc", *CFLAGS, "-o", str(lib), str(source), "-lm"], check=True)
    fn = ctypes.CDLL(str(lib)).w8_linear
    fn.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_int] * 3
    fn.restype = None
    return fn


def run(fn, x, w, scale):
    out = np.empty((x.shape[0], w.shape[0]), dtype=np.float32)
    fn(x.ctypes.data, w.ctypes.data, scale.ctypes.data, out.ctypes.data, x.shape[0], *w.shape)
    return out


def exact(x, w, scale):
    return (x.astype(np.float64) @ w.astype(np.float64).T) * scale.astype(np.float64)


def inputs(rng, shape):
    m, n, k = shape
    x = rng.standard_normal((m, k), dtype=np.float32)
    w = rng.integers(-127, 128, size=(n, k), dtype=np.int8)
    scale = (rng.uniform(0.5, 2.0, size=n) * 2.5 / (127 * np.sqrt(k))).astype(np.float32)
    return x, w, scale


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
            x, w, scale = inputs(rng, shape)
            want = exact(x, w, scale)
            got = run(fns["kernel.c"], x, w, scale)
            err = np.abs(got - want) / (1e-4 + 1e-4 * np.abs(want))
            status = "ok" if np.isfinite(got).all() and err.max() <= 1 else "WRONG"
            print(f"(m, n, k) = {shape}: error {err.max():.3g} x tolerance  {status}")
        times = {name: [] for name in fns}
        for _ in range(args.calls):
            for name, fn in fns.items():
                x, w, scale = inputs(rng, TIMED)
                t0 = time.perf_counter()
                run(fn, x, w, scale)
                times[name].append(time.perf_counter() - t0)
        for name, ts in times.items():
            print(f"{name}: median {1e3 * statistics.median(ts):.2f} ms on (m, n, k) = {TIMED}")
        if args.baseline:
            ratio = statistics.median(times[str(args.baseline)]) / statistics.median(
                times["kernel.c"]
            )
            print(f"speedup of kernel.c over {args.baseline}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
