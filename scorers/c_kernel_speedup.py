"""Scorer: a C kernel's speedup over the starting kernel, relative to the reference solution.

Reads only the candidate's C source; compiles it itself, as the candidate user, with fixed
flags; checks it on fresh random inputs of several shapes (against a float64 NumPy reference)
before any timing; then times the candidate, the untouched starting kernel and the reference
kernel in interleaved blocks of the same run, checking every timed output too.

    score_raw        = candidate speedup over the starting kernel (median call times)
    score_normalised = ln(speedup_candidate) / ln(speedup_reference)    (start 0, reference 1)

Two optional mechanisms, both measured from outside the candidate's process:
- a roofline: when the spec defines ``flops(case)`` (the arithmetic any exact method must do),
  the machine's single-core float32 FMA peak is timed in the same run, in blocks interleaved
  with the kernels, by a trusted microbenchmark (rsiscore/peak_flops.c) built with the same
  flags and served by the same runner. A candidate faster than that peak did not do the work
  (or subverted the clock) and fails, saying so; ``min_peak_fraction`` in the params is a
  target: below it fails.
- a memory cap: with ``memory_headroom_mib`` in the params, the spec's ``MEMORY_CASE`` runs in a
  candidate process whose address space (RLIMIT_AS, hard) is what the runner with the reference
  kernel loaded occupies plus that headroom; a kernel that needs more crashes and fails.

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
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rsiscore import candidate as cand  # noqa: E402
from rsiscore import timing  # noqa: E402
from rsiscore.trusted import load_module  # noqa: E402
from rsiscore.verdict import Args, Verdict, main  # noqa: E402

PAGE = 4096
SENTINEL = 0xFF  # every byte 0xFF: a float32 NaN, so an unwritten output cannot pass
MIB = 1 << 20

# The roofline microbenchmark, served like a kernel: out[1] = flops per iteration.
PEAK_SOURCE = Path(__file__).resolve().parent / "rsiscore" / "peak_flops.c"
PEAK_SPEC = SimpleNamespace(
    FUNCTION="rsi_peak_fma", ARRAYS=("out",), INTS=("iters",), shapes=lambda case: {"out": (4,)}
)
PEAK_CASE = {"iters": 1_000_000}  # about 5 ms at 200 GFLOP/s, 80 ms at 12
# A kernel may read this close to the peak before it is called impossible: the peak and the
# kernel are medians of interleaved blocks, so a busy machine moves both.
PEAK_SLACK = 1.0


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
        address_space: int | None = None,
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
                address_space=address_space,
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

    def address_space(self) -> int:
        """The process's virtual memory now (VmSize), in bytes."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmSize for a kernel process")

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
    timing_case: dict[str, Any]  # the spec's TIMING_CASE, or its timing_case(rng) for this run

    def start(self, kind: str, address_space: int | None = None) -> KernelProcess:
        path, mapping = self.mappings[kind]
        candidate = kind == "candidate"
        # nothing a candidate process left in the shared file survives into the next one
        mapping.raw[:] = SENTINEL
        home = self.run.fresh_tmp() if candidate else self.trusted
        try:
            proc = KernelProcess(
                self.runner, self.libs[kind], path, self.spec, candidate, home, self.logs[kind],
                timeout=60, address_space=address_space,
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


def check_case(
    setup: Setup, kind: str, proc: KernelProcess, case: dict, rng: np.random.Generator
) -> dict[str, Any]:
    """One call on fresh inputs: the outputs, the inputs (unchanged) and the guard pages."""
    spec = setup.spec
    _, mapping = setup.mappings[kind]
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
    if not ok:
        return {"ok": False, "case": case, "error_over_tolerance": err}
    if not inputs_kept or not mapping.untouched(case):
        return {"ok": False, "case": case, "problem": "wrote outside its output"}
    return {"ok": True, "error_over_tolerance": err}


def check_correctness(setup: Setup, kind: str, rng: np.random.Generator) -> dict[str, Any]:
    """Run every correctness case on fresh inputs; the outputs and guard pages are checked."""
    proc = setup.start(kind)
    worst = 0.0
    try:
        for case in setup.spec.CORRECTNESS_CASES:
            result = check_case(setup, kind, proc, case, rng)
            if not result["ok"]:
                return result
            worst = max(worst, result["error_over_tolerance"])
    finally:
        setup.stop(kind, proc)
    return {"ok": True, "cases": len(setup.spec.CORRECTNESS_CASES), "error_over_tolerance": worst}


def check_memory(
    setup: Setup, kind: str, rng: np.random.Generator, headroom: int
) -> dict[str, Any]:
    """The spec's MEMORY_CASE in a process capped at the reference runner's address space
    (measured now, before any call) plus ``headroom`` bytes. A kernel that needs more gets
    NULL from malloc or fails to map, and crashes or fails the check."""
    ref = setup.start("reference")
    try:
        cap = ref.address_space() + headroom
    finally:
        setup.stop("reference", ref)
    case = setup.spec.MEMORY_CASE
    try:
        proc = setup.start(kind, address_space=cap)
    except KernelFailure as e:
        return {"ok": False, "case": case, "cap_mib": cap // MIB, "problem": str(e)}
    try:
        result = check_case(setup, kind, proc, case, rng)
    except KernelFailure as e:
        result = {"ok": False, "case": case, "problem": str(e)}
    finally:
        setup.stop(kind, proc)
    return {**result, "cap_mib": round(cap / MIB, 1), "headroom_mib": headroom // MIB}


@dataclass
class Peak:
    """The roofline microbenchmark's process, its mapping and log: trusted, root-only."""

    lib: Path
    mapping_path: Path
    mapping: Mapping
    runner: Path
    home: Path
    log: Path
    flops: list[float]  # flops of each timed call

    def run_block(self, protocol: timing.Protocol, timeout: float) -> list[float]:
        self.mapping.raw[:] = SENTINEL
        proc = KernelProcess(
            self.runner, self.lib, self.mapping_path, PEAK_SPEC, False, self.home, self.log, 60
        )
        out = self.mapping.view("out", (4,))

        def call() -> float:
            seconds = proc.call(self.mapping, PEAK_CASE, {}, timeout)
            self.flops.append(PEAK_CASE["iters"] * float(out[1]))
            return seconds

        try:
            return timing.block(call, protocol)
        finally:
            proc.close()


def time_kernels(
    setup: Setup, rng: np.random.Generator, protocol: timing.Protocol, peak: Peak | None
) -> tuple[timing.Timings, float]:
    """The timing protocol over start, reference and candidate, each block in a fresh process.
    Each call gets fresh inputs; every kernel's outputs are copied out the same way, and the
    candidate's are all checked after its block (checking in between would evict its caches).
    Returns the timings and the worst candidate error (in tolerances)."""
    spec = setup.spec
    case = setup.timing_case
    shapes = spec.shapes(case)
    worst = 0.0

    def run_block(kind: str) -> list[float]:
        nonlocal worst
        if kind == "peak" and peak is not None:
            return peak.run_block(protocol, setup.call_timeout)
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

    kinds = ["start", "reference", "candidate"] + (["peak"] if peak is not None else [])
    timings = timing.interleaved(kinds, protocol, rng, run_block)
    return timings, worst


def roofline(
    spec: ModuleType, case: dict[str, Any], timings: timing.Timings, peak: Peak
) -> dict[str, float]:
    """The candidate's float32 FLOP/s over the peak's, both from medians of this run. The
    peak's calls all do the same work, so its median flops over its median seconds."""
    peak_gflops = statistics.median(peak.flops) / timings.median("peak") / 1e9
    gflops = spec.flops(case) / timings.median("candidate") / 1e9
    ref_gflops = spec.flops(case) / timings.median("reference") / 1e9
    return {
        "peak_gflops": round(peak_gflops, 2),
        "candidate_gflops": round(gflops, 3),
        "reference_gflops": round(ref_gflops, 3),
        "peak_fraction": round(gflops / peak_gflops, 4),
        "reference_peak_fraction": round(ref_gflops / peak_gflops, 4),
    }


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
    with_roofline = hasattr(spec, "flops")
    if with_roofline:
        compile_trusted(PEAK_SOURCE, trusted / "peak.so", cflags, trusted)

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
        # the exit status and time say what an empty compiler log cannot (a kill, a timeout)
        compiled = {"returncode": built.returncode, "seconds": built.seconds}
        return Verdict(
            False,
            details={"stage": "compile", "compiler_output": built.log, "compiler": compiled},
        )
    runner = run.add("kernel_runner.py", Path(__file__).parent / "rsiscore" / "kernel_runner.py")

    rng = np.random.default_rng(secrets.randbits(128))  # fresh inputs every scoring run
    # a spec may draw a fresh timing shape each run (awkward sizes cannot be special-cased)
    timing_case = spec.timing_case(rng) if hasattr(spec, "timing_case") else spec.TIMING_CASE
    headroom = p.get("memory_headroom_mib")
    cases = [*spec.CORRECTNESS_CASES, timing_case]
    if headroom is not None:
        cases.append(spec.MEMORY_CASE)
    mappings = {}
    for kind, folder, uid in (
        ("start", trusted, 0),
        ("reference", trusted, 0),
        ("candidate", run.code, cand.CANDIDATE_UID),
    ):
        path = folder / f"{kind}.map"
        mappings[kind] = (path, Mapping(path, spec, cases, uid))
    logs = {k: cand.private_dir("log") / "stderr" for k in libs}
    setup = Setup(
        spec, run, trusted, runner, libs, mappings, logs, float(p["call_timeout"]), timing_case
    )
    peak = None
    if with_roofline:
        peak_map = trusted / "peak.map"
        peak = Peak(
            trusted / "peak.so", peak_map, Mapping(peak_map, PEAK_SPEC, [PEAK_CASE], 0),  # type: ignore[arg-type]
            runner, trusted, cand.private_dir("log") / "stderr", [],
        )  # fmt: skip

    details: dict[str, Any] = {"compiler_output": built.log[-1000:]}
    for kind in ("reference", "start"):  # the trusted kernels must pass their own check
        if not check_correctness(setup, kind, rng)["ok"]:
            raise RuntimeError(f"the {kind} kernel fails the correctness check on this machine")
    try:
        details["correctness"] = check_correctness(setup, "candidate", rng)
        if not details["correctness"]["ok"]:
            return Verdict(False, details={**details, "stage": "correctness"})
        if headroom is not None:
            details["memory"] = check_memory(setup, "candidate", rng, int(headroom) * MIB)
            if not details["memory"]["ok"]:
                return Verdict(False, details={**details, "stage": "memory"})
        timings, worst = time_kernels(setup, rng, timing.Protocol.from_params(p), peak)
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
        timing_case=timing_case,
        **timings.details(),
        speedup=round(speedup, 4),
        reference_speedup=round(ref_speedup, 4),
        timed_error_over_tolerance=worst,
    )
    if peak is not None:
        details["roofline"] = roofline(spec, timing_case, timings, peak)
        fraction = details["roofline"]["peak_fraction"]
        if fraction > PEAK_SLACK:
            details["problem"] = (
                f"physically impossible: {fraction:.2f} x the machine's float32 FMA peak "
                "measured in this run; the kernel skipped arithmetic the spec requires "
                "(cached or reused results?) or its time was not what the clock saw"
            )
            return Verdict(False, speedup, normalised, {**details, "stage": "roofline"})
        target = p.get("min_peak_fraction")
        if target is not None and fraction < float(target):
            details["problem"] = (
                f"{fraction:.3f} of the machine's float32 FMA peak; the target is {target}"
            )
            return Verdict(False, speedup, normalised, {**details, "stage": "roofline"})
    return Verdict(True, speedup, normalised, details)


if __name__ == "__main__":
    main(score)
