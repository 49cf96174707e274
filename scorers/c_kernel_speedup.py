"""Scorer: a C kernel's speedup over the starting kernel, relative to the reference solution.

Reads only the candidate's C source; compiles it itself, as the candidate user, with fixed
flags; checks it on fresh random inputs of several shapes (against a float64 NumPy reference)
before any timing; then times the candidate, the untouched starting kernel and the reference
kernel in interleaved blocks of the same run, checking every timed output too.

    score_raw        = candidate speedup over the starting kernel (median call times)
    score_normalised = ln(speedup_candidate) / ln(speedup_reference)    (start 0, reference 1)

The family's checks/ hold the starting and reference sources and a spec module (signature,
shapes, input generator, float64 reference, tolerances); task.yaml's scorer.params name them.
Each kernel runs in its own process (see rsiscore/kernel_runner.py) that shares one mapped file
with the scorer; the scorer's own clock brackets each call from before it writes the inputs to
the answer, so no number the candidate's process could print or tamper with is trusted.
The candidate's process may not start threads or processes (RLIMIT_NPROC = 1): kernels are
timed single-threaded, like the reference.

The candidate's processes (its compiler, then one per block) belong to one ``rsiscore``
``Run``: they can read its root-owned ``code`` folder (the public kernel_runner.py, the
candidate's compiled library, the file it shares with the scorer) and write only a fresh private
temporary folder of their own; the trusted kernels are built and loaded from a root-only folder
under /verifier. The timing protocol is ``rsiscore.timing``'s.
"""

from __future__ import annotations

import os

# before NumPy loads: BLAS helper threads would spin on the CPU the kernels are timed on
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"

import contextlib
import math
import mmap
import secrets
import select
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rsiscore import candidate as cand  # noqa: E402
from rsiscore import timing  # noqa: E402
from rsiscore.trusted import load_module  # noqa: E402
from rsiscore.verdict import Args, Verdict, main  # noqa: E402

PAGE = 4096
SENTINEL = 0xFF  # every byte 0xFF: a float32 NaN, so an unwritten output cannot pass


class KernelFailure(Exception):
    """The candidate's kernel crashed, hung, or broke the protocol."""


