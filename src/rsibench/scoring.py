"""Hidden verification: copy the agent's work into the fresh verifier and run the family's scorer.

The verifier container is untouched by the agent. At scoring time it receives a copy of the
agent's /workspace (through the daemon's archive API), the family's ``checks/`` and the
``scorers/`` folder under the root-only ``/verifier``, and runs the scorer as root. The verdict
is read from ``/verifier/out/result.json``, which only root can write, never from output the
candidate's code could print to. Anything short of a well-formed verdict is a failed score
with the reason.
"""

from __future__ import annotations

import json
import math
import time
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
from rsibench.suite import Variant, suite_at

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


def scorer_params(variant: Variant) -> dict[str, Any]:
    fam = variant.family
    return {
        **fam.scorer_params,
        **variant.params,
        "threshold": variant.threshold,
        "task_id": variant.task_id,
        "cpus": fam.resources.cpus,
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
    agent: RsibenchSandbox, verifier: RsibenchSandbox, variant: Variant
) -> VerifierResult:
    """End the agent's turn, copy its workspace into the verifier, add the hidden files, run
    the scorer."""
    fam = variant.family
    started = time.monotonic()
    try:
        export = agent.export_workspace()  # kills and freezes the agent's processes first
    except WorkspaceExportError as e:
        return VerifierResult.failed(f"the workspace cannot be scored: {e}")
    with export.archive:
        verifier.put_archive(WORKSPACE, export.archive)
    root = fam.path.parents[2]
    verifier.put_archive(
        VERIFIER_DIR, tar_directory(fam.path / "checks", 0, 0, 0o700, 0o600, "checks")
    )
    verifier.put_archive(
        VERIFIER_DIR, tar_directory(root / "scorers", 0, 0, 0o700, 0o600, "scorers")
    )
    verifier.put_archive(
        VERIFIER_DIR,
        tar_files({"params.json": json.dumps(scorer_params(variant)).encode()}, 0, 0, 0o600),
    )
    verifier.exec_bytes(["mkdir", "-m", "0700", f"{VERIFIER_DIR}/out"], user="root")
    cmd = [
        "python3",
        "-I",
        f"{VERIFIER_DIR}/scorers/{fam.scorer}.py",
        "--workspace",
        WORKSPACE,
        "--checks",
        f"{VERIFIER_DIR}/checks",
        "--params",
        f"{VERIFIER_DIR}/params.json",
        "--out",
        RESULT_FILE,
    ]
    try:
        code, out, err, _ = verifier.exec_bytes(
            cmd, cwd=VERIFIER_DIR, user="root", timeout=fam.scorer_timeout
        )
    except TimeoutError:
        return VerifierResult.failed(f"scorer timed out after {fam.scorer_timeout} s")
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


def sandbox_config(
    variant: Variant, image_tag: str, workspace: Path | None = None
) -> SandboxConfig:
    res = variant.family.resources
    return SandboxConfig(
        image=image_tag,
        task_id=variant.task_id,
        cpus=res.cpus,
        memory=res.memory,
        pids=res.pids,
        disk=res.disk,
        gpus=res.gpus,
        workspace=str(workspace or variant.family.path / "workspace"),
    )


def verify_directory(variant: Variant, workspace: Path, image_tag: str) -> VerifierResult:
    """Score a host folder as if an agent had left it in /workspace (tests, task authoring)."""

    async def go() -> VerifierResult:
        cfg = sandbox_config(variant, image_tag, workspace)
        envs = await RsibenchSandbox.sample_init("verify", cfg, {})
        try:
            agent = envs["default"].as_type(RsibenchSandbox)
            verifier = envs["verifier"].as_type(RsibenchSandbox)
            return await anyio.to_thread.run_sync(
                run_verifier, agent, verifier, variant, abandon_on_cancel=True
            )
        finally:
            await RsibenchSandbox.sample_cleanup("verify", cfg, envs, False)

    return anyio.run(go)


@scorer(metrics={"success": [accuracy(), stderr()], "normalised": [mean()]})
def hidden_verifier(suite_root: str):
    """Score each sample with its family's hidden verifier in the sample's verifier container."""

    async def score(state: TaskState, target: Target) -> Score:
        variant = suite_at(suite_root).variant(str(state.sample_id))
        agent = sandbox().as_type(RsibenchSandbox)
        verifier = sandbox("verifier").as_type(RsibenchSandbox)
        try:
            result = await anyio.to_thread.run_sync(
                run_verifier, agent, verifier, variant, abandon_on_cancel=True
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
