"""The scorer library (scorers/rsiscore): its helpers fail closed; and, in the real verifier,
what a candidate's process can reach during a scoring run.

The Docker tests lay a probe (tests/probes/) into a family's workspace and score it: the probe
runs as the candidate's code and reports every path off the image it can read, every folder it
can write to or rename, and the markers an earlier candidate process of the same run left
(a channel between runs). Only its own private temporary folder and the public files the
scorer gave it (its snapshot, the runner, its compiled library) may show up.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import sys
from pathlib import Path, PurePosixPath

import numpy as np
import pytest

from rsibench.scoring import verify_directory
from rsibench.suite import Suite

REPO = Path(__file__).resolve().parents[1]
PROBES = REPO / "tests" / "probes"
sys.path.insert(0, str(REPO / "scorers"))
from rsiscore import answers, budget, candidate, timing, trusted, verdict  # noqa: E402
from rsiscore.channel import Channel, ChannelError  # noqa: E402


def family(suite: Suite, family_id: str):
    return next(f for f in suite.families if f.id == family_id)


# ---- helpers, fail-closed -----------------------------------------------------------------


def test_trusted_module_loader(tmp_path):
    (tmp_path / "spec.py").write_text("VALUE = 3\n")
    module = trusted.load_module(tmp_path / "spec.py")
    assert module.VALUE == 3 and sys.modules["rsi_spec"] is module
    (tmp_path / "broken.py").write_text("raise ValueError('bad spec')\n")
    with pytest.raises(ValueError, match="bad spec"):
        trusted.load_module(tmp_path / "broken.py")
    assert "rsi_broken" not in sys.modules


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a": NaN}', "NaN is not a number"),
        ('{"a": Infinity}', "Infinity is not a number"),
        ('{"a": 1, "a": 2}', "duplicate keys"),
        ('{"a": 1', "not valid JSON"),
        (b'{"a": "\xff"}', "not valid JSON"),
    ],
)
def test_answer_files_are_strict_json(tmp_path, text, reason):
    (tmp_path / "answer.json").write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(candidate.CandidateError, match=reason):
        answers.read_json(tmp_path, "answer.json")


def test_answer_files_missing_linked_or_too_big_fail(tmp_path):
    with pytest.raises(candidate.CandidateError, match="missing"):
        answers.read_json(tmp_path, "answer.json")
    (tmp_path / "secret.json").write_text("{}")
    (tmp_path / "answer.json").symlink_to(tmp_path / "secret.json")
    with pytest.raises(candidate.CandidateError, match="plain file"):
        answers.read_json(tmp_path, "answer.json")
    (tmp_path / "big.json").write_text(json.dumps({"x": "y" * 100}))
    with pytest.raises(candidate.CandidateError, match="larger than"):
        answers.read_json(tmp_path, "big.json", max_bytes=50)


SPEC = {"lr": (float, 0.0, 1.0), "steps": (int, 1, 100), "kind": ("a", "b"), "note": (str,)}


def test_answer_fields_checked_exactly():
    good = {"lr": 1, "steps": 5, "kind": "a", "note": "x"}
    assert answers.check_fields(good, SPEC, "c.json") == {**good, "lr": 1.0}
    for bad, reason in [
        ([], "must be a JSON object"),
        ({**good, "extra": 1}, r"unknown keys \['extra'\]"),
        ({k: v for k, v in good.items() if k != "lr"}, r"missing keys \['lr'\]"),
        ({**good, "steps": 2.5}, "steps must be a int"),
        ({**good, "steps": True}, "steps must be a int"),
        ({**good, "lr": 2.0}, "lr must be between"),
        ({**good, "kind": "c"}, "kind must be one of"),
        ({**good, "note": 3}, "note must be a string"),
    ]:
        with pytest.raises(candidate.CandidateError, match=reason):
            answers.check_fields(bad, SPEC, "c.json")
    with pytest.raises(candidate.CandidateError, match="must be one of"):
        answers.check_fields({"flag": 1}, {"flag": (True, False)}, "c.json")  # 1 is not True


def test_budget_check():
    assert budget.check("FLOPs", 10, 10) == 10.0
    for used in (11, math.nan, math.inf, -1, "5"):
        with pytest.raises(candidate.CandidateError, match="FLOPs"):
            budget.check("FLOPs", used, 10)  # type: ignore[arg-type]


def test_timing_protocol_blocks_and_interleaving():
    clock = iter(range(1, 1000))
    protocol = timing.Protocol(rounds=3, warmup_calls=2, min_calls=3, max_calls=10, min_seconds=0)
    calls: list[str] = []

    def run_block(kind: str) -> list[float]:
        def call() -> float:
            calls.append(kind)
            return float(next(clock))

        return timing.block(call, protocol)

    t = timing.interleaved(["a", "b"], protocol, np.random.default_rng(0), run_block)
    assert calls.count("a") == calls.count("b") == 3 * (2 + 3)  # warm-ups are not timed
    assert len(t.calls["a"]) == 9 and len(t.rounds["a"]) == 3
    # a block goes on until min_seconds have passed, up to max_calls
    slow = timing.Protocol(rounds=1, warmup_calls=0, min_calls=1, max_calls=4, min_seconds=1e9)
    assert len(timing.block(lambda: 1.0, slow)) == 4
    speedup, score = timing.log_speedup_score(start=8.0, candidate=4.0, reference=2.0)
    assert speedup == 2.0 and score == pytest.approx(0.5)


def test_timing_block_that_times_nothing_fails():
    protocol = timing.Protocol(rounds=1, warmup_calls=0, min_calls=1, max_calls=1, min_seconds=0)
    with pytest.raises(RuntimeError, match="timed no call"):
        timing.interleaved(["a"], protocol, np.random.default_rng(0), lambda kind: [])


def _runner(script: str):
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )


def test_channel_frames_and_fails_closed():
    import time

    echo = (
        "import sys,struct\n"
        "r,w=sys.stdin.buffer,sys.stdout.buffer\n"
        "n=struct.unpack('<Q',r.read(8))[0]; d=r.read(n)\n"
        "w.write(struct.pack('<Q',n)+d); w.flush()\n"
    )
    proc = _runner(echo)
    ch = Channel(proc, time.monotonic() + 30, max_bytes=100)
    ch.send(b"hello")
    assert ch.recv() == b"hello"
    with pytest.raises(ChannelError, match="ended"):
        ch.recv()
    proc.wait()
    for script, reason in [
        ("import sys; sys.stdout.buffer.write((10**9).to_bytes(8,'little')); sys.stdout.flush()",
         "bytes"),
        ("import time; time.sleep(30)", "timed out"),
    ]:  # fmt: skip
        proc = _runner(script)
        ch = Channel(proc, time.monotonic() + 1, max_bytes=100)
        with pytest.raises(ChannelError, match=reason):
            ch.recv()
        proc.kill()
        proc.wait()


def test_verdict_never_succeeds_when_incorrect_or_not_finite(tmp_path):
    out = tmp_path / "result.json"
    wrong = verdict.write_verdict(out, verdict.Verdict(False, 9.0, 9.0), threshold=0.5)
    assert wrong["success"] is False
    nan = verdict.write_verdict(out, verdict.Verdict(True, math.nan, math.nan), threshold=0.5)
    assert nan["success"] is False and nan["score_normalised"] is None
    ok = verdict.write_verdict(out, verdict.Verdict(True, 1.0, 0.5), threshold=0.5)
    assert ok["success"] is True
    assert json.loads(out.read_text()) == ok


def test_scorer_exception_becomes_a_failed_verdict(tmp_path, monkeypatch):
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"threshold": 0.0}))
    out = tmp_path / "result.json"
    argv = ["scorer", "--workspace", str(tmp_path), "--checks", str(tmp_path),
            "--params", str(params), "--out", str(out)]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)

    def crash(args: verdict.Args) -> verdict.Verdict:
        raise RuntimeError("boom")

    verdict.main(crash)
    record = json.loads(out.read_text())
    assert record["success"] is False and "boom" in record["details"]["error"]


def test_workspace_links_and_devices_are_refused(tmp_path):
    (tmp_path / "secret").write_text("hidden")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "config.json").symlink_to(tmp_path / "secret")
    os.mkfifo(ws / "fifo")
    (ws / "big.c").write_bytes(b"x" * 100)
    (ws / "ok.py").write_text("x = 1\n")
    (ws / "linked_dir").symlink_to(tmp_path)
    for name, limit in (("config.json", 1000), ("fifo", 1000), ("big.c", 10), ("gone", 10)):
        with pytest.raises(candidate.CandidateError):
            candidate.read_workspace_file(ws, name, limit)
    snap = tmp_path / "snap"
    snap.mkdir()
    assert candidate.snapshot(ws, snap, (".py", ".json")) == ["ok.py"]


def test_candidate_error_is_a_failed_verdict_with_its_reason(tmp_path, monkeypatch):
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"threshold": 0.0}))
    out = tmp_path / "result.json"
    argv = ["scorer", "--workspace", str(tmp_path), "--checks", str(tmp_path),
            "--params", str(params), "--out", str(out)]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    assert not verdict.in_verifier()  # so main() leaves this host's /tmp alone

    def bad_answer(args: verdict.Args) -> verdict.Verdict:
        answers.read_json(args.workspace, "answer.json")
        raise AssertionError("unreachable")

    verdict.main(bad_answer)
    record = json.loads(out.read_text())
    assert record["success"] is False
    assert record["details"] == {"problem": "answer.json: missing from the workspace"}


def test_run_folders_are_traverse_only_and_private(tmp_path):
    run = candidate.Run("t")
    try:
        assert run.root.stat().st_mode & 0o777 == 0o711
        assert run.code.stat().st_mode & 0o777 == 0o755 and run.code.stat().st_uid == 0
        a, b = run.fresh_tmp(), run.fresh_tmp()
        assert a != b and not any(a.iterdir())
        assert a.stat().st_uid == candidate.CANDIDATE_UID and a.stat().st_mode & 0o777 == 0o700
    finally:
        run.close()
    assert not run.root.exists()


def _run_as_candidate(code: str, **limits) -> candidate.RunResult:
    run = candidate.Run("t")
    try:
        return candidate.run_candidate(
            run, ["/usr/bin/python3", "-I", "-c", code], timeout=30, **limits
        )
    finally:
        run.close()


@pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/usr/bin/python3").exists(),
    reason="runs a system python as the candidate user",
)
def test_run_candidate_measures_cpu_time_and_enforces_its_limits():
    busy = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass\n"
    done = _run_as_candidate(busy)
    assert done.ok and 0.55 < done.cpu_seconds < 3.0
    asleep = _run_as_candidate("import time; time.sleep(0.6)")
    assert asleep.ok and asleep.cpu_seconds < 0.3  # waiting is not work
    # the kernel kills a process at its CPU limit, however it spends the time
    spin = _run_as_candidate("while True: pass", cpu_seconds=1)
    assert spin.returncode is not None and spin.returncode < 0 and 0.9 < spin.cpu_seconds < 3.5
    # nproc=1: no second thread, no child process, so the CPU time is all of the work
    fork = "import os\nos.fork()\n"
    assert not _run_as_candidate(fork, nproc=1).ok and _run_as_candidate(fork).ok
    thread = "import threading\nthreading.Thread(target=print).start()\n"
    assert not _run_as_candidate(thread, nproc=1).ok


# ---- what the candidate reaches in the verifier (Docker) ------------------------------------

PROBE_LINE = re.compile(r"RSI-PROBE (\{.*\})")


def probe_report(text: str) -> dict:
    found = PROBE_LINE.findall(text)
    assert found, f"the probe did not report; scorer details: {text[-3000:]}"
    return json.loads(found[-1])


def assert_reach(report: dict, public: set[str]) -> None:
    """Readable: the probe's own tmp, and only the ``public`` files of its run's code folder.
    Writable: its own tmp only. Nothing renamable, no channel between processes."""
    home = report["home"]
    assert home and report["tmpdir"] == home
    problems = []
    if report["n_readable"] != len(report["readable"]):
        problems.append(f"{report['n_readable']} readable paths, the first 60 listed")
    for path in report["readable"]:
        if path == home + "/" or path.startswith(home + "/"):
            continue
        parts = PurePosixPath(path).parts  # /tmp/rsi-<tag>-XXXX/code/<file>
        in_code = len(parts) >= 4 and parts[1] == "tmp" and parts[3] == "code"
        if not in_code or str(PurePosixPath(*parts[4:])) not in public | {".", "workspace"}:
            problems.append(f"readable: {path}")
    problems += [f"writable: {p}" for p in report["writable"] if p != home]
    problems += [f"renamable: {p}" for p in report["renamable"]]
    problems += [f"channel: {p}" for p in report["channels"]]
    assert not problems, "\n".join(problems)


@pytest.mark.docker
def test_grad_accum_candidate_reaches_only_its_snapshot(suite, image_tag, tmp_path):
    fam = family(suite, "grad-accum")
    ws = tmp_path / "workspace"
    shutil.copytree(fam.path / "workspace", ws)
    shutil.copy(PROBES / "probe.py", ws / "rsi_probe.py")
    train = ws / "train.py"
    train.write_text(
        "import os as _os, sys as _sys, rsi_probe\n"
        "rsi_probe.report([_os.path.dirname(_sys.argv[0])]"
        " + [a for a in _sys.argv[1:] if _os.path.isdir(a)], 'grad-accum')\n" + train.read_text()
    )
    result = verify_directory(suite.sample_spec(fam.variants[0], image_tag, None), ws)
    assert result.success is False
    report = probe_report(str(result.details.get("log", "")))
    snapshot = {f"workspace/{p.name}" for p in ws.glob("*.py")}
    assert_reach(report, {"runner.py", *snapshot})


@pytest.mark.docker
def test_kernel_candidate_reaches_only_its_code_and_no_channel(suite, image_tag, tmp_path):
    """Two candidate processes: the correctness one plants markers everywhere it can write
    (and a System V segment); the first timing one reports. None may survive."""
    fam = family(suite, "causal-attention-c")
    ws = tmp_path / "workspace"
    shutil.copytree(fam.path / "workspace", ws)
    source = (PROBES / "probe_kernel.c").read_text()
    source = source.replace("@START_KERNEL@", (fam.path / "workspace" / "kernel.c").read_text())
    source = source.replace("@PROBE_SOURCE@", json.dumps((PROBES / "probe.py").read_text()))
    (ws / "kernel.c").write_text(source)
    result = verify_directory(suite.sample_spec(fam.variants[0], image_tag, None), ws)
    assert result.success is False
    assert result.details.get("correctness", {}).get("ok"), result.details
    report = probe_report(str(result.details.get("problem", "")))
    assert_reach(report, {"kernel.c", "kernel.so", "kernel_runner.py", "candidate.map"})


def _kernel_family_copy(suite, tmp_path: Path, variant_id: str, spec_edit=None):
    """attention-fwd-bwd-c copied to tmp_path (its spec optionally edited), and the sample spec
    of one of its variants pointing at the copy."""
    fam = family(suite, "attention-fwd-bwd-c")
    copy = tmp_path / "family"
    shutil.copytree(fam.path, copy)
    if spec_edit:
        spec_file = copy / "checks" / "kernel_spec.py"
        spec_file.write_text(spec_edit(spec_file.read_text()))
    variant = next(v for v in fam.variants if v.id == variant_id)
    return copy, variant


@pytest.mark.docker
def test_kernel_that_does_not_compile_fails_with_the_compilers_words(suite, image_tag, tmp_path):
    """A kernel.c that gcc rejects fails at the compile stage, with the compiler's message and
    its exit status and time in the details (an empty log alone would not say whether the
    compiler was killed or timed out)."""
    variant = family(suite, "int8-weight-gemm-c").variants[0]
    ws = tmp_path / "workspace"
    shutil.copytree(variant.family.path / "workspace", ws)
    (ws / "kernel.c").write_text("void w8_linear(void) { this is not C; }\n")
    result = verify_directory(suite.sample_spec(variant, image_tag, None), ws)
    assert result.success is False
    assert result.details["stage"] == "compile", result.details
    assert "error" in result.details["compiler_output"]
    assert result.details["compiler"]["returncode"] not in (0, None)
    assert result.details["compiler"]["seconds"] > 0


@pytest.mark.docker
def test_kernel_faster_than_the_measured_peak_fails_as_impossible(suite, image_tag, tmp_path):
    """The roofline: a spec that claims 1e4 times the arithmetic makes the (correct) reference
    kernel look faster than the machine's FMA peak measured in the same run; that must fail,
    saying why, where without the roofline it would pass."""
    edit = lambda text: text.replace(  # noqa: E731
        "return 6.0 * bh * t * (t + 1) * d", "return 6.0e4 * bh * t * (t + 1) * d"
    )
    copy, variant = _kernel_family_copy(suite, tmp_path, "speedup-3x", edit)
    ws = tmp_path / "workspace"
    shutil.copytree(copy / "workspace", ws)
    shutil.copy(copy / "solution" / "kernel.c", ws / "kernel.c")
    sample = suite.sample_spec(variant, image_tag, None).model_copy(
        update={"family_dir": str(copy)}
    )
    result = verify_directory(sample, ws)
    assert result.success is False
    assert result.details["stage"] == "roofline", result.details
    assert "physically impossible" in result.details["problem"]
    assert result.details["roofline"]["peak_fraction"] > 1.0


@pytest.mark.docker
@pytest.mark.parametrize("width", ["peak512", "peak256", "peak128"])
def test_peak_loop_keeps_every_accumulator_in_registers(width, docker_client, image_tag):
    """The roofline's microbenchmark on each vector width (AVX-512, AVX2, SSE2), compiled by
    the image's gcc with the kernels' flags: its timed loop must not touch the stack. With more
    chains than the registers hold (16 accumulators and two constants in the 16 ymm registers
    of an AVX2-only CPU) GCC spills some to memory, the loop reads the peak low, and a good
    kernel would then fail as physically impossible."""
    asm = docker_client.containers.run(
        image_tag,
        ["gcc", "-O2", "-fPIC", "-std=gnu11", "-S", "-o", "-", "/src/peak_flops.c"],
        entrypoint=[],
        volumes={str(REPO / "scorers" / "rsiscore"): {"bind": "/src", "mode": "ro"}},
        network_disabled=True,
        remove=True,
    ).decode()
    body = re.search(rf"^{width}:\n(.*?)^\s*\.size\s+{width},", asm, re.M | re.S)
    assert body, f"no {width} in the assembly"
    lines = body.group(1).splitlines()
    arithmetic = [i for i, x in enumerate(lines) if re.search(r"\b(vfmadd\w*|mulps|addps)\b", x)]
    loop = lines[arithmetic[0] : arithmetic[-1] + 1]
    assert len(arithmetic) >= 12
    assert not [x for x in loop if "(%rsp)" in x or "(%rbp)" in x], "\n".join(loop)


@pytest.mark.docker
def test_kernel_over_its_memory_cap_fails(suite, image_tag, tmp_path):
    """The memory cap: the starting kernel (two t x t buffers) passes every correctness case
    but crashes on the memory case under the address-space cap, and fails there."""
    copy, variant = _kernel_family_copy(suite, tmp_path, "memory-efficient")
    ws = tmp_path / "workspace"
    shutil.copytree(copy / "workspace", ws)
    result = verify_directory(suite.sample_spec(variant, image_tag, None), ws)
    assert result.success is False
    assert result.details["correctness"]["ok"], result.details
    assert result.details["stage"] == "memory", result.details
    assert result.details["memory"]["ok"] is False
    assert result.details["memory"]["headroom_mib"] == 32


def test_probe_kernel_template_is_filled():
    assert "@START_KERNEL@" in (PROBES / "probe_kernel.c").read_text()
    assert os.path.isfile(PROBES / "probe.py")


@pytest.mark.docker
def test_behaviour_match_runner_garbage_fails_closed(suite, image_tag, tmp_path):
    """Candidate code that writes garbage into the runner's channel to the checker (any pipe
    it can find among its descriptors) fails every scenario, with the reason."""
    fam = family(suite, "grad-accum")
    ws = tmp_path / "workspace"
    shutil.copytree(fam.path / "workspace", ws)
    for name in ("train.py", "data.py"):  # the oracle, so only the garbage can fail it
        shutil.copy(fam.path / "solution" / name, ws / name)
    train = ws / "train.py"
    train.write_text(
        "import os as _os, stat as _stat\n"
        "for _fd in range(3, 64):\n"
        "    try:\n"
        "        if _stat.S_ISFIFO(_os.fstat(_fd).st_mode):\n"
        "            _os.write(_fd, b'\\xff' * 64)\n"
        "    except OSError:\n"
        "        pass\n" + train.read_text()
    )
    result = verify_directory(suite.sample_spec(fam.variants[0], image_tag, None), ws)
    assert result.success is False
    problems = {s["problem"] for s in result.details["scenarios"].values()}
    assert len(problems) == 1 and "runner" in problems.pop(), result.details


SESSION_PROBE = """
import os as _os, socket as _socket, sys as _sys, time as _time

