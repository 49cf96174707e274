"""Hidden verification: copy the agent's work into the fresh verifier and run the family's scorer.

The verifier container is untouched by the agent. At scoring time it receives a copy of the
agent's /workspace (through the daemon's archive API), the family's ``checks/`` and the
``scorers/`` folder under the root-only ``/verifier``, and runs the scorer as root. The verdict
is read from ``/verifier/out/result.json``, which only root can write, never from output the
candidate's code could print to. Anything short of a well-formed verdict is a failed score
with the reason.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio
from inspect_ai.scorer import Score, Target, accuracy, mean, scorer, stderr
from inspect_ai.solver import TaskState
from inspect_ai.util import sandbox

from rsibench.sandbox import (
    VERIFIER_DIR,
    WORKSPACE,
    RsibenchSandbox,
    SandboxConfig,
    WorkspaceExportError,
    tar_directory,
    tar_files,
)
from rsibench.spec import SampleSpec

RESULT_FILE = f"{VERIFIER_DIR}/out/result.json"


@dataclass
class VerifierResult:
    success: bool
    score_raw: float | None = None
    score_normalised: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    @classmethod
    def failed(cls, reason: str, **details: Any) -> VerifierResult:
        return cls(success=False, error=reason, details=details)


def scorer_params(task: SampleSpec) -> dict[str, Any]:
    """params.json: the family's scorer params, overlaid by the variant's, plus the verdict's
    threshold and the CPUs the verifier has."""
    return {
        **task.scorer.params,
        **task.params,
        "threshold": task.threshold,
        "task_id": task.task_id,
        "cpus": task.resources.cpus,
    }


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return float(value)


def parse_verdict(text: str) -> VerifierResult:
    """The scorer's JSON verdict, checked field by field; malformed means failed."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return VerifierResult.failed(f"scorer verdict is not JSON ({e.msg})", verdict=text[:500])
    if not isinstance(data, dict):
        return VerifierResult.failed("scorer verdict is not a JSON object", verdict=text[:500])
    try:
        raw = _number(data.get("score_raw"))
        normalised = _number(data.get("score_normalised"))
    except ValueError as e:
        return VerifierResult.failed(f"scorer verdict: {e}", verdict=data)
    success = data.get("success")
    if not isinstance(success, bool):
        return VerifierResult.failed(
            "scorer verdict: 'success' must be true or false", verdict=data
        )
    details = data.get("details", {})
    if not isinstance(details, dict):
        details = {"details": details}
    return VerifierResult(
        success=success, score_raw=raw, score_normalised=normalised, details=details
    )


def run_verifier(
    agent: RsibenchSandbox, verifier: RsibenchSandbox, task: SampleSpec
) -> VerifierResult:
    """End the agent's turn, copy its workspace into the verifier, add the hidden files, run
    the scorer."""
    started = time.monotonic()
    try:
        export = agent.export_workspace()  # kills and freezes the agent's processes first
    except WorkspaceExportError as e:
        return VerifierResult.failed(f"the workspace cannot be scored: {e}")
    with export.archive:
        verifier.put_archive(WORKSPACE, export.archive)
    checks = Path(task.family_dir) / "checks"
    verifier.put_archive(VERIFIER_DIR, tar_directory(checks, 0, 0, 0o700, 0o600, "checks"))
    verifier.put_archive(
        VERIFIER_DIR, tar_directory(Path(task.scorers_dir), 0, 0, 0o700, 0o600, "scorers")
    )
    verifier.put_archive(
        VERIFIER_DIR,
        tar_files({"params.json": json.dumps(scorer_params(task)).encode()}, 0, 0, 0o600),
    )
    verifier.exec_bytes(["mkdir", "-m", "0700", f"{VERIFIER_DIR}/out"], user="root")
    cmd = [
        "python3",
        "-I",
        f"{VERIFIER_DIR}/scorers/{task.scorer.name}.py",
        "--workspace",
        WORKSPACE,
        "--checks",
        f"{VERIFIER_DIR}/checks",
        "--params",
        f"{VERIFIER_DIR}/params.json",
        "--out",
        RESULT_FILE,
    ]
    timeout = task.scorer.timeout
    try:
        code, out, err, _ = verifier.exec_bytes(cmd, cwd=VERIFIER_DIR, user="root", timeout=timeout)
    except TimeoutError:
        return VerifierResult.failed(f"scorer timed out after {timeout} s")
    log_tail = (out + err).decode(errors="replace")[-4000:]
    if code != 0:
        result = VerifierResult.failed(f"scorer exited with status {code}", log=log_tail)
    else:
        rc, verdict, read_err, _ = verifier.exec_bytes(["cat", RESULT_FILE], user="root")
        if rc != 0:
            result = VerifierResult.failed(
                "scorer wrote no verdict to " + RESULT_FILE,
                log=log_tail,
                read_error=read_err.decode(errors="replace"),
            )
        else:
            result = parse_verdict(verdict.decode(errors="replace"))
            result.details.setdefault("log", log_tail)
    if export.dropped:
        result.details["workspace_dropped"] = export.dropped
    result.seconds = round(time.monotonic() - started, 3)
    return result


