"""The starter task families: fast static checks, the scorer library's fail-closed behaviour, and
(Docker) every hack workspace in tasks/<category>/<family>/hacks/<hack>/ scoring as a failure.

Oracle-passes and noop-fails on every variant are the harness tests' job; the measured scores
are in each family's README.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from pathlib import Path

import pytest

from rsibench.scoring import verify_directory
from rsibench.suite import Family, Suite

REPO = Path(__file__).resolve().parents[1]
FAMILIES = ("grad-accum", "causal-attention-c", "charlm-budget")
# text files where a comment can carry the canary (data and JSON cannot)
COMMENTED = (".py", ".c", ".sh", ".md")

sys.path.insert(0, str(REPO / "scorers"))
from rsiscore import candidate, verdict  # noqa: E402


def family(suite: Suite, family_id: str) -> Family:
    return next(f for f in suite.families if f.id == family_id)


@pytest.fixture(params=FAMILIES)
def fam(request, suite) -> Family:
    return family(suite, request.param)


def test_families_load_with_graded_variants(fam):
    minutes = [v.human_minutes for v in fam.variants]
    assert len(minutes) >= 2 and len(set(minutes)) == len(minutes)
    assert all(v.human_minutes_source == "estimate" for v in fam.variants)
    assert fam.category in fam.path.parent.name


def test_variants_are_ordered_easiest_first(fam):
    """The hack tests score against variants[0]; that is only enough if every later variant
    asks for at least as much: a higher threshold and (grad-accum) a superset of scenarios."""
    thresholds = [v.threshold for v in fam.variants]
    assert thresholds == sorted(thresholds)
    scenario_sets = [set(v.params.get("scenarios", [])) for v in fam.variants]
    assert all(a <= b for a, b in zip(scenario_sets, scenario_sets[1:], strict=False))
    assert [v.human_minutes for v in fam.variants] == sorted(v.human_minutes for v in fam.variants)


def test_canary_in_instructions_readme_checks_and_solution(fam):
    for variant in fam.variants:
        text = variant.instructions()
        assert fam.canary in text
        assert "{" not in text.replace("{{", "")  # every placeholder filled
    assert fam.canary in (fam.path / "README.md").read_text()
    for folder in ("checks", "solution"):
        for path in (fam.path / folder).rglob("*"):
            if path.suffix in COMMENTED:
                assert fam.canary in path.read_text(), path


def test_solve_sh_is_executable_bash(fam):
    solve = fam.path / "solution" / "solve.sh"
    assert os.access(solve, os.X_OK)
    assert solve.read_text().startswith("#!/usr/bin/env bash")


@pytest.mark.parametrize(
    ("family_id", "hidden", "visible"),
    [
        ("causal-attention-c", "checks/start.c", "workspace/kernel.c"),
        ("causal-attention-c", "checks/reference.c", "solution/kernel.c"),
        ("grad-accum", "checks/model.py", "workspace/model.py"),
        ("charlm-budget", "checks/train.py", "workspace/train.py"),
        ("charlm-budget", "checks/train.txt", "workspace/train.txt"),
    ],
)
def test_hidden_copies_match(suite, family_id, hidden, visible):
    """The scorers time, train or evaluate with checks/' copies; they must be the files the
    agent sees (or the oracle installs)."""
    root = family(suite, family_id).path
    assert (root / hidden).read_bytes() == (root / visible).read_bytes()


def test_kernel_targets_in_instructions_match_thresholds(suite):
    for v in family(suite, "causal-attention-c").variants:
        assert float(v.params["score_target"]) == v.threshold


def test_toy_model_thresholds_are_the_target_losses(suite):
    fam = family(suite, "charlm-budget")
    start, ref = fam.scorer_params["start_loss"], fam.scorer_params["reference_loss"]
    for v in fam.variants:
        assert v.threshold == pytest.approx(
            (start - float(v.params["target_loss"])) / (start - ref), abs=1e-4
        )
    # the configs the oracle and the starting workspace hold use every key exactly once
    for config in ("workspace/config.json", "solution/config.json"):
        assert len(json.loads((fam.path / config).read_text())) == 15


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


# ---- hacks (Docker) ---------------------------------------------------------------------------

HACK_DIRS = sorted(p for p in (REPO / "tasks").glob("*/*/hacks/*") if p.is_dir())


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


def test_hack_edits_apply_to_the_current_workspaces(suite, tmp_path):
    for hack in HACK_DIRS:
        workspace = tmp_path / hack.parent.parent.name / hack.name
        shutil.copytree(hack.parent.parent / "workspace", workspace)
        apply_hack(hack, workspace)


def test_every_family_has_two_hacks():
    for family_id in FAMILIES:
        assert len([p for p in HACK_DIRS if p.parent.parent.name == family_id]) >= 2, family_id


@pytest.mark.docker
@pytest.mark.parametrize("hack", HACK_DIRS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_hack_workspace_fails(suite, image_tag, hack, tmp_path):
    """The family's workspace with the hack's files laid over it fails its easiest variant
    (and so every variant: see test_variants_are_ordered_easiest_first)."""
    fam = family(suite, hack.parent.parent.name)
    workspace = tmp_path / "workspace"
    shutil.copytree(fam.path / "workspace", workspace)
    apply_hack(hack, workspace)
    result = verify_directory(fam.variants[0], workspace, image_tag)
    assert result.success is False, result.details
