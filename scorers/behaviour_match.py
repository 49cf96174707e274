"""Scorer: run the candidate's code on hidden scenarios, served and judged by the family's own
trusted checker.

The family's checks/ provide ``cases.py`` (trusted, root-only) with
``check(channel, seed, scenarios) -> {scenario: {"ok": bool, ...}}``, and a public runner
script (nothing secret: the candidate's process can read it). The runner executes the
candidate's modules as the candidate user (``python3 -I``, clean environment) from a root-owned
snapshot of the workspace's source files, and talks to the checker over its stdin/stdout
(``rsiscore.channel``). The checker keeps the reference, the expected results and everything
that decides the verdict in the scorer's process: the runner gets inputs as data and stand-ins
for the objects whose use is checked, so nothing the candidate's process can patch is measured.

A checker that must see the candidate's code in more than one process (a checkpoint written by
one process and resumed by another) defines ``check_sessions(open_session, seed, scenarios)``
instead: each ``open_session()`` ends the previous runner process (and everything the candidate
left running) and starts a fresh one, in a fresh private folder, returning its Channel.

    score_raw = scenarios passed;  score_normalised = 1 if all pass else 0
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rsiscore import candidate as cand  # noqa: E402
from rsiscore.channel import Channel  # noqa: E402
from rsiscore.trusted import load_module  # noqa: E402
from rsiscore.verdict import Args, Verdict, main  # noqa: E402


def score(args: Args) -> Verdict:
    p = args.params
    cases = load_module(args.checks / p["cases"])
    run = cand.Run("behaviour")
    runner = run.add("runner.py", args.checks / p["runner"])
    files = cand.snapshot(args.workspace, run.code / "workspace", tuple(p["source_suffixes"]))
    log = cand.private_dir("log") / "log"
    started = time.monotonic()
    deadline = started + float(p["run_timeout"])
    procs: list[subprocess.Popen[bytes]] = []

    def close_session() -> None:
        if procs:
            procs[-1].kill()
            cand.end_candidate()
            procs[-1].wait()

    with open(log, "w+b") as err:

        def open_session() -> Channel:
            close_session()
            tmp = run.fresh_tmp()
            procs.append(
                cand.spawn(
                    ["python3", "-I", "-B", str(runner), str(run.code / "workspace")],
                    cwd=tmp,
                    home=tmp,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=err,
                )
            )
            return Channel(procs[-1], deadline, cases.MAX_MESSAGE_BYTES)

        seed = secrets.randbits(63)
        scenarios = list(p["scenarios"])
        try:
            if hasattr(cases, "check_sessions"):
                report = cases.check_sessions(open_session, seed, scenarios)
            else:
                report = cases.check(open_session(), seed, scenarios)
        finally:
            close_session()
            run.close()
        err.seek(0, 2)
        err.seek(max(0, err.tell() - 3000))
        tail = err.read().decode(errors="replace")
    passed = sum(1 for r in report.values() if r["ok"])
    correct = passed == len(report)
    details: dict[str, Any] = {
        "files": files,
        "run_seconds": round(time.monotonic() - started, 3),
        "sessions": len(procs),
        "log": tail,
        "scenarios": report,
    }
    return Verdict(correct, passed, 1.0 if correct else 0.0, details)


if __name__ == "__main__":
    main(score)