_name = "\\0rsi-session-probe"
_probe = _socket.socket(_socket.AF_UNIX)
try:
    _probe.connect(_name)
    _alive = True
except OSError:
    _alive = False
print(f"SESSION pid={_os.getpid()} tmp={_os.environ['TMPDIR']} earlier_alive={_alive}",
      file=_sys.stderr, flush=True)
if not _alive and _os.fork() == 0:  # a daemon holding state for the next session
    _os.setsid()
    _server = _socket.socket(_socket.AF_UNIX)
    _server.bind(_name)
    _server.listen()
    _time.sleep(120)
    _os._exit(0)
"""


@pytest.mark.docker
def test_behaviour_match_sessions_are_fresh_processes(suite, image_tag, tmp_path):
    """A checker with check_sessions (lm-trainer-hunt) gets each session in a new process with
    its own folder, and nothing the first left running (a daemon) is there for the second."""
    fam = family(suite, "lm-trainer-hunt")
    ws = tmp_path / "workspace"
    shutil.copytree(fam.path / "workspace", ws)
    for src in (fam.path / "solution" / "lmt").glob("*.py"):
        shutil.copy(src, ws / "lmt" / src.name)
    init = ws / "lmt" / "__init__.py"
    init.write_text(init.read_text() + SESSION_PROBE)
    result = verify_directory(suite.sample_spec(fam.variants[0], image_tag, None), ws)
    assert result.success is True, result.details
    assert result.details["sessions"] == 2
    seen = re.findall(r"SESSION pid=(\d+) tmp=(\S+) earlier_alive=(\w+)", result.details["log"])
    assert len(seen) == 2, result.details["log"]
    (pid1, tmp1, _), (pid2, tmp2, alive) = seen
    assert pid1 != pid2 and tmp1 != tmp2 and alive == "False", seen


# ---- answer_key: a research-judgement answer against a measured key -----------------------


def answer_scorer(tmp_path: Path, scorer: str, key: dict, params: dict):
    """Score an answer (an object, raw text or a link target) with ``scorer``'s score()."""
    module = trusted.load_module(REPO / "scorers" / scorer)
    checks, ws = tmp_path / "checks", tmp_path / "ws"
    checks.mkdir()
    ws.mkdir()
    (checks / "key.json").write_text(json.dumps(key))
    params = {"answer_file": "answer.json", "key": "key.json", "threshold": 1.0, **params}

    def score(answer: object) -> verdict.Verdict:
        target = ws / "answer.json"
        target.unlink(missing_ok=True)
        if isinstance(answer, Path):
            target.symlink_to(answer)
        else:
            target.write_text(answer if isinstance(answer, str) else json.dumps(answer))
        return module.score(verdict.Args(ws, checks, params, tmp_path / "out.json"))

    return score


