"""grad-accum: the checker's trusted copy of the model is the one the agent sees, and later
variants check a superset of the earlier ones' scenarios (a hack failing the first fails all)."""

from __future__ import annotations

from pathlib import Path

from rsibench.suite import load_family

HERE = Path(__file__).resolve().parents[1]
FAMILY, _ = load_family(HERE, HERE.parents[2])


def test_checks_model_is_the_workspace_model():
    assert (HERE / "checks/model.py").read_bytes() == (HERE / "workspace/model.py").read_bytes()


def test_later_variants_check_a_superset_of_scenarios():
    scenario_sets = [set(v.params["scenarios"]) for v in FAMILY.variants]
    assert all(a <= b for a, b in zip(scenario_sets, scenario_sets[1:], strict=False))
