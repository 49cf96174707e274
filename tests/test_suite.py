"""Loading task families: every problem named with its file, field and fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rsibench.cli import main
from rsibench.suite import SuiteError, load_suite

MINI = Path(__file__).resolve().parent / "fixtures" / "mini"
FAMILY = "tasks/debugging/fix-answer"


@pytest.fixture
def root(mini_copy: Path) -> Path:
    return mini_copy


def edit_spec(root: Path, change) -> Path:
    path = root / FAMILY / "task.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))
    return path


def problems(root: Path) -> list[str]:
    with pytest.raises(SuiteError) as info:
        load_suite(root)
    return info.value.problems


def test_fixture_suite_loads_with_versioned_variants(root):
    suite = load_suite(root)
    assert [v.task_id for v in suite.variants] == ["fix-answer/easy", "fix-answer/hard"]
    assert suite.version.startswith("0.0.1+")
    v = suite.variants[0]
    assert v.instructions().startswith("Make `python3 answer.py` in /workspace print 42.")
    assert v.family.resources.memory == "512m" and v.family.agent.working_minutes == 5


def test_suite_version_changes_when_a_check_changes(root):
    before = load_suite(root).version
    (root / FAMILY / "checks" / "expected.txt").write_text("43\n")
    assert load_suite(root).version != before


def test_missing_field_names_file_field_and_fix(root):
    path = edit_spec(root, lambda d: d.pop("summary"))
    [p] = problems(root)
    assert p.startswith(f"{path}: summary: missing; this field is required. Fix: One or two")


def test_bad_value_names_the_nested_field_and_says_what_is_allowed(root):
    path = edit_spec(root, lambda d: d["resources"].update(memory="lots"))
    [p] = problems(root)
    assert p.startswith(f"{path}: resources.memory: String should match pattern")
    assert "(got 'lots')" in p and "Fix: Memory cap per container with a unit, e.g. 2g" in p


def test_wrong_type_is_not_coerced_and_says_the_fix(root):
    path = edit_spec(root, lambda d: d["variants"][0].update(human_minutes="one"))
    [p] = problems(root)
    assert p.startswith(f"{path}: variants.0.human_minutes: Input should be a valid number")
    assert "(got 'one')" in p and "Fix: Minutes a skilled ML engineer needs" in p
    edit_spec(root, lambda d: d["variants"][0].update(human_minutes="45"))
    assert "variants.0.human_minutes" in problems(root)[0]  # no silent "45" -> 45


def test_unknown_field_lists_the_allowed_ones(root):
    path = edit_spec(root, lambda d: d["agent"].update(minutes=3))
    [p] = problems(root)
    assert p.startswith(f"{path}: agent.minutes: unknown field; remove it or use one of:")
    assert "working_minutes" in p


def test_variant_problems_are_indexed(root):
    def change(d):
        d["variants"][1]["human_minutes"] = -3
        d["variants"][1]["human_minutes_source"] = "guess"

    edit_spec(root, change)
    found = problems(root)
    assert any("variants.1.human_minutes: Input should be greater than 0" in p for p in found)
    assert any(
        "variants.1.human_minutes_source: Input should be 'estimate' or 'baseline'" in p
        for p in found
    )


def test_missing_family_file_says_how_to_start_one(root):
    (root / FAMILY / "instructions.md").unlink()
    found = "\n".join(problems(root))
    assert "instructions.md: missing; every family needs one" in found
    assert "docs/writing-tasks.md" in found and "rsibench new" in found


def test_shipped_schema_is_generated_from_the_model():
    from rsibench.spec import SCHEMA_FILE, schema_text

    assert SCHEMA_FILE.read_text() == schema_text(), "run `python -m rsibench.spec`"


def test_shipped_schema_accepts_every_family_and_rejects_what_the_model_rejects(root):
    import jsonschema

    from rsibench.spec import task_schema

    validator = jsonschema.Draft202012Validator(task_schema())
    for spec in sorted((MINI.parents[2] / "tasks").glob("*/*/task.yaml")):
        assert not list(validator.iter_errors(yaml.safe_load(spec.read_text()))), spec
    data = yaml.safe_load((root / FAMILY / "task.yaml").read_text())
    data["resources"]["memory"] = "lots"
    assert list(validator.iter_errors(data))


def test_hacks_and_family_tests_do_not_change_the_suite_version(root):
    before = load_suite(root).version
    (root / FAMILY / "hacks" / "new-hack").mkdir(parents=True)
    (root / FAMILY / "hacks" / "new-hack" / "answer.py").write_text("print(42)\n")
    (root / FAMILY / "tests").mkdir(exist_ok=True)
    (root / FAMILY / "tests" / "test_more.py").write_text("def test_x():\n    pass\n")
    assert load_suite(root).version == before


def test_all_problems_reported_at_once(root):
    def change(d):
        d["category"] = "toy-model"
        d["image"] = "nope"
        d["scorer"]["name"] = "missing_scorer"

    edit_spec(root, change)
    (root / FAMILY / "solution" / "solve.sh").unlink()
    found = "\n".join(problems(root))
    assert "category: 'toy-model' but the family sits under tasks/debugging/" in found
    assert "image: no sandboxes/nope/Dockerfile; use one of: python-ml" in found
    assert "scorer.name: no scorers/missing_scorer.py" in found
    assert "solve.sh: missing; the oracle agent runs it" in found


def test_placeholder_without_a_value_in_a_variant(root):
    edit_spec(root, lambda d: d["variants"][0].update(params={}))
    [p] = problems(root)
    assert "variants.0.params: instructions.md uses {n} but this variant does not set it" in p


def test_canary_must_be_in_the_instructions(root):
    text = (root / FAMILY / "instructions.md").read_text()
    (root / FAMILY / "instructions.md").write_text(text.replace("RSIBENCH CANARY", "CANARY"))
    [p] = problems(root)
    assert "instructions.md: must contain the family's canary string" in p


def test_broken_yaml_gives_the_line(root):
    (root / FAMILY / "task.yaml").write_text("id: fix-answer\nvariants: [\n")
    [p] = problems(root)
    assert p.startswith(f"{root / FAMILY / 'task.yaml'}:") and "not valid YAML" in p


def test_duplicate_variant_ids(root):
    edit_spec(root, lambda d: d["variants"][1].update(id="easy"))
    [p] = problems(root)
    assert "variants.1.id: 'easy' repeats" in p


def test_select_by_glob_and_unknown_pattern(root):
    suite = load_suite(root)
    assert [v.id for v in suite.select(["*/hard"])] == ["hard"]
    assert len(suite.select(["debugging"])) == 2
    with pytest.raises(SuiteError, match="matches no task id, family or category"):
        suite.select(["nothing-*"])


def test_cli_list_json_and_clear_error(root, monkeypatch):
    monkeypatch.setenv("RSIBENCH_ROOT", str(root))
    out = CliRunner().invoke(main, ["list", "--json"])
    assert out.exit_code == 0
    rows = json.loads(out.output)
    assert {
        k: rows[0][k] for k in ("id", "family", "category", "human_minutes", "human_minutes_source")
    } == {
        "id": "fix-answer/easy",
        "family": "fix-answer",
        "category": "debugging",
        "human_minutes": 1.0,
        "human_minutes_source": "estimate",
    }
    edit_spec(root, lambda d: d.pop("canary"))
    bad = CliRunner().invoke(main, ["list"])
    assert bad.exit_code == 2
    assert "canary: missing; this field is required" in bad.output
    assert "Traceback" not in bad.output


def test_the_real_suite_is_valid_and_spans_the_categories():
    suite = load_suite(MINI.parents[2])
    cats = {v.family.category for v in suite.variants}
    assert {"debugging", "kernel-optimisation", "toy-model"} <= cats
    for fam in suite.families:
        minutes = {v.human_minutes for v in fam.variants}
        assert len(minutes) >= 2, f"{fam.id} needs variants of different lengths"


def test_the_changelog_has_an_entry_for_the_suite_version():
    root = MINI.parents[2]
    version = (root / "tasks" / "VERSION").read_text().strip()
    assert f"\n## {version}\n" in (root / "tasks" / "CHANGELOG.md").read_text()