@pytest.fixture
def answer_key(tmp_path):
    key = {"q1": "a", "q2": "b", "q3": "c"}
    params = {"labels": ["a", "b", "c"], "questions": ["q1", "q2"]}
    return answer_scorer(tmp_path, "answer_key.py", key, params)


def test_answer_key_scores_the_asked_questions_only(answer_key):
    right = answer_key({"q1": "a", "q2": "b", "q3": "a"})  # q3 is not asked: ignored
    assert right.correct and right.score_raw == 2 and right.score_normalised == 1.0
    half = answer_key({"q1": "a", "q2": "c"})
    assert half.correct and half.score_normalised == 0.5 and half.details["wrong"] == ["q2"]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"q1": "a"}, "missing ['q2']"),
        ({"q1": "a", "q2": "b", "q9": "a"}, "unknown questions ['q9']"),
        ({"q1": "a", "q2": ["a", "b", "c"]}, "not one of the labels"),
        ({"q1": "a", "q2": "B"}, "not one of the labels"),
        ('{"q1": "a", "q1": "b", "q2": "b"}', "duplicate keys"),
        ("[1, 2]", "must be a JSON object"),
        ("not json", "not valid JSON"),
    ],
)
def test_answer_key_fails_closed_on_a_malformed_answer(answer_key, answer, problem):
    result = answer_key(answer)
    assert not result.correct and problem in result.details["problem"]


