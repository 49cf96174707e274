"""The regression gate, on records simulated at known horizons."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from scipy.stats import fisher_exact

from rsibench import gate
from rsibench.cli_stats import gate as gate_cmd
from rsibench.cli_stats import plan as plan_cmd
from rsibench.records import append_records, read_runs, scored
from rsibench.simulate import simulate_records, synthetic_suite

SUITE = synthetic_suite(n_tasks=30)
#: Enough attempts per task on 30 tasks for the gate to detect a halving (--detectable 0.5).
EPOCHS = 32


def read_inputs(paths: list[Path]):
    return scored(read_runs(paths))


def write(
    path: Path, true_p50: float, *, seed: int, epochs: int = EPOCHS, model: str | None = None
) -> Path:
    records = simulate_records(
        SUITE.variants,
        horizon=true_p50,
        suite_version=SUITE.version,
        epochs=epochs,
        seed=seed,
        model=model or path.stem,
    )
    append_records(path, records)
    return path


def run_gate(baseline: Path, candidate: Path, *args: str) -> Result:
    argv = ["--baseline", str(baseline), "--candidate", str(candidate), "--bootstrap", "300"]
    return CliRunner().invoke(gate_cmd, argv + list(args))


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write(tmp_path / "base.jsonl", 60.0, seed=1)


def test_clearly_worse_candidate_fails(tmp_path: Path, base: Path) -> None:
    worse = write(tmp_path / "worse.jsonl", 10.0, seed=2)
    result = run_gate(base, worse, "--json")
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert out["verdict"] == "fail" and out["exit_code"] == 1
    assert out["candidate"]["p50"] < out["baseline"]["p50"]
    assert out["difference"]["p50_ci"][1] < 0
    assert out["difference"]["relative"] < -0.1
    assert out["baseline"]["model"] == "base" and out["candidate"]["model"] == "worse"
    assert out["tasks"]["compared"] == 30 and len(out["tasks"]["regressed"]) > 0


def test_equal_candidate_with_another_seed_passes(tmp_path: Path, base: Path) -> None:
    same = write(tmp_path / "same.jsonl", 60.0, seed=3)
    result = run_gate(base, same)
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output


def test_tiny_sample_refuses_to_judge(tmp_path: Path, base: Path) -> None:
    tiny = write(tmp_path / "tiny.jsonl", 5.0, seed=4, epochs=1)
    result = run_gate(base, tiny)
    assert result.exit_code == 2
    assert "too little data" in result.output and "--min-epochs 3" in result.output
    # Lowering the bar is allowed, and then the gate judges.
    assert run_gate(base, tiny, "--min-epochs", "1").exit_code in (0, 1)


def test_small_drop_within_max_drop_passes(tmp_path: Path, base: Path) -> None:
    worse = write(tmp_path / "worse.jsonl", 10.0, seed=2)
    # --detectable 1: a drop of 99% is all this policy can catch, so the power check is off.
    result = run_gate(base, worse, "--json", "--max-drop", "0.99", "--detectable", "1")
    assert result.exit_code == 0, result.output
    assert "within the allowed 99%" in json.loads(result.stdout)["reasons"][0]


def test_fail_on_improvement_alerts(tmp_path: Path, base: Path) -> None:
    better = write(tmp_path / "better.jsonl", 600.0, seed=5)
    assert run_gate(base, better).exit_code == 0
    result = run_gate(base, better, "--fail-on-improvement", "0.5", "--json")
    assert result.exit_code == 1
    assert "rose" in json.loads(result.stdout)["reasons"][0]


def test_junit_is_valid_xml_with_a_case_per_task(tmp_path: Path, base: Path) -> None:
    worse = write(tmp_path / "worse.jsonl", 10.0, seed=2)
    junit = tmp_path / "out" / "gate.xml"
    junit.parent.mkdir()
    result = run_gate(base, worse, "--junit", str(junit))
    assert result.exit_code == 1
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuite"
    cases = root.findall("testcase")
    assert int(root.get("tests")) == len(cases) == 31
    horizon_case = cases[0]
    assert horizon_case.get("name") == "horizon p50"
    assert horizon_case.find("failure") is not None
    assert {c.get("name") for c in cases[1:]} == {v.task_id for v in SUITE.variants}
    assert int(root.get("failures")) == sum(c.find("failure") is not None for c in cases)


def test_junit_passing_gate_has_no_horizon_failure(tmp_path: Path, base: Path) -> None:
    same = write(tmp_path / "same.jsonl", 60.0, seed=3)
    junit = tmp_path / "gate.xml"
    assert run_gate(base, same, "--junit", str(junit)).exit_code == 0
    horizon_case = ET.parse(junit).getroot().find("testcase")
    assert horizon_case.find("failure") is None and horizon_case.find("error") is None


def test_markdown_comment(tmp_path: Path, base: Path) -> None:
    worse = write(tmp_path / "worse.jsonl", 10.0, seed=2)
    md = tmp_path / "comment.md"
    run_gate(base, worse, "--markdown", str(md))
    text = md.read_text()
    assert text.startswith("## rsibench gate: ❌ fail")
    assert "| baseline | `base` |" in text and "| candidate | `worse` |" in text
    assert "Tasks that regressed" in text


def test_tasks_only_one_side_attempted_are_listed_and_skipped(tmp_path: Path) -> None:
    base = write(tmp_path / "base.jsonl", 60.0, seed=1)
    cand = tmp_path / "cand.jsonl"
    write(cand, 60.0, seed=3)
    kept = [ln for ln in cand.read_text().splitlines() if "synthetic-01/" not in ln]
    cand.write_text("\n".join(kept) + "\n")
    junit = tmp_path / "gate.xml"
    result = run_gate(base, cand, "--json", "--junit", str(junit))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["tasks"]["only_baseline"] == [
        "synthetic-01/v01",
        "synthetic-01/v11",
        "synthetic-01/v21",
    ]
    assert out["tasks"]["compared"] == 27
    assert ET.parse(junit).getroot().get("skipped") == "3"


def test_invalid_record_exits_2_naming_file_and_line(tmp_path: Path, base: Path) -> None:
    candidate = tmp_path / "cand.jsonl"
    candidate.write_text('{"schema_version": 1}\n')
    result = run_gate(base, candidate, "--json")
    assert result.exit_code == 2
    assert f"{candidate}:1" in result.output
    assert json.loads(result.stdout)["verdict"] == "error"


def test_missing_file_exits_2(tmp_path: Path, base: Path) -> None:
    result = run_gate(base, tmp_path / "missing.jsonl")
    assert result.exit_code == 2
    assert "missing.jsonl: cannot read" in result.output


def test_no_shared_tasks_exit_2(tmp_path: Path, base: Path) -> None:
    other = synthetic_suite(n_tasks=6)
    records = simulate_records(other.variants, horizon=30, suite_version="v", epochs=3)
    for r in records:
        r["task_id"] = r["task_id"].replace("synthetic", "other")
        r["family"] = r["family"].replace("synthetic", "other")
        r["run_id"] = r["run_id"].replace("synthetic", "other")
    append_records(tmp_path / "other.jsonl", records)
    junit = tmp_path / "gate.xml"
    result = run_gate(base, tmp_path / "other.jsonl", "--junit", str(junit))
    assert result.exit_code == 2
    assert "no task was attempted by both sides" in result.output
    assert ET.parse(junit).getroot().find("testcase/error") is not None


def test_different_human_minutes_exit_2(tmp_path: Path, base: Path) -> None:
    cand = write(tmp_path / "cand.jsonl", 60.0, seed=3)
    cand.write_text(cand.read_text().replace('"human_minutes": 1.0,', '"human_minutes": 2.0,'))
    result = run_gate(base, cand)
    assert result.exit_code == 2
    assert "task synthetic-01/v01 has human_minutes 1.0 and 2.0" in result.output


def test_several_models_need_a_choice(tmp_path: Path, base: Path) -> None:
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    write(mixed / "a.jsonl", 60.0, seed=3, model="ckpt-a")
    write(mixed / "b.jsonl", 5.0, seed=4, model="ckpt-b")
    result = run_gate(base, mixed)
    assert result.exit_code == 2
    assert "2 models (ckpt-a, ckpt-b)" in result.output and "--candidate-model" in result.output
    assert run_gate(base, mixed, "--candidate-model", "ckpt-a").exit_code == 0
    assert run_gate(base, mixed, "--candidate-model", "ckpt-b").exit_code == 1
    missing = run_gate(base, mixed, "--candidate-model", "ckpt-z")
    assert missing.exit_code == 2 and "no runs of model 'ckpt-z'" in missing.output


def test_compare_api_is_paired_and_reproducible(tmp_path: Path, base: Path) -> None:
    same = write(tmp_path / "same.jsonl", 60.0, seed=3)
    policy = gate.Policy(bootstrap=200, seed=9)
    one = gate.compare(read_inputs([base]), read_inputs([same]), policy)
    two = gate.compare(read_inputs([base]), read_inputs([same]), policy)
    assert one.difference_ci == two.difference_ci
    assert one.difference == pytest.approx(one.candidate.p50 - one.baseline.p50)
    # Identical single-attempt records on both sides: runs have nothing to resample, so if the
    # family and task draws are shared every paired difference is exactly 0.
    single = write(tmp_path / "single.jsonl", 60.0, seed=4, epochs=1)
    paired = gate.Policy(bootstrap=200, min_epochs=1)
    self_check = gate.compare(read_inputs([single]), read_inputs([single]), paired)
    assert self_check.difference_ci == (0.0, 0.0) and self_check.verdict == "pass"


@pytest.mark.parametrize(
    ("b_wins", "b_runs", "c_wins", "c_runs"),
    [(3, 4, 0, 4), (4, 4, 0, 4), (5, 8, 2, 6), (1, 3, 3, 3)],
)
def test_fisher_matches_scipy(b_wins: int, b_runs: int, c_wins: int, c_runs: int) -> None:
    table = [[b_wins, b_runs - b_wins], [c_wins, c_runs - c_wins]]
    worse = gate.fisher_one_sided(b_wins, b_runs, c_wins, c_runs, worse=True)
    better = gate.fisher_one_sided(b_wins, b_runs, c_wins, c_runs, worse=False)
    assert worse == pytest.approx(fisher_exact(table, alternative="greater")[1])
    assert better == pytest.approx(fisher_exact(table, alternative="less")[1])


def test_underpowered_comparison_cannot_judge_instead_of_passing(tmp_path: Path) -> None:
    # A quarter of the baseline's horizon, but only 3 attempts per task: the data cannot see a
    # halving, so the gate must not pass.
    base = write(tmp_path / "base.jsonl", 60.0, seed=1, epochs=3)
    worse = write(tmp_path / "worse.jsonl", 40.0, seed=2, epochs=3)
    junit, md = tmp_path / "gate.xml", tmp_path / "gate.md"
    result = run_gate(base, worse, "--json", "--junit", str(junit), "--markdown", str(md))
    assert result.exit_code == 2, result.output
    out = json.loads(result.stdout)
    assert out["verdict"] == "inconclusive" and out["exit_code"] == 2
    assert out["reasons"][0].startswith("cannot judge: this data can only detect drops larger ")
    assert "epochs (now 3) would detect 50%" in out["reasons"][0]
    assert out["power"]["detectable_drop"] > 0.5 and out["power"]["epochs_needed"] > 3
    assert ET.parse(junit).getroot().find("testcase/error") is not None
    assert md.read_text().startswith("## rsibench gate: ⚠️ cannot judge")
    # Accepting a coarser resolution makes the same data judge (here: pass).
    assert run_gate(base, worse, "--detectable", "0.99").exit_code == 0


def test_every_verdict_states_the_detectable_drop(tmp_path: Path, base: Path) -> None:
    for horizon, code in ((60.0, 0), (10.0, 1)):
        cand = write(tmp_path / f"c{horizon:g}.jsonl", horizon, seed=3)
        result = run_gate(base, cand)
        assert result.exit_code == code, result.output
        assert "Smallest drop this data can detect:" in result.output


def test_detectable_drop_shrinks_with_epochs(tmp_path: Path) -> None:
    found = []
    for epochs in (3, 12, 48):
        b = read_inputs([write(tmp_path / f"b{epochs}.jsonl", 60.0, seed=1, epochs=epochs)])
        c = read_inputs([write(tmp_path / f"c{epochs}.jsonl", 60.0, seed=2, epochs=epochs)])
        found.append(gate.compare(b, c, gate.Policy(bootstrap=300)).power.detectable)
    assert found[0] > found[1] > found[2]


def test_plan_finds_the_epochs_for_a_drop() -> None:
    args = ["--drop", "0.75", "--synthetic", "30", "--seeds", "6", "--bootstrap", "100"]
    result = CliRunner().invoke(plan_cmd, [*args, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["tasks"] == 30 and out["epochs"] is not None
    last = out["steps"][-1]
    assert last["epochs"] == out["epochs"] and last["power"] >= 0.8
    assert all(s["power"] < 0.8 for s in out["steps"][:-1])


def doc_commands(path: Path) -> list[tuple[list[str], int]]:
    """Each `rsibench ...` line of the fenced examples in a doc, with the exit status its
    comment promises (0 when it promises none)."""
    import re
    import shlex

    found = []
    for block in re.findall(r"```\n(.*?)```", path.read_text(), flags=re.S):
        for line in block.splitlines():
            command, _, comment = line.partition("#")
            if not command.startswith("rsibench ") or "[" in command or "results/" in command:
                continue
            status = re.match(r"\s*exit (\d)", comment)
            found.append((shlex.split(command)[1:], int(status.group(1)) if status else 0))
    return found


def test_the_examples_in_docs_gate_md_do_what_they_say(tmp_path: Path) -> None:
    from rsibench.cli import main

    commands = doc_commands(Path(__file__).parents[1] / "docs" / "gate.md")
    assert sum(1 for args, _ in commands if args[0] == "gate") >= 2
    for args, status in commands:
        args = [a.replace("/tmp/", f"{tmp_path}/") for a in args]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == status, f"rsibench {' '.join(args)}:\n{result.output}"
