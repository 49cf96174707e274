"""charlm-speedrun: the scorer's copies are the visible files, and each variant's threshold is
its time fraction on the normalised (log-speedup) scale."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

from rsibench.suite import load_family

HERE = Path(__file__).resolve().parents[1]
FAMILY, _ = load_family(HERE, HERE.parents[2])


@pytest.mark.parametrize(("hidden", "visible"), [("baseline.py", "train.py"), ("lm.py", "lm.py")])
def test_hidden_copies_are_the_visible_files(hidden, visible):
    assert (HERE / "checks" / hidden).read_bytes() == (HERE / "workspace" / visible).read_bytes()


def test_thresholds_are_the_time_fractions():
    reference = FAMILY.scorer.params["reference_speedup"]
    for v in FAMILY.variants:
        fraction = v.params["time_fraction"]
        assert v.threshold == pytest.approx(math.log(1 / fraction) / math.log(reference), abs=1e-4)
        assert float(v.params["speedup"]) == pytest.approx(1 / fraction, rel=0.02)
        # the oracle's speedup covers the hardest variant with margin
        assert reference * fraction >= 1.3


def test_every_architecture_the_format_allows_is_causal():
    torch = pytest.importorskip("torch")
    lm = FAMILY.checks_module("lm")
    gen = torch.Generator().manual_seed(0)
    for norm, pos, mlp, tie, qk in itertools.product(
        ("layernorm", "rmsnorm"),
        ("learned", "rope", "none"),
        ("gelu", "relu2", "swiglu"),
        (True, False),
        (True, False),
    ):
        arch = {
            "d_model": 16,
            "n_layer": 2,
            "n_head": 2,
            "d_ff": 32,
            "norm": norm,
            "pos": pos,
            "mlp": mlp,
            "tie_embeddings": tie,
            "qk_norm": qk,
            "logit_softcap": 30.0,
        }
        assert lm.causality_violation(lm.LM(arch).eval(), gen) < 1e-5, arch


def test_measure_calibrates_as_the_scorer_does():
    text = (HERE / "checks" / "measure.py").read_text()
    steps = FAMILY.scorer.params["calibration_steps"]
    assert f"CALIBRATION_STEPS = {steps}" in text


def test_corpus_reproduces_the_workspace_text():
    corpus = FAMILY.checks_module("generate_corpus")
    assert corpus.training_ids(11) == (HERE / "workspace" / "train.bin").read_bytes()
