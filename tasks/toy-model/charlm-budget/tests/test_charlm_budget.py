"""charlm-budget: the scorer trains with checks/' copies of the trainer and data, and each
variant's threshold is its target loss on the normalised scale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rsibench.suite import load_family

HERE = Path(__file__).resolve().parents[1]
FAMILY, _ = load_family(HERE, HERE.parents[2])


@pytest.mark.parametrize("name", ["train.py", "train.txt"])
def test_hidden_copies_are_the_visible_files(name):
    assert (HERE / "checks" / name).read_bytes() == (HERE / "workspace" / name).read_bytes()


def test_thresholds_are_the_target_losses():
    params = FAMILY.scorer.params
    start, ref = params["start_loss"], params["reference_loss"]
    for v in FAMILY.variants:
        assert v.threshold == pytest.approx(
            (start - float(v.params["target_loss"])) / (start - ref), abs=1e-4
        )
    # the configs the oracle and the starting workspace hold use every key exactly once
    for config in ("workspace/config.json", "solution/config.json"):
        assert len(json.loads((HERE / config).read_text())) == 15
