"""Calibration of lm-trainer-hunt's checker: runs checks/cases.py's ``check_sessions`` with a
local driver (two fresh runner processes, as the scorer opens them) on the solution, on the
starting workspace, on the solution with each starting file put back (one fault each) and on
each hack, and prints one JSON line per (case, seed) with every scenario's verdict and errors.
RSIBENCH CANARY e04c1ad7-2538-4cc8-ab65-54a6f87a72b1

Run in the image, from the family folder:
    docker run --rm --network none -v $PWD:/fam -w /fam rsibench/python-ml:TAG \
        python3 checks/calibrate.py --seeds 1 2 3 [--cases solution workspace fault:optim.py]
"""

from __future__ import annotations

import argparse
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FAM = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(FAM / "checks"))
import cases  # noqa: E402

HEADER = struct.Struct("<Q")
FAULTY = ("tokenizer.py", "data.py", "optim.py", "trainer.py", "evaluate.py", "rng.py")


class Pipe:
    """The scorer's Channel, minus deadlines: frames on a runner's stdin/stdout."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc

    def send(self, payload: bytes) -> None:
        self.proc.stdin.write(HEADER.pack(len(payload)) + payload)
        self.proc.stdin.flush()

    def recv(self) -> bytes:
        head = self.proc.stdout.read(HEADER.size)
        if len(head) < HEADER.size:
            raise RuntimeError(f"the runner ended (status {self.proc.wait()})")
        return self.proc.stdout.read(HEADER.unpack(head)[0])


def apply_hack(hack: Path, workspace: Path) -> None:
    """As tests/test_families.py lays a hack over the workspace."""
    shutil.copytree(hack, workspace, dirs_exist_ok=True, ignore=shutil.ignore_patterns("edits.py"))
    if (hack / "edits.py").is_file():
        namespace: dict = {}
        exec((hack / "edits.py").read_text(), namespace)
        for name, text, replacement in namespace["EDITS"]:
            source = (workspace / name).read_text()
            assert source.count(text) == 1, f"{hack}/edits.py: {text!r} not once in {name}"
            (workspace / name).write_text(source.replace(text, replacement))


def build(case: str, dest: Path) -> Path:
    shutil.copytree(FAM / "workspace", dest)
    if case == "workspace":
        return dest
    if case.startswith("hack:"):
        apply_hack(FAM / "hacks" / case[5:], dest)
        return dest
    for f in (FAM / "solution/lmt").glob("*.py"):
        shutil.copy(f, dest / "lmt" / f.name)
    if case.startswith("fault:"):
        shutil.copy(FAM / "workspace/lmt" / case[6:], dest / "lmt" / case[6:])
    elif case != "solution":
        raise SystemExit(f"unknown case {case!r}")
    return dest


def run(case: str, seed: int, scenarios: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        ws = build(case, Path(tmp) / "ws")
        procs: list[subprocess.Popen] = []

        def open_session() -> Pipe:
            if procs:
                procs[-1].kill()
                procs[-1].wait()
            home = Path(tempfile.mkdtemp(dir=tmp))
            procs.append(
                subprocess.Popen(
                    ["python3", "-I", "-B", str(FAM / "checks/runner.py"), str(ws)],
                    cwd=home,
                    env={
                        "PATH": "/usr/local/bin:/usr/bin:/bin",
                        "HOME": str(home),
                        "TMPDIR": str(home),
                        "OMP_NUM_THREADS": "1",
                    },
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
            )
            return Pipe(procs[-1])

        started = time.monotonic()
        try:
            report = cases.check_sessions(open_session, seed, scenarios)
        finally:
            for p in procs:
                p.kill()
                p.wait()
    return {
        "case": case,
        "seed": seed,
        "seconds": round(time.monotonic() - started, 2),
        "passed": [s for s in scenarios if report[s]["ok"]],
        "report": report,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    hacks = sorted(p.name for p in (FAM / "hacks").iterdir() if p.is_dir())
    default = [
        "solution",
        "workspace",
        *(f"fault:{f}" for f in FAULTY),
        *(f"hack:{h}" for h in hacks),
    ]
    ap.add_argument("--cases", nargs="+", default=default)
    ap.add_argument("--scenarios", nargs="+", default=list(cases.SCENARIOS))
    args = ap.parse_args()
    for case in args.cases:
        for seed in args.seeds:
            print(json.dumps(run(case, seed, args.scenarios)), flush=True)


if __name__ == "__main__":
    main()
