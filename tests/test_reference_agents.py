"""Every variant of the real suite, in the real sandbox: the oracle succeeds and noop fails, and
each family's scoring stays within half its timeout (room for a loaded machine)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rsibench.cli import main
from rsibench.records import load_records

pytestmark = pytest.mark.docker


def test_oracle_succeeds_and_noop_fails_on_every_variant(suite, tmp_path, monkeypatch):
    monkeypatch.setenv("RSIBENCH_ROOT", str(suite.root))
    result = CliRunner().invoke(
        main,
        ["validate", "--log-dir", str(tmp_path / "logs"), "--records-dir", str(tmp_path / "runs")],
        catch_exceptions=False,
    )
    n = len(suite.variants)
    assert result.output.strip().splitlines()[-1] == f"{2 * n} passed, 0 failed", result.output
    assert result.exit_code == 0
    oracle = load_records(tmp_path / "runs" / "oracle.jsonl")
    noop = load_records(tmp_path / "runs" / "noop.jsonl")
    assert sorted(r["task_id"] for r in oracle) == sorted(v.task_id for v in suite.variants)
    assert all(r["success"] and r["score_normalised"] >= r["threshold"] for r in oracle)
    assert not any(r["success"] for r in noop)
    for r in oracle + noop:
        family = next(f for f in suite.families if f.id == r["family"])
        assert r["scoring_time_s"] <= family.scorer.timeout / 2, r
    saved = json.loads((tmp_path / "runs" / "validation.json").read_text())
    assert saved["passed"] == 2 * n and saved["failed"] == 0
    assert set(saved["scoring_seconds"]) == {f.id for f in suite.families}
