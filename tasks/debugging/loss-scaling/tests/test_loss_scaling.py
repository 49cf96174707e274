"""loss-scaling: the checker's trusted copy of the model is the one the agent sees, later variants
check a superset of the earlier ones' scenarios, and every scenario a variant names exists."""

from __future__ import annotations

import ast
from pathlib import Path

from rsibench.suite import load_family

HERE = Path(__file__).resolve().parents[1]
FAMILY, _ = load_family(HERE, HERE.parents[2])


def _scenario_names() -> set[str]:
    tree = ast.parse((HERE / "checks/cases.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "SCENARIOS":
            return {k.value for k in node.value.keys}  # type: ignore[union-attr]
    raise AssertionError("no SCENARIOS in checks/cases.py")


def test_checks_model_is_the_workspace_model():
    assert (HERE / "checks/model.py").read_bytes() == (HERE / "workspace/model.py").read_bytes()


def test_later_variants_check_a_superset_of_scenarios():
    scenario_sets = [set(v.params["scenarios"]) for v in FAMILY.variants]
    assert all(a <= b for a, b in zip(scenario_sets, scenario_sets[1:], strict=False))


def test_every_scenario_exists_and_the_last_variant_runs_them_all():
    names = _scenario_names()
    for v in FAMILY.variants:
        assert set(v.params["scenarios"]) <= names, v.id
    assert set(FAMILY.variants[-1].params["scenarios"]) == names
