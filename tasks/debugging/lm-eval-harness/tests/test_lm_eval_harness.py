"""lm-eval-harness: the checker's trusted copies are the workspace's correct files, the
instructions state the checker's tolerances, every variant names known scenarios, the
calibration edits apply, and (Docker) the calibration itself: the solution passes every
scenario, each planted fault put back alone fails exactly the scenarios it should, each partial
fix passes its own variant and fails the ones that need more, and each hack fails."""

from __future__ import annotations

import ast
import contextlib
import json
import subprocess
from pathlib import Path

import pytest

from rsibench import images
from rsibench.suite import load_family

HERE = Path(__file__).resolve().parents[1]
SUITE = HERE.parents[2]
FAMILY, _ = load_family(HERE, SUITE)
CANARY = FAMILY.canary
VARIANTS = {v.id: set(v.params["scenarios"]) for v in FAMILY.variants}

# fault put back alone on the solution -> (scenarios it always fails, scenarios it may fail)
FAULTS = {
    "F1-padding": ({"ppl-one-batch", "ppl-batches", "ppl-ragged", "ppl-long"}, set()),
    "F2-partial-batch": ({"ppl-token-count", "ppl-ragged"}, {"ppl-long"}),
    "F3-batch-mean": ({"ppl-batches", "ppl-ragged", "ppl-long"}, set()),
    "F4-unshifted": ({"mc"}, set()),
    "F5-window-overlap": ({"ppl-long"}, set()),
}
# the starting workspace with some faults fixed -> the variants it must pass (it fails the rest)
PARTIAL = {
    "ws-fix:F1": {"fix-the-line"},
    "ws-fix:F2": {"named-function"},
    "ws-fix:F4": {"failing-test"},
    "ws-fix:F1F3": {"fix-the-line", "perplexity-symptom"},
    "ws-fix:F1+F2+F4+F5": {"fix-the-line", "named-function", "failing-test"},
    "ws-fix:F1F3+F2+F4": {"fix-the-line", "named-function", "failing-test", "perplexity-symptom"},
}


def _constants(path: Path) -> dict[str, object]:
    """Top-level constant assignments of a module, read without importing it (torch)."""
    out: dict[str, object] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    with contextlib.suppress(ValueError):
                        out[t.id] = ast.literal_eval(node.value)
    return out


def _scenario_names() -> set[str]:
    tree = ast.parse((HERE / "checks/cases.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "SCENARIOS":
            return {ast.literal_eval(k) for k in node.value.keys}
    raise AssertionError("no SCENARIOS in checks/cases.py")


def test_checks_copies_are_the_workspace_files():
    for name in ("model.py", "tokenizer.py"):
        assert (HERE / "checks" / name).read_bytes() == (HERE / "workspace" / name).read_bytes()


def _functions_changed(a: Path, b: Path) -> set[str]:
    """Names of the top-level functions of ``b`` whose lines differ in ``a`` (the canary
    comment aside)."""
    import difflib

    old = [x for x in a.read_text().splitlines() if CANARY not in x]
    new = [x for x in b.read_text().splitlines() if CANARY not in x]
    spans = [
        (n.name, n.lineno, n.end_lineno or n.lineno)
        for n in ast.parse("\n".join(new)).body
        if isinstance(n, ast.FunctionDef)
    ]
    changed = set()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        lines = range(j1 + 1, max(j2, j1 + 1) + 1)
        hit = {name for name, lo, hi in spans if any(lo <= k <= hi for k in lines)}
        changed |= hit or {f"outside functions: lines {j1 + 1}-{j2}"}
    return changed


def test_workspace_differs_from_the_solution_only_by_the_faults():
    assert _functions_changed(HERE / "solution/harness.py", HERE / "workspace/harness.py") == {
        "iter_batches",
        "rolling_windows",
        "perplexity",
        "loglikelihoods",
    }


def test_instructions_state_the_tolerances():
    c = _constants(HERE / "checks/cases.py")
    text = (HERE / "instructions.md").read_text()

    def num(name: str) -> str:
        return f"{c[name]:.0e}".replace("e-0", "e-")

    assert f"within {num('LOSS_RTOL')} relative" in text
    assert f"within {num('LL_ATOL')} + {num('LL_RTOL')} relative" in text


def test_variants_name_known_scenarios_and_the_last_checks_all():
    names = _scenario_names()
    assert all(s <= names for s in VARIANTS.values())
    assert VARIANTS[FAMILY.variants[-1].id] == names


def test_calibration_edits_apply():
    """Each fault's edits find their text exactly once in the solution, each fix's in the
    starting workspace (as checks/calibrate.py applies them)."""
    source = (HERE / "checks/calibrate.py").read_text()
    start = source.index("_SUM = ")
    end = source.index("class Pipe")
    namespace: dict = {}
    exec(source[start:end], namespace)
    solution = (HERE / "solution/harness.py").read_text()
    workspace = (HERE / "workspace/harness.py").read_text()
    assert set(namespace["FAULTS"]) == set(FAULTS)
    for edits in namespace["FAULTS"].values():
        for text, _ in edits:
            assert solution.count(text) == 1, text
    for edits in namespace["FIXES"].values():
        for text, _ in edits:
            assert workspace.count(text) == 1, text


def _calibrate(cases: list[str], seed: int) -> dict[str, dict]:
    tag = images.image_tag(SUITE, "python-ml")
    out = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp",
         "-v", f"{HERE}:/fam:ro", "-v", f"{SUITE / 'scorers'}:/scorers:ro", "-w", "/fam", tag,
         "python3", "checks/calibrate.py", "--seeds", str(seed), "--cases", *cases],
        capture_output=True, text=True, timeout=600, check=True,
    ).stdout  # fmt: skip
    return {r["case"]: r for r in map(json.loads, out.splitlines())}


@pytest.mark.docker
def test_calibration():
    hacks = sorted(p.name for p in (HERE / "hacks").iterdir() if p.is_dir())
    cases = ["solution", "workspace", *FAULTS, *PARTIAL, *(f"hack:{h}" for h in hacks)]
    rows = _calibrate(cases, seed=7)
    every = set(rows["solution"]["report"])
    assert set(rows["solution"]["passed"]) == every, rows["solution"]
    assert rows["workspace"]["passed"] == [], rows["workspace"]
    for fault, (always, maybe) in FAULTS.items():
        failed = every - set(rows[fault]["passed"])
        assert always <= failed <= always | maybe, (fault, failed)
    for case, variants in PARTIAL.items():
        passed = set(rows[case]["passed"])
        assert {v for v, s in VARIANTS.items() if s <= passed} == variants, (case, passed)
    first, last = FAMILY.variants[0].id, FAMILY.variants[-1].id
    for h in hacks:
        passed = set(rows[f"hack:{h}"]["passed"])
        assert not (VARIANTS[first] <= passed or VARIANTS[last] <= passed), (h, passed)
