"""The harness end to end on the fixture suite: inspect runs in real sandboxes, records, CLI."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from inspect_ai import Task
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, ModelUsage, get_model

from rsibench import harvest
from rsibench.agents import AgentRun
from rsibench.cli import main
from rsibench.harness import build_task, ready_images
from rsibench.records import load_records
from rsibench.sandbox import SESSION, SESSION_LABEL
from rsibench.suite import Family, Variant, load_suite

MINI = Path(__file__).resolve().parent / "fixtures" / "mini"

pytestmark = pytest.mark.docker


def cli(monkeypatch, root: Path, *args: str):
    monkeypatch.setenv("RSIBENCH_ROOT", str(root))
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def run_cli(monkeypatch, root: Path, tmp_path: Path, *args: str):
    """A run-like command with its logs and records kept under tmp_path."""
    scratch = ("--log-dir", str(tmp_path / "logs"), "--records-dir", str(tmp_path / "runs"))
    return cli(monkeypatch, root, *args, *scratch)


def test_validate_passes_on_the_fixture_suite_and_records_every_attempt(
    monkeypatch, tmp_path, image_tag, docker_client
):
    result = run_cli(monkeypatch, MINI, tmp_path, "validate")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "4 passed, 0 failed"
    oracle = load_records(tmp_path / "runs" / "oracle.jsonl")
    noop = load_records(tmp_path / "runs" / "noop.jsonl")
    assert sorted(r["task_id"] for r in oracle) == ["fix-answer/easy", "fix-answer/hard"]
    assert all(r["success"] and r["score_normalised"] == 1.0 for r in oracle)
    assert not any(r["success"] for r in noop)
    assert {r["image"] for r in oracle} == {image_tag}
    assert all(r["image_digest"].startswith("sha256:") for r in oracle)
    mine = {"label": f"{SESSION_LABEL}={SESSION}"}
    assert docker_client.containers.list(all=True, filters=mine) == []
    assert docker_client.volumes.list(filters=mine) == []

    # running the same command again resumes the finished set: nothing new is recorded
    again = run_cli(monkeypatch, MINI, tmp_path, "validate")
    assert again.exit_code == 0
    assert len(load_records(tmp_path / "runs" / "oracle.jsonl")) == 2


def test_validate_fails_loudly_when_the_oracle_is_wrong(
    monkeypatch, tmp_path, mini_copy, image_tag
):
    root = mini_copy
    answer = root / "tasks/debugging/fix-answer/solution/answer.py"
    answer.write_text(answer.read_text().replace("print(42)", "print(43)"))
    result = run_cli(monkeypatch, root, tmp_path, "validate", "fix-answer/easy")
    assert result.exit_code == 1
    assert "FAIL fix-answer/easy: oracle succeeds" in result.output
    assert result.output.strip().splitlines()[-1] == "1 passed, 1 failed"


def test_a_scorer_that_prints_garbage_is_a_failure_with_the_reason(
    monkeypatch, tmp_path, mini_copy, image_tag
):
    root = mini_copy
    (root / "scorers/output_match.py").write_text(
        "import sys\nprint('{\"success\": true}')\nsys.exit(3)\n"
    )
    result = run_cli(monkeypatch, root, tmp_path, "validate", "fix-answer/easy")
    assert result.exit_code == 1
    [rec] = load_records(tmp_path / "runs" / "oracle.jsonl")
    assert rec["success"] is False
    assert rec["error"] == "scorer exited with status 3"


def scripted_solution(family: Family) -> str:
    """A bash command that recreates the family's solution/ and runs solve.sh, as a model might."""
    lines = ["set -e", "mkdir -p /tmp/sol"]
    src = family.path / "solution"
    for f in sorted(p for p in src.rglob("*") if p.is_file()):
        rel = f.relative_to(src)
        data = base64.b64encode(f.read_bytes()).decode()
        lines += [f"mkdir -p /tmp/sol/{rel.parent}", f"echo {data} | base64 -d > /tmp/sol/{rel}"]
    lines.append("SOLUTION_DIR=/tmp/sol bash /tmp/sol/solve.sh")
    return "\n".join(lines)


def mock_model(command: str):
    usage = ModelUsage(input_tokens=120, output_tokens=30, total_tokens=150)
    outputs = [
        ModelOutput.for_tool_call("mockllm/model", "bash", {"command": command}),
        ModelOutput.for_tool_call("mockllm/model", "submit", {"answer": "done"}),
    ]
    for o in outputs:
        o.usage = usage
    return get_model("mockllm/model", custom_outputs=outputs)


MOCK_RUN = AgentRun("react", "mockllm/model")


def starter_task() -> tuple[Variant, Task]:
    """The first debugging variant of the real suite (the model path must solve a real task)
    and its inspect Task for the model agent."""
    suite = load_suite(MINI.parents[2])
    variant = next(v for v in suite.variants if v.family.category == "debugging")
    return variant, build_task(suite, [variant], MOCK_RUN, ready_images(suite, [variant]))


def test_model_agent_solves_a_starter_task_through_real_tool_calls(tmp_path, image_tag):
    variant, task = starter_task()
    [log] = inspect_eval(
        task,
        model=mock_model(scripted_solution(variant.family)),
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success", log.error
    [rec] = harvest.records_from_log(log, MOCK_RUN)
    assert rec["success"] is True, rec
    assert rec["agent"] == "react" and rec["model"] == "mockllm/model"
    assert rec["total_tokens"] == 300 and rec["input_tokens"] == 240
    tool_calls = [m for m in log.samples[0].messages if m.role == "tool"]
    assert tool_calls and tool_calls[0].function == "bash"


def test_model_agent_that_does_nothing_fails(tmp_path, image_tag):
    _, task = starter_task()
    [log] = inspect_eval(task, model=mock_model("ls -la"), log_dir=str(tmp_path), display="none")
    [rec] = harvest.records_from_log(log, MOCK_RUN)
    assert rec["success"] is False and rec["error"] is None
    assert json.dumps(rec)  # a plain-data record


def test_plain_inspect_runs_the_registered_task_and_harvest_records_it(
    monkeypatch, tmp_path, image_tag
):
    monkeypatch.setenv("RSIBENCH_ROOT", str(MINI))
    [log] = inspect_eval(
        "rsibench/rsibench",
        task_args={"agent": "oracle", "tasks": "*/easy"},
        model="none/none",
        log_dir=str(tmp_path / "logs"),
        display="none",
    )
    assert log.status == "success"
    result = cli(
        monkeypatch,
        MINI,
        "harvest",
        str(tmp_path / "logs"),
        "--records-dir",
        str(tmp_path / "runs"),
    )
    assert result.exit_code == 0, result.output
    [rec] = load_records(tmp_path / "runs" / "oracle.jsonl")
    assert rec["task_id"] == "fix-answer/easy" and rec["success"] is True


def test_a_model_without_its_client_or_key_is_a_clear_error(monkeypatch, tmp_path, image_tag):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = run_cli(
        monkeypatch, MINI, tmp_path, "run", "--model", "openai/gpt-4o", "--tasks", "*/easy"
    )
    assert result.exit_code == 2
    assert "error:" in result.output and "Traceback" not in result.output
    assert "pip install openai" in result.output or "OPENAI_API_KEY" in result.output
