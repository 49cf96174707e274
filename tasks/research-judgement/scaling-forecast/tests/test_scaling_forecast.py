"""scaling-forecast: the key, the measurements and the questions agree; every tolerance exceeds
twice the seed noise of the value it is about (TASKS.md: a measurable claim with a smaller margin
is not a question); and the obvious guesses from the small runs fail every variant."""

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
with (HERE / "workspace" / "small_runs.csv").open() as f:
    SMALL = list(csv.DictReader(f))


def _passes(answer: dict[str, float], questions: list[str]) -> bool:
    return all(abs(answer[q] - KEY[q]["value"]) <= KEY[q]["tolerance"] for q in questions)


def test_key_measurements_and_questions_agree():
    assert set(KEY) == set(MEASURED)
    for q, m in MEASURED.items():
        assert q == f"w{m['width']}-s{m['steps']}" and len(m["val_loss"]) == 3
        assert abs(KEY[q]["value"] - statistics.fmean(m["val_loss"])) < 1e-4
    asked = [v.params["questions"] for v in FAMILY.variants]
    assert all(set(a) <= set(b) for a, b in zip(asked, asked[1:], strict=False))  # easiest first
    assert set(asked[-1]) <= set(KEY) and min(len(a) for a in asked) >= 2
    solution = json.loads((HERE / "solution" / "forecast.json").read_text())
    assert solution == {q: k["value"] for q, k in KEY.items()}
    # the tolerance the instructions state is the key's
    stated = re.search(r"within ([0-9.]+) nats", (HERE / "instructions.md").read_text())
    assert stated and all(k["tolerance"] == float(stated.group(1)) for k in KEY.values())


def test_every_tolerance_exceeds_twice_the_seed_noise():
    for q, m in MEASURED.items():
        noise = statistics.stdev(m["val_loss"])
        assert KEY[q]["tolerance"] > 2 * noise, (q, noise)
        # and every single seed's run is itself within tolerance of the key's mean
        assert all(abs(v - KEY[q]["value"]) <= KEY[q]["tolerance"] for v in m["val_loss"])


def _small_mean(width: int, steps: int) -> float:
    rows = [r for r in SMALL if int(r["width"]) == width and int(r["steps"]) == steps]
    assert len(rows) == 3
    return statistics.fmean(float(r["val_loss"]) for r in rows)


def test_copying_the_nearest_small_run_or_a_constant_fails_every_variant():
    """The nearest small run (the widest, at the same step count or the longest there is) misses
    every question by more than its tolerance, and no one number is within tolerance of every
    question of any variant."""
    longest = max(int(r["steps"]) for r in SMALL)
    widest = max(int(r["width"]) for r in SMALL)
    for q in FAMILY.variants[-1].params["questions"]:
        m = MEASURED[q]
        nearest = _small_mean(widest, min(m["steps"], longest))
        assert nearest - KEY[q]["value"] > KEY[q]["tolerance"], q
    for variant in FAMILY.variants:
        values = sorted(KEY[q]["value"] for q in variant.params["questions"])
        assert values[-1] - values[0] > 2 * max(k["tolerance"] for k in KEY.values()), variant.id


def test_the_hacks_fail_the_easiest_variant_on_the_numbers():
    first = FAMILY.variants[0].params["questions"]
    for name in ("nearest-small-run", "one-number-everywhere"):
        answer = json.loads((HERE / "hacks" / name / "forecast.json").read_text())
        assert not _passes(answer, first), name