def test_answer_key_does_not_follow_a_link_to_the_key(answer_key, tmp_path):
    result = answer_key(tmp_path / "checks" / "key.json")
    assert not result.correct and "cannot be opened as a plain file" in result.details["problem"]


@pytest.fixture
def mixed_key(tmp_path):
    """A key of label questions and numeric ones (a ranking and each change's effect)."""
    key = {"first": "a", "second": "b", "effect": {"value": -0.05, "tolerance": 0.02}}
    params = {"labels": ["a", "b"], "questions": ["first", "second", "effect"]}
    return answer_scorer(tmp_path, "answer_key.py", key, params)


def test_answer_key_grades_numeric_questions_by_their_tolerance(mixed_key):
    right = mixed_key({"first": "a", "second": "b", "effect": -0.06})
    assert right.correct and right.score_normalised == 1.0
    off = mixed_key({"first": "a", "second": "b", "effect": -0.08})
    assert off.correct and off.details["wrong"] == ["effect"]


@pytest.mark.parametrize(
    "answer",
    [
        {"first": "a", "second": "b", "effect": "-0.05"},  # a number as text
        {"first": "a", "second": "b", "effect": [-0.05, -0.04]},  # every value at once
        {"first": "a", "second": "b", "effect": True},
        {"first": "a", "second": -0.05, "effect": -0.05},  # a number where a label is asked
    ],
)
def test_answer_key_fails_closed_on_a_malformed_mixed_answer(mixed_key, answer):
    result = mixed_key(answer)
    assert not result.correct and "not one of the labels" in result.details["problem"]
    assert "take a finite number" in result.details["problem"]


