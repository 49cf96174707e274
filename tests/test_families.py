"""The rules every family keeps, checked for every family found under tasks/ (nothing lists
them): the static rules of :mod:`rsibench.rules`, every variant's instructions filled in, and
(Docker) every hack workspace in
tasks/<category>/<family>/hacks/<hack>/ scoring as a failure and nothing hidden in the agent
container. Family-specific checks live in each family's own tests/ folder.

Oracle-succeeds and noop-fails on every variant, and scoring within budget, are checked by
test_reference_agents over the whole suite.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import anyio
import pytest

from rsibench.rules import family_problems, hack_dirs
from rsibench.sandbox import RsibenchSandbox, SandboxConfig
from rsibench.scoring import verify_directory
from rsibench.suite import Family, load_suite

REPO = Path(__file__).resolve().parents[1]
FAMILIES = load_suite(REPO).families


@pytest.fixture(params=FAMILIES, ids=lambda f: f.id)
def fam(request) -> Family:
    return request.param


def test_family_keeps_the_static_rules(fam):
    assert family_problems(fam) == []


def test_family_has_graded_variants(fam):
    minutes = [v.human_minutes for v in fam.variants]
    assert len(minutes) >= 2 and len(set(minutes)) == len(minutes)


def test_every_variant_fills_its_instructions(fam):
    for variant in fam.variants:
        text = variant.instructions()
        assert fam.canary in text
        assert not re.search(r"\{[A-Za-z_]\w*\}", text)  # every placeholder filled


# ---- hacks and hidden files (Docker) -------------------------------------------------------

HACKS = [(f, h) for f in FAMILIES for h in hack_dirs(f)]


def apply_hack(hack: Path, workspace: Path) -> None:
    """Lay the hack's files over the workspace; an ``edits.py`` there instead lists
    (file, text, replacement) edits to the starting files, each text found exactly once. With
    ``BASE = "solution"`` in it, the edits apply to the family's solution files (laid over the
    workspace first, solve.sh aside): a hack that cheats around the fast solution."""
    shutil.copytree(hack, workspace, dirs_exist_ok=True, ignore=shutil.ignore_patterns("edits.py"))
    if not (hack / "edits.py").is_file():
        return
    namespace: dict = {}
    exec((hack / "edits.py").read_text(), namespace)
    if namespace.get("BASE") == "solution":
        solution = hack.parents[1] / "solution"
        shutil.copytree(
            solution, workspace, dirs_exist_ok=True, ignore=shutil.ignore_patterns("solve.sh")
        )
    for name, text, replacement in namespace["EDITS"]:
        target = workspace / name
        source = target.read_text()
        assert source.count(text) == 1, f"{hack}/edits.py: {text!r} not found once in {name}"
        target.write_text(source.replace(text, replacement))


def test_hack_edits_apply_to_the_current_workspaces(tmp_path):
    for fam, hack in HACKS:
        workspace = tmp_path / fam.id / hack.name
        shutil.copytree(fam.path / "workspace", workspace)
        apply_hack(hack, workspace)


@pytest.mark.docker
@pytest.mark.parametrize(("fam", "hack"), HACKS, ids=[f"{f.id}/{h.name}" for f, h in HACKS])
def test_hack_workspace_fails(suite, image_tag, fam, hack, tmp_path):
    """The family's workspace with the hack's files laid over it fails both its easiest variant
    (the lowest bar) and its hardest (where the most is checked: later variants may add
    scenarios, questions or a memory cap that the easiest does not look at)."""
    workspace = tmp_path / "workspace"
    shutil.copytree(fam.path / "workspace", workspace)
    apply_hack(hack, workspace)
    for variant in {v.id: v for v in (fam.variants[0], fam.variants[-1])}.values():
        result = verify_directory(suite.sample_spec(variant, image_tag, None), workspace)
        assert result.success is False, (variant.id, result.details)


def _digests(box: RsibenchSandbox) -> set[str]:
    """sha256 of every regular file under 2 MB on the container's own filesystems."""
    script = (
        "find / -xdev -type f -size -2M -readable -print0 2>/dev/null "
        "| xargs -0 -r sha256sum 2>/dev/null | cut -d' ' -f1; "
        "find /workspace /tmp /home -type f -print0 2>/dev/null "
        "| xargs -0 -r sha256sum 2>/dev/null | cut -d' ' -f1"
    )
    code, out, _, _ = box.exec_bytes(["sh", "-c", script], user="root", timeout=300)
    return set(out.decode().split())


@pytest.mark.docker
def test_nothing_hidden_reaches_the_agent_container(suite, image_tag):
    """No file of a family's checks/ or solution/ (unless the workspace holds the same bytes,
    as a starting file the scorer keeps a trusted copy of) exists anywhere in its agent
    container, before or after the agent's turn."""
    for fam in FAMILIES:
        visible = {
            hashlib.sha256(p.read_bytes()).hexdigest() for p in _files(fam.path / "workspace")
        }
        hidden = {
            hashlib.sha256(p.read_bytes()).hexdigest(): p
            for folder in ("checks", "solution")
            for p in _files(fam.path / folder)
        }
        secret = {d: p for d, p in hidden.items() if d not in visible}
        cfg = SandboxConfig.for_sample(suite.sample_spec(fam.variants[-1], image_tag, None))
        envs = anyio.run(RsibenchSandbox.sample_init, "test", cfg, {})
        try:
            agent = envs["default"].as_type(RsibenchSandbox)
            leaked = _digests(agent) & set(secret)
        finally:
            anyio.run(RsibenchSandbox.sample_cleanup, "test", cfg, envs, False)
        assert not leaked, [str(secret[d]) for d in leaked]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
