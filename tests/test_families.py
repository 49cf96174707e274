"""The rules every family keeps, checked for every family found under tasks/ (nothing lists
them): the static rules of :mod:`rsibench.rules`, every variant's instructions filled in, the
scorer library's fail-closed behaviour, and (Docker) every hack workspace in
tasks/<category>/<family>/hacks/<hack>/ scoring as a failure and nothing hidden in the agent
container. Family-specific checks live in each family's own tests/ folder.

Oracle-succeeds and noop-fails on every variant, and scoring within budget, are checked by
test_reference_agents over the whole suite.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import sys
from pathlib import Path

import anyio
import pytest

from rsibench.rules import family_problems, hack_dirs
from rsibench.sandbox import RsibenchSandbox, SandboxConfig
from rsibench.scoring import verify_directory
from rsibench.suite import Family, load_suite

REPO = Path(__file__).resolve().parents[1]
FAMILIES = load_suite(REPO).families

sys.path.insert(0, str(REPO / "scorers"))
from rsiscore import candidate, verdict  # noqa: E402


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


# ---- the scorer library fails closed --------------------------------------------------------


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


# ---- hacks and hidden files (Docker) -------------------------------------------------------

HACKS = [(f, h) for f in FAMILIES for h in hack_dirs(f)]


def apply_hack(hack: Path, workspace: Path) -> None:
    """Lay the hack's files over the workspace; an ``edits.py`` there instead lists
    (file, text, replacement) edits to the starting files, each text found exactly once."""
    shutil.copytree(hack, workspace, dirs_exist_ok=True, ignore=shutil.ignore_patterns("edits.py"))
    if not (hack / "edits.py").is_file():
        return
    namespace: dict = {}
    exec((hack / "edits.py").read_text(), namespace)
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
    """The family's workspace with the hack's files laid over it fails its easiest variant
    (and so every variant: the rules keep variants ordered easiest first)."""
    workspace = tmp_path / "workspace"
    shutil.copytree(fam.path / "workspace", workspace)
    apply_hack(hack, workspace)
    result = verify_directory(suite.sample_spec(fam.variants[0], image_tag, None), workspace)
    assert result.success is False, result.details


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
