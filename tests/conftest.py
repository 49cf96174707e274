"""Shared fixtures. Docker tests use the real daemon and the real sandbox image; they fail with
the daemon's fix when it is down (scripts/test.sh starts it) rather than being skipped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rsibench import engine, images
from rsibench.spec import SampleSpec
from rsibench.suite import Suite, load_suite

REPO = Path(__file__).resolve().parents[1]
MINI = REPO / "tests" / "fixtures" / "mini"


@pytest.fixture(scope="session")
def docker_client():
    return engine.client()


@pytest.fixture(scope="session")
def image_tag(docker_client) -> str:
    """The python-ml sandbox image, built once if this content hash is missing."""
    return images.build(REPO, "python-ml")


@pytest.fixture(scope="session")
def mini_suite() -> Suite:
    """A one-family fixture suite whose scoring takes a second (tests/fixtures/mini)."""
    return load_suite(MINI)


@pytest.fixture(scope="session")
def mini_task(mini_suite, image_tag) -> SampleSpec:
    """What the fixture suite's first variant's Sample carries, on the real image."""
    return mini_suite.sample_spec(mini_suite.variants[0], image_tag, None)


@pytest.fixture(scope="session")
def suite() -> Suite:
    return load_suite(REPO)


@pytest.fixture
def mini_copy(tmp_path: Path) -> Path:
    """A writable copy of the fixture suite, its sandboxes/ link pointing at the real images."""
    root = tmp_path / "suite"
    shutil.copytree(MINI, root, symlinks=True)
    (root / "sandboxes").unlink()
    (root / "sandboxes").symlink_to(REPO / "sandboxes")
    return root
