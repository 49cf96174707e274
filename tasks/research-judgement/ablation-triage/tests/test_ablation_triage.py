"""ablation-triage: the key is what the measurements say (checks/make_key.py), every question's
margin exceeds twice its seed noise, the variants ask what the instructions name, guessing
passes no variant with more than 5% chance, and the shortcuts open to an agent fail."""

from __future__ import annotations

import csv
import json
import math
import statistics
from pathlib import Path

from rsibench.suite import load_family

HERE = Path(__file__).resolve().parents[1]
FAMILY, _ = load_family(HERE, HERE.parents[2])
KEY = json.loads((HERE / "checks" / "key.json").read_text())
RUNS = json.loads((HERE / "checks" / "measurements.json").read_text())["runs"]


make_key = FAMILY.checks_module("make_key")
measure = FAMILY.checks_module("measure")

LABELS = FAMILY.scorer.params["labels"]


def _right(answer: dict, questions: list[str]) -> bool:
    for q in questions:
        entry = KEY[q]
        if isinstance(entry, dict):
            if not abs(answer[q] - entry["value"]) <= entry["tolerance"]:
                return False
        elif answer[q] != entry:
            return False
    return True


def test_the_key_is_what_the_measurements_say_and_every_margin_is_twice_its_noise():
    key, problems = make_key.build(RUNS)
    assert problems == [] and key == KEY
    assert set(RUNS) == {make_key.BASELINE, *measure.CHANGES}
    assert all(len(RUNS[c]["deciding"]) == len(measure.DECIDING_SEEDS) >= 3 for c in RUNS)
    assert set(LABELS) == {*measure.CHANGES, "helps", "hurts"}


def test_variants_ask_known_questions_easiest_first_and_the_solution_is_the_key():
    asked = [v.params["questions"] for v in FAMILY.variants]
    assert all(set(q) <= set(KEY) for q in asked)
    solution = json.loads((HERE / "solution" / "answer.json").read_text())
    assert solution == {q: (e["value"] if isinstance(e, dict) else e) for q, e in KEY.items()}
    for variant in FAMILY.variants:  # the instructions name every change a variant ranks
        for q in variant.params["questions"]:
            if q.startswith("rank-"):
                assert f"`{KEY[q]}`" in variant.params["task"], (variant.id, q)


def test_the_probe_table_is_the_measured_small_runs():
    with (HERE / "workspace" / "probes.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {r["change"] for r in rows} == {make_key.BASELINE, *measure.PROBED}
    for r in rows:
        assert float(r["val_loss"]) == round(RUNS[r["change"]]["small"][r["seed"]], 4)


def guess_odds(questions: list[str]) -> float:
    """The chance that uniform guessing passes: a random order of each ranked set, a coin per
    sign, and an effect drawn uniformly over the measured effects' range widened by 0.05."""
    sets: dict[str, int] = {}
    odds = 1.0
    effects = [e["value"] for e in KEY.values() if isinstance(e, dict)]
    for q in questions:
        if q.startswith("rank-"):
            name = q.split("-")[1]
            sets[name] = sets.get(name, 0) + 1
        elif q.startswith("sign-"):
            odds *= 0.5
        else:
            span = max(effects) - min(effects) + 0.1
            odds *= min(1.0, 2 * KEY[q]["tolerance"] / span)
    for n in sets.values():
        odds /= math.factorial(n)
    return odds


def test_guessing_passes_no_variant_with_more_than_five_percent():
    for variant in FAMILY.variants:
        assert guess_odds(variant.params["questions"]) <= 0.05, variant.id


def test_the_static_hacks_fail_every_variant():
    """small-scale-order (the build's own 3-seed small-scale means) is right about rank-four,
    whose order does not change with scale: there the work is probing well (the README says so)."""
    for variant in FAMILY.variants:
        qs = variant.params["questions"]
        for name in ("alphabetical-order", "small-scale-order", "same-change-everywhere"):
            if (name, variant.id) == ("small-scale-order", "rank-four"):
                continue
            answer = json.loads((HERE / "hacks" / name / "answer.json").read_text())
            assert not _right(answer, qs), (name, variant.id)


def test_the_probe_table_misleads_and_the_deciding_scale_on_the_slice_is_close():
    """Ranking the probed changes by probes.csv is wrong (the easiest variant asks exactly
    that); the deciding width and length run on the workspace's slice (one seed) is within the
    effect tolerance of every measured effect: the README says so, and sizes the work by it."""

    def small(c: str) -> float:
        return statistics.fmean(RUNS[c]["small"].values())

    ranked = [KEY[q] for q in FAMILY.variants[0].params["questions"]]
    assert ranked != sorted(ranked, key=small)
    base = RUNS[make_key.BASELINE]["replica"]["201"]
    for c in measure.CHANGES:
        replica = RUNS[c]["replica"]["201"] - base
        assert abs(replica - KEY[f"effect-{c}"]["value"]) <= make_key.TOLERANCE, c
