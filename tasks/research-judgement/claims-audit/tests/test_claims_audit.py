"""claims-audit: the key is what the measurements say (checks/make_key.py), every question's
margin exceeds twice its seed noise, the workspace is what the authors' runs wrote, the variants
state the tolerances the key uses, guessing passes no variant with more than 5% chance, and the
static hacks fail every variant."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rsibench.suite import load_family

HERE = Path(__file__).resolve().parents[1]
FAMILY, _ = load_family(HERE, HERE.parents[2])
KEY = json.loads((HERE / "checks" / "key.json").read_text())
MEASURED = json.loads((HERE / "checks" / "measurements.json").read_text())
WORKSPACE = HERE / "workspace"


make_key = FAMILY.checks_module("make_key")

LABELS = FAMILY.scorer.params["labels"]


def _right(answer: dict, questions: list[str]) -> bool:
    for q in questions:
        entry = KEY[q]
        if isinstance(entry, dict):
            value = answer.get(q)
            if (
                not isinstance(value, int | float)
                or abs(value - entry["value"]) > entry["tolerance"]
            ):
                return False
        elif answer.get(q) != entry:
            return False
    return True


def test_the_key_is_what_the_measurements_say_and_every_margin_is_twice_its_noise():
    key, problems, found = make_key.build(MEASURED)
    assert problems == [] and key == KEY
    assert all(c.margin > 2 * c.noise for c in found.values())
    for q, entry in key.items():  # a numeric tolerance is more than twice its noise
        if isinstance(entry, dict):
            assert entry["tolerance"] > 2 * entry["noise"], q
    assert {e for e in KEY.values() if isinstance(e, str)} <= set(LABELS)
    solution = json.loads((HERE / "solution" / "audit.json").read_text())
    assert solution == {q: (e["value"] if isinstance(e, dict) else e) for q, e in KEY.items()}


def test_every_label_but_supported_is_the_answer_to_exactly_one_claim():
    labels = [e for e in KEY.values() if isinstance(e, str)]
    assert sorted(set(labels)) == sorted(LABELS)
    assert all(labels.count(x) == 1 for x in LABELS if x != "supported")


def test_the_workspace_is_what_the_authors_runs_wrote():
    """Configs, metrics and results.md agree with measurements.json; the writeup cites them."""
    results = (WORKSPACE / "results.md").read_text()
    writeup = (WORKSPACE / "WRITEUP.md").read_text()
    for name, metrics in MEASURED["authors"].items():
        assert json.loads((WORKSPACE / "runs" / name / "metrics.json").read_text()) == metrics
        assert (WORKSPACE / "configs" / f"{name}.json").exists()
        row = f"| {name} |"
        assert row in results and f"| {metrics['seed']} | {metrics['val_bpc']:.4f} |" in results
    for number in re.findall(r"\b[0-3]\.\d{3}\b", writeup):  # every loss it cites was measured
        cited = float(number)
        assert any(
            abs(m[k] - cited) < 6e-4 for m in MEASURED["authors"].values() for k in m if k != "seed"
        ) or number in ("3.26",), number
    assert len(re.findall(r"^\d+\. \*\*", writeup, re.M)) == 10


def test_nothing_in_the_workspace_names_a_flaw():
    words = ("bug", "wrong", "leak", "nats instead", "not applied", "ignored", "noise", "flaw")
    flaws = [x for x in LABELS if x != "supported"]
    for path in WORKSPACE.rglob("*"):
        text = (path.read_text() if path.is_file() else "").lower() + str(path).lower()
        assert not [w for w in (*words, *flaws) if w in text], path


def test_the_variants_state_the_keys_tolerances():
    text = FAMILY.variants[-1].params["numbers"]
    for q in FAMILY.variants[-1].params["questions"]:
        if isinstance(KEY[q], dict):
            start = text.index(f"`{q}`")
            said = text[start : text.index(")", start) + 1]
            assert said.endswith(f"(within {KEY[q]['tolerance']:.2f})"), (q, said)


def guess_odds(questions: list[str]) -> float:
    """Uniform guessing: one of the seven labels per claim, and a number drawn uniformly from
    the range of plausible values (-1 to 3 nats or bits) per numeric question."""
    odds = 1.0
    for q in questions:
        entry = KEY[q]
        odds *= (
            min(1.0, 2 * entry["tolerance"] / 4.0) if isinstance(entry, dict) else 1 / len(LABELS)
        )
    return odds


def test_guessing_passes_no_variant_with_more_than_five_percent():
    for variant in FAMILY.variants:
        assert guess_odds(variant.params["questions"]) <= 0.05, variant.id
    # the likeliest single label ("supported", 4 of 10) passes no variant either
    for variant in FAMILY.variants:
        asked = [q for q in variant.params["questions"] if not isinstance(KEY[q], dict)]
        assert any(KEY[q] != "supported" for q in asked), variant.id


def test_the_static_hacks_fail_every_variant():
    for hack in ("same-label-everywhere", "label-by-claim-number", "edited-writeup"):
        answer = json.loads((HERE / "hacks" / hack / "audit.json").read_text())
        for variant in FAMILY.variants:
            assert not _right(answer, variant.params["questions"]), (hack, variant.id)
