"""run-forensics: the key, the labels and the questions agree, and every fault the variants ask
about is decidable from the logs with a margin of at least twice its seed noise (TASKS.md: a
measurable claim with a smaller margin is not a question)."""

from __future__ import annotations

import csv
import json
import re
import statistics
from pathlib import Path

from rsibench.suite import load_family

HERE = Path(__file__).resolve().parents[1]
FAMILY, _ = load_family(HERE, HERE.parents[2])
KEY = json.loads((HERE / "checks" / "key.json").read_text())
MEASURED = json.loads((HERE / "checks" / "measurements.json").read_text())
LABELS = FAMILY.scorer.params["labels"]


def test_key_labels_and_questions_agree():
    runs = sorted(p.stem for p in (HERE / "workspace" / "runs").glob("run-*.csv"))
    assert sorted(KEY) == runs and set(KEY.values()) == set(LABELS)
    faults = re.findall(
        r'^    "([a-z-]+)": \(\{', (HERE / "checks" / "measure.py").read_text(), re.M
    )
    assert faults == LABELS  # measure.py's FAULTS, in the order the instructions list them
    listed = re.findall(r"^- `([a-z-]+)`:", (HERE / "instructions.md").read_text(), re.M)
    assert listed == LABELS
    asked = [set(v.params["questions"]) for v in FAMILY.variants]
    assert all(a <= b for a, b in zip(asked, asked[1:], strict=False))  # easiest first
    assert asked[-1] == set(KEY)
    assert json.loads((HERE / "solution" / "diagnosis.json").read_text()) == KEY


def _gap(rows: list[dict]) -> float:
    """val - train at the end of a run, as the README defines it."""
    train = statistics.fmean(float(r["train_loss"]) for r in rows[-10:])
    val = [float(r["val_loss"]) for r in rows if r["val_loss"] and int(r["step"]) > 300]
    return statistics.fmean(val) - train


def test_the_healthy_looking_faults_are_apart_by_twice_their_noise():
    """healthy, val-on-train-data and eval-in-train-mode differ only in the end-of-run gap:
    every run of one is apart from every run of another by more than twice the healthy spread."""
    gaps: dict[str, list[float]] = {
        f: [s["val_minus_train"] for s in MEASURED[f]]
        for f in ("healthy", "val-on-train-data", "eval-in-train-mode")
    }
    for name, fault in KEY.items():
        if fault in gaps:
            with (HERE / "workspace" / "runs" / f"{name}.csv").open() as f:
                gaps[fault].append(_gap(list(csv.DictReader(f))))
    with (HERE / "workspace" / "reference.csv").open() as f:
        gaps["healthy"].append(_gap(list(csv.DictReader(f))))
    noise = statistics.stdev(gaps["healthy"])
    assert max(gaps["val-on-train-data"]) < min(gaps["healthy"]) - 2 * noise
    assert min(gaps["eval-in-train-mode"]) > max(gaps["healthy"]) + 2 * noise


def test_the_other_faults_stand_out_from_healthy_by_twice_their_noise():
    def mean_sd(fault: str, stat: str) -> tuple[float, float]:
        values = [s[stat] for s in MEASURED[fault]]
        return statistics.fmean(values), statistics.stdev(values)

    distinguishing = {
        "weight-decay-far-above-recipe": "param_norm_change",
        "missing-zero-grad": "final_update_ratio",
        "bad-init-scale": "first_train_loss",
        "labels-not-shifted": "final_train_loss",
        "same-batch-every-step": "final_train_loss",
        "val-tokenizer-mismatch": "val_minus_train",
        "lr-far-above-recipe": "peak_lr",
        "lr-far-below-recipe": "peak_lr",
        "no-warmup": "first_lr",
    }
    for fault, stat in distinguishing.items():
        (m, s), (hm, hs) = mean_sd(fault, stat), mean_sd("healthy", stat)
        assert abs(m - hm) > 2 * (s + hs), (fault, stat, m, hm)
    # and the two 'loss to zero' faults from each other
    (a, sa), (b, sb) = (
        mean_sd("labels-not-shifted", "final_val_loss"),
        mean_sd("same-batch-every-step", "final_val_loss"),
    )
    assert abs(a - b) > 2 * (sa + sb)