# ---- answer_numeric: numeric predictions against measured values with a tolerance ----------


@pytest.fixture
def answer_numeric(tmp_path):
    key = {"q1": {"value": 1.5, "tolerance": 0.1}, "q2": {"value": 2.0, "tolerance": 0.05},
           "q3": {"value": 3.0, "tolerance": 0.1}}  # fmt: skip
    return answer_scorer(tmp_path, "answer_numeric.py", key, {"questions": ["q1", "q2"]})


def test_answer_numeric_scores_the_asked_questions_within_their_tolerance(answer_numeric):
    right = answer_numeric({"q1": 1.59, "q2": 2, "q3": 0})  # q3 is not asked: ignored
    assert right.correct and right.score_raw == 2 and right.score_normalised == 1.0
    half = answer_numeric({"q1": 1.41, "q2": 2.06})  # q2 is outside its own, tighter tolerance
    assert half.correct and half.score_normalised == 0.5 and half.details["wrong"] == ["q2"]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"q1": 1.5}, "missing ['q2']"),
        ({"q1": 1.5, "q2": 2.0, "q9": 1.0}, "unknown questions ['q9']"),
        ({"q1": 1.5, "q2": "2.0"}, "must be finite numbers"),
        ({"q1": 1.5, "q2": [2.0, 1.9]}, "must be finite numbers"),
        ({"q1": True, "q2": 2.0}, "must be finite numbers"),
        ('{"q1": 1.5, "q2": NaN}', "not valid JSON"),
        ('{"q1": 1.5, "q2": 1e999}', "must be finite numbers"),
        ('{"q1": 1.5, "q1": 1.4, "q2": 2.0}', "duplicate keys"),
        ("[1.5, 2.0]", "must be a JSON object"),
        ("not json", "not valid JSON"),
    ],
)
def test_answer_numeric_fails_closed_on_a_malformed_answer(answer_numeric, answer, problem):
    result = answer_numeric(answer)
    assert not result.correct and problem in result.details["problem"]


def test_answer_numeric_does_not_follow_a_link_to_the_key(answer_numeric, tmp_path):
    result = answer_numeric(tmp_path / "checks" / "key.json")
    assert not result.correct and "cannot be opened as a plain file" in result.details["problem"]
