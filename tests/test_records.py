"""Run records: schema validation, atomic appends, clear errors on corrupt files."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from rsibench.harvest import append_new
from rsibench.records import RecordError, append_records, load_records, read_runs


def record(i: int = 0, **over) -> dict:
    rec = {
        "schema_version": 1,
        "run_id": f"run-{i}",
        "suite_version": "0.1.0+abc",
        "task_id": "fam/easy",
        "family": "fam",
        "variant": "easy",
        "category": "debugging",
        "human_minutes": 4.0,
        "human_minutes_source": "estimate",
        "model": "m",
        "agent": "react",
        "epoch": 1,
        "success": True,
        "score_raw": 1.0,
        "score_normalised": 1.0,
        "threshold": 1.0,
        "error": None,
        "input_tokens": 1,
        "output_tokens": 2,
        "total_tokens": 3,
        "cost_usd": None,
        "working_time_s": 1.5,
        "total_time_s": 2.0,
        "limits_hit": [],
        "image": "rsibench/python-ml:abc",
        "image_digest": None,
        "started_at": "2026-11-22T08:00:00+00:00",
        "completed_at": "2026-11-22T08:01:00+00:00",
        "eval_id": "e1",
        "log_file": None,
    }
    rec.update(over)
    return rec


def test_round_trip_to_columns_and_dataframe(tmp_path: Path):
    path = tmp_path / "runs" / "m.jsonl"
    assert append_records(path, [record(0), record(1, success=False)]) == 2
    runs = read_runs([tmp_path / "runs"])
    assert list(runs["run_id"]) == ["run-0", "run-1"]
    assert runs["success"].dtype == bool and runs["human_minutes"][0] == 4.0
    df = runs.to_pandas()
    assert df["success"].dtype == bool and df["human_minutes"].iloc[0] == 4.0
    assert df["limits_hit"].tolist() == [[], []]


def test_the_same_attempt_twice_counts_once(tmp_path: Path):
    path = tmp_path / "m.jsonl"
    append_records(path, [record(0, success=False), record(0), record(1)])
    runs = read_runs([path])
    assert list(runs["run_id"]) == ["run-0", "run-1"] and runs["success"].all()


def test_invalid_record_is_refused_and_nothing_is_written(tmp_path: Path):
    path = tmp_path / "m.jsonl"
    with pytest.raises(
        RecordError, match="human_minutes: -1 is less than or equal to the minimum of 0"
    ):
        append_records(path, [record(0), record(1, human_minutes=-1)])
    assert not path.exists()


def test_corrupt_line_names_file_and_line(tmp_path: Path):
    path = tmp_path / "m.jsonl"
    append_records(path, [record(0)])
    with path.open("a") as f:
        f.write('{"run_id": "half')
    with pytest.raises(RecordError, match=rf"{path}:2: truncated last line"):
        load_records(path)


def test_truncated_last_line_is_named_and_can_be_skipped(tmp_path: Path):
    path = tmp_path / "m.jsonl"
    append_records(path, [record(0), record(1)])
    with path.open("a") as f:
        f.write('{"run_id": "half')  # a writer killed mid-line
    with pytest.raises(RecordError) as err:
        read_runs([path])
    assert str(err.value) == (
        f"{path}:3: truncated last line (the file ends mid-record, as when a writer is "
        "killed); delete that line, or pass --skip-invalid to proceed without it"
    )
    runs = read_runs([path], skip_invalid=True)
    assert len(runs) == 2 and runs.attrs["skipped"] == [str(err.value)]


def test_a_bad_line_in_the_middle_is_not_called_truncated(tmp_path: Path):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps(record(0)) + "\n{oops\n" + json.dumps(record(1)) + "\n")
    with pytest.raises(RecordError, match=rf"{path}:2: not a JSON object .*--skip-invalid"):
        read_runs([path])
    assert len(read_runs([path], skip_invalid=True)) == 2


def test_wrong_field_names_file_line_and_field(tmp_path: Path):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps(record(0, category="cooking")) + "\n")
    with pytest.raises(RecordError, match=rf"{path}:1: invalid run record: category:"):
        read_runs([path])


def test_append_after_a_torn_write_starts_a_new_line(tmp_path: Path):
    path = tmp_path / "m.jsonl"
    path.write_text(json.dumps(record(0)) + "\n" + '{"torn": ')
    append_records(path, [record(1)])
    lines = path.read_text().splitlines()
    assert json.loads(lines[-1])["run_id"] == "run-1"  # the new record is intact


def _writer(args: tuple[str, int]) -> None:
    path, k = args
    append_records(Path(path), [record(k * 100 + i) for i in range(50)])


def test_concurrent_appends_never_interleave(tmp_path: Path):
    path = tmp_path / "m.jsonl"
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_writer, [(str(path), k) for k in range(8)])
    recs = load_records(path)
    assert len(recs) == 400 and len({r["run_id"] for r in recs}) == 400


def test_append_new_skips_attempts_already_recorded(tmp_path: Path):
    path = tmp_path / "m.jsonl"
    assert append_new(path, [record(0), record(1)]) == 2
    assert append_new(path, [record(1), record(2)]) == 1
    assert [r["run_id"] for r in load_records(path)] == ["run-0", "run-1", "run-2"]
