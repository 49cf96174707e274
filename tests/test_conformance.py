"""inspect's own conformance suite for sandbox providers, run against the rsibench provider.

Every check of ``inspect_ai.util._sandbox.self_check`` runs here on the agent's sandbox (the
one inspect's tools use). A check the provider cannot pass by design is listed in
``BY_DESIGN`` with its reason, and expected to fail (strictly: if it starts passing, the
entry goes); the README says why.
"""

from __future__ import annotations

import anyio
import pytest
from inspect_ai.util._sandbox import self_check
from inspect_ai.util._sandbox.self_check import *  # noqa: F403 (the checks themselves)

from rsibench.sandbox import RsibenchSandbox, SandboxConfig

pytestmark = [pytest.mark.docker, pytest.mark.anyio]

BY_DESIGN = {
    "test_exec_as_user": (
        "the sandbox's root filesystem is read-only, so `adduser` cannot add a user to "
        "/etc/passwd; commands run as any user the image defines (agent, root) or any uid"
    ),
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def sample(mini_task, docker_client):
    """One agent/verifier pair for the whole suite, as inspect's own runner shares one."""
    cfg = SandboxConfig.for_sample(mini_task)
    envs = anyio.run(RsibenchSandbox.sample_init, "conformance", cfg, {})
    yield envs
    anyio.run(RsibenchSandbox.sample_cleanup, "conformance", cfg, envs, False)


@pytest.fixture
def sandbox_env(sample, request):
    reason = BY_DESIGN.get(request.node.originalname)
    if reason:
        request.node.add_marker(pytest.mark.xfail(reason=reason, strict=True))
    return sample["default"]


def test_every_check_is_collected():
    """The suite is all here: a check inspect adds runs without a change to this file."""
    names = {name for name in globals() if name.startswith("test_")}
    assert set(self_check.__all__) <= names
    assert set(BY_DESIGN) <= set(self_check.__all__)