class Mapping:
    """The file shared with one kernel process: each array at a fixed page-aligned offset,
    sized for the largest case, with a guard page after it."""

    def __init__(self, path: Path, spec: ModuleType, cases: list[dict[str, int]], uid: int):
        self.spec = spec
        self.offsets: dict[str, int] = {}
        offset = PAGE
        for name in spec.ARRAYS:
            self.offsets[name] = offset
            biggest = max(4 * math.prod(spec.shapes(c)[name]) for c in cases)
            offset += (biggest + PAGE - 1) // PAGE * PAGE + PAGE
        self.size = offset
        with open(path, "wb") as f:
            f.truncate(self.size)
        os.chown(path, uid, -1)
        self._fd = os.open(path, os.O_RDWR)
        self._mm = mmap.mmap(self._fd, self.size)
        self.raw = np.frombuffer(self._mm, dtype=np.uint8)

    def view(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        return np.frombuffer(
            self._mm, dtype=np.float32, count=math.prod(shape), offset=self.offsets[name]
        ).reshape(shape)

    def request(self, case: dict[str, int]) -> bytes:
        """The runner's request: every array's offset, then the int arguments."""
        offsets = np.array([self.offsets[a] for a in self.spec.ARRAYS], dtype="<i8")
        ints = np.array([case[i] for i in self.spec.INTS], dtype="<i4")
        return offsets.tobytes() + ints.tobytes()

    def untouched(self, case: dict[str, int]) -> bool:
        """Everything outside the used part of each array still holds the sentinel."""
        mask = np.ones(self.size, dtype=bool)
        for name, shape in self.spec.shapes(case).items():
            start = self.offsets[name]
            mask[start : start + 4 * math.prod(shape)] = False
        return bool((self.raw[mask] == SENTINEL).all())


class KernelProcess:
    """One kernel served by kernel_runner.py; ``call`` returns the seconds the scorer saw."""

    def __init__(
        self,
        runner: Path,
        lib: Path,
        mapping_path: Path,
        spec: ModuleType,
        candidate: bool,
        home: Path,
        log: Path,
        timeout: float,
    ):
        argv = [
            "python3",
            "-I",
            "-B",
            str(runner),
            str(lib),
            spec.FUNCTION,
            str(mapping_path),
            str(len(spec.ARRAYS)),
            str(len(spec.INTS)),
        ]
        self.log = log
        self.home = home
        with open(log, "ab") as err:
            self.proc = cand.spawn(
                argv,
                cwd=home,
                home=home,
                candidate=candidate,
                nproc=1 if candidate else None,  # no helper threads or processes
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
            )
        assert self.proc.stdin and self.proc.stdout
        self._in, self._out = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        self._await(b"r", timeout)

    def _await(self, expected: bytes, timeout: float) -> None:
        ready, _, _ = select.select([self._out], [], [], timeout)
        if not ready:
            raise KernelFailure(f"no answer within {timeout:.0f} s")
        got = os.read(self._out, 1)
        if not got:  # end of file: the process died (a crash, a missing symbol, ...)
            self.proc.wait(timeout=5)
            tail = self.log.read_bytes()[-3000:].decode(errors="replace")
            raise KernelFailure(
                f"kernel process ended (status {self.proc.returncode}); its log ends:\n{tail}"
            )
        if got != expected:
            raise KernelFailure(f"protocol broken: got {got!r}")

    def call(
        self, mapping: Mapping, case: dict[str, int], inputs: dict[str, np.ndarray], timeout: float
    ) -> float:
        shapes = mapping.spec.shapes(case)
        request = mapping.request(case)
        views = {name: mapping.view(name, shapes[name]) for name in inputs}
        t0 = time.perf_counter()
        for name, value in inputs.items():  # written inside the timed window: no peeking early
            views[name][...] = value
        os.write(self._in, request)
        self._await(b"d", timeout)
        return time.perf_counter() - t0

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            if f:
                f.close()


def outputs_ok(
    spec: ModuleType, got: dict[str, np.ndarray], want: dict[str, np.ndarray]
) -> tuple[bool, float]:
    """Whether every output is finite and within the spec's tolerance; and the worst error
    in units of the tolerance (<= 1 passes)."""
    worst = 0.0
    for name in spec.OUTPUTS:
        value = got[name].astype(np.float64)
        if value.shape != want[name].shape or not np.isfinite(value).all():
            return False, math.inf
        ratio = np.abs(value - want[name]) / (spec.ATOL + spec.RTOL * np.abs(want[name]))
        worst = max(worst, float(ratio.max(initial=0.0)))
    return worst <= 1.0, worst


def compile_trusted(src: Path, out: Path, cflags: list[str], home: Path) -> None:
    proc = subprocess.run(
        ["gcc", *cflags, "-o", str(out), str(src), "-lm"],
        env=cand.clean_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"trusted kernel {src.name} does not compile:\n{proc.stderr[-2000:]}")


@dataclass
class Setup:
    spec: ModuleType
    run: cand.Run  # the candidate's processes: its code folder, a fresh tmp for each
    trusted: Path  # root-only: the trusted kernels, their mappings and working folder
    runner: Path
    libs: dict[str, Path]
    mappings: dict[str, tuple[Path, Mapping]]
    logs: dict[str, Path]
    call_timeout: float

    def start(self, kind: str) -> KernelProcess:
        path, mapping = self.mappings[kind]
        candidate = kind == "candidate"
        # nothing a candidate process left in the shared file survives into the next one
        mapping.raw[:] = SENTINEL
        home = self.run.fresh_tmp() if candidate else self.trusted
        try:
            proc = KernelProcess(
                self.runner, self.libs[kind], path, self.spec, candidate, home, self.logs[kind],
                timeout=60,
            )  # fmt: skip
        except BaseException:
            self._end(candidate, home)
            raise
        return proc

    def stop(self, kind: str, proc: KernelProcess) -> None:
        proc.close()
        self._end(kind == "candidate", proc.home)

    def _end(self, candidate: bool, home: Path) -> None:
        if candidate:
            cand.end_candidate()
            shutil.rmtree(home, ignore_errors=True)


def check_correctness(setup: Setup, kind: str, rng: np.random.Generator) -> dict[str, Any]:
    """Run every correctness case on fresh inputs; the outputs and guard pages are checked."""
    spec = setup.spec
    _, mapping = setup.mappings[kind]
    proc = setup.start(kind)
    worst = 0.0
    try:
        for case in spec.CORRECTNESS_CASES:
            inputs = spec.make_inputs(rng, case)
            mapping.raw[:] = SENTINEL
            proc.call(mapping, case, inputs, setup.call_timeout)
            shapes = spec.shapes(case)
            got = {n: mapping.view(n, shapes[n]) for n in spec.OUTPUTS}
            ok, err = outputs_ok(spec, got, spec.expected(inputs, case))
            inputs_kept = all(
                np.array_equal(mapping.view(n, shapes[n]).view(np.uint32), v.view(np.uint32))
                for n, v in inputs.items()
            )
            worst = max(worst, err)
            if not ok:
                return {"ok": False, "case": case, "error_over_tolerance": err}
            if not inputs_kept or not mapping.untouched(case):
                return {"ok": False, "case": case, "problem": "wrote outside its output"}
    finally:
        setup.stop(kind, proc)
    return {"ok": True, "cases": len(spec.CORRECTNESS_CASES), "error_over_tolerance": worst}


def time_kernels(
    setup: Setup, rng: np.random.Generator, protocol: timing.Protocol
) -> tuple[timing.Timings, float]:
    """The timing protocol over start, reference and candidate, each block in a fresh process.
    Each call gets fresh inputs; every kernel's outputs are copied out the same way, and the
    candidate's are all checked after its block (checking in between would evict its caches).
    Returns the timings and the worst candidate error (in tolerances)."""
    spec = setup.spec
    case = spec.TIMING_CASE
    shapes = spec.shapes(case)
    worst = 0.0

    def run_block(kind: str) -> list[float]:
        nonlocal worst
        _, mapping = setup.mappings[kind]
        outs = [mapping.view(n, shapes[n]) for n in spec.OUTPUTS]
        produced: list[tuple[int, list[np.ndarray]]] = []
        proc = setup.start(kind)

        def call() -> float:
            seed = int(rng.integers(2**63))
            inputs = spec.make_inputs(np.random.default_rng(seed), case)
            for out in outs:
                out.view(np.uint32)[...] = 0xFFFFFFFF  # NaN: unwritten cannot pass
            seconds = proc.call(mapping, case, inputs, setup.call_timeout)
            produced.append((seed, [out.copy() for out in outs]))
            return seconds

        try:
            times = timing.block(call, protocol)
        finally:
            setup.stop(kind, proc)
        if kind == "candidate":
            for seed, got in produced:
                inputs = spec.make_inputs(np.random.default_rng(seed), case)
                ok, err = outputs_ok(
                    spec, dict(zip(spec.OUTPUTS, got, strict=True)), spec.expected(inputs, case)
                )
                worst = max(worst, err)
                if not ok:
                    raise KernelFailure(f"wrong output in a timed call ({err:.3g} x tolerance)")
        return times

    timings = timing.interleaved(["start", "reference", "candidate"], protocol, rng, run_block)
    return timings, worst


def score(args: Args) -> Verdict:
    p = args.params
    spec = load_module(args.checks / p["spec"], "kernel_spec")
    cflags = [str(f) for f in p["cflags"]]
    source = cand.read_workspace_file(args.workspace, p["source"], 1024 * 1024)

    # trusted kernels: built and loaded from a root-only folder on an exec-capable mount
    trusted = cand.private_dir("trusted", base=Path(__file__).resolve().parent.parent)
    libs = {}
    for kind in ("start", "reference"):
        libs[kind] = trusted / f"{kind}.so"
        compile_trusted(args.checks / p[kind], libs[kind], cflags, trusted)

    # the candidate's compiler runs as the candidate: an #include of a hidden file fails
    run = cand.Run("kernel")
    src_path = run.add(p["source"], source)

    def keep_library(folder: Path) -> None:
        with contextlib.suppress(cand.CandidateError):  # no library: a compile failure
            run.add("kernel.so", cand.read_workspace_file(folder, "kernel.so", 256 << 20), 0o755)

    built = cand.run_candidate(
        run,
        ["gcc", *cflags, "-o", "kernel.so", str(src_path), "-lm"],
        timeout=120,
        keep=keep_library,
    )
    libs["candidate"] = run.code / "kernel.so"
    if not built.ok or not libs["candidate"].is_file():
        return Verdict(False, details={"stage": "compile", "compiler_output": built.log})
    runner = run.add("kernel_runner.py", Path(__file__).parent / "rsiscore" / "kernel_runner.py")

    cases = [*spec.CORRECTNESS_CASES, spec.TIMING_CASE]
    mappings = {}
    for kind, folder, uid in (
        ("start", trusted, 0),
        ("reference", trusted, 0),
        ("candidate", run.code, cand.CANDIDATE_UID),
    ):
        path = folder / f"{kind}.map"
        mappings[kind] = (path, Mapping(path, spec, cases, uid))
    logs = {k: cand.private_dir("log") / "stderr" for k in libs}
    setup = Setup(spec, run, trusted, runner, libs, mappings, logs, float(p["call_timeout"]))

    rng = np.random.default_rng(secrets.randbits(128))  # fresh inputs every scoring run
    details: dict[str, Any] = {"compiler_output": built.log[-1000:]}
    for kind in ("reference", "start"):  # the trusted kernels must pass their own check
        if not check_correctness(setup, kind, rng)["ok"]:
            raise RuntimeError(f"the {kind} kernel fails the correctness check on this machine")
    try:
        details["correctness"] = check_correctness(setup, "candidate", rng)
        if not details["correctness"]["ok"]:
            return Verdict(False, details={**details, "stage": "correctness"})
        timings, worst = time_kernels(setup, rng, timing.Protocol.from_params(p))
    except KernelFailure as e:
        return Verdict(False, details={**details, "stage": "kernel", "problem": str(e)})

    speedup, normalised = timing.log_speedup_score(
        timings.median("start"), timings.median("candidate"), timings.median("reference")
    )
    ref_speedup = timings.median("start") / timings.median("reference")
    if ref_speedup < float(p["min_reference_speedup"]):
        raise RuntimeError(
            f"the reference is only {ref_speedup:.2f}x faster than the start "
            "here: timing is too noisy to score"
        )
    details.update(
        stage="timed",
        timing_case=spec.TIMING_CASE,
        **timings.details(),
        speedup=round(speedup, 4),
        reference_speedup=round(ref_speedup, 4),
        timed_error_over_tolerance=worst,
    )
    return Verdict(True, speedup, normalised, details)


if __name__ == "__main__":
    main(score)