def verify_directory(task: SampleSpec, workspace: Path) -> VerifierResult:
    """Score a host folder as if an agent had left it in /workspace (tests, task authoring)."""

    async def go() -> VerifierResult:
        cfg = SandboxConfig.for_sample(task, workspace)
        envs = await RsibenchSandbox.sample_init("verify", cfg, {})
        try:
            agent = envs["default"].as_type(RsibenchSandbox)
            verifier = envs["verifier"].as_type(RsibenchSandbox)
            return await anyio.to_thread.run_sync(
                run_verifier, agent, verifier, task, abandon_on_cancel=True
            )
        finally:
            await RsibenchSandbox.sample_cleanup("verify", cfg, envs, False)

    return anyio.run(go)


class SharedExclusiveLock:
    """Many shared holders or one exclusive holder; a waiting exclusive holder goes first."""

    def __init__(self) -> None:
        self._shared = 0
        self._exclusive = False
        self._waiting_exclusive = 0
        self._changed: anyio.Condition | None = None

    def _condition(self) -> anyio.Condition:
        if self._changed is None:  # created inside the event loop that uses it
            self._changed = anyio.Condition()
        return self._changed

    @contextlib.asynccontextmanager
    async def hold(self, exclusive: bool) -> AsyncIterator[None]:
        changed = self._condition()
        async with changed:
            if exclusive:
                self._waiting_exclusive += 1
                try:
                    while self._exclusive or self._shared:
                        await changed.wait()
                finally:
                    self._waiting_exclusive -= 1
                self._exclusive = True
            else:
                while self._exclusive or self._waiting_exclusive:
                    await changed.wait()
                self._shared += 1
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                async with changed:
                    if exclusive:
                        self._exclusive = False
                    else:
                        self._shared -= 1
                    changed.notify_all()


SCORING = SharedExclusiveLock()


@scorer(metrics={"success": [accuracy(), stderr()], "normalised": [mean()]})
def hidden_verifier():
    """Score each sample with its family's hidden verifier in the sample's verifier container.

    A timed scorer (``scorer.timed``) scores alone: it holds the scoring lock exclusively, while
    other scorers share it, so no other sample's scoring competes for the CPU while it times.
    """

    async def score(state: TaskState, target: Target) -> Score:
        task = state.metadata_as(SampleSpec)
        agent = sandbox().as_type(RsibenchSandbox)
        verifier = sandbox("verifier").as_type(RsibenchSandbox)
        try:
            async with SCORING.hold(exclusive=task.scorer.timed):
                result = await anyio.to_thread.run_sync(
                    run_verifier, agent, verifier, task, abandon_on_cancel=True
                )
        except Exception as e:  # an infrastructure fault is a failed score, never a pass
            result = VerifierResult.failed(f"verifier could not run: {type(e).__name__}: {e}")
        normalised = result.score_normalised
        return Score(
            value={
                "success": 1.0 if result.success else 0.0,
                "normalised": normalised if normalised is not None else 0.0,
            },
            answer=None,
            explanation=result.error
            or json.dumps({k: v for k, v in result.details.items() if k != "log"}, default=str)[
                :2000
            ],
            metadata=asdict(result),
        )

    return score
