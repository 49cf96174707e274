"""Turns checks/measurements.json (made by checks/measure.py) into the answer key, and prints
the README's tables. RSIBENCH CANARY 2db0c65a-60d3-4960-b8e3-39e9ee1c74a6

    python3 checks/make_key.py FAMILY_DIR

A change's effect is its mean deciding-scale loss minus the unchanged recipe's, over the
DECIDING seeds. Runs with the same seed share their data order (and, when the change leaves the
architecture alone, their initial weights), so the noise of a comparison is measured on the
per-seed differences: `noise` is their standard deviation over seeds (the spread one seed's
comparison shows), never the smaller standard error of the mean. Questions:
  rank-SET-K    the K-th best change of SET (lowest deciding loss first): a label
  sign-CHANGE   "helps" or "hurts" against the unchanged recipe: a label
  effect-CHANGE the effect, in nats per character: a number within TOLERANCE
A question is only made if its margin is more than twice its noise (a rank: the gap to the
next change of its set; a sign: the effect itself); otherwise this script stops.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

BASELINE = "baseline"
TOLERANCE = 0.035  # nats per character, absolute: more than twice the largest effect noise
# set name -> the changes a variant ranks (in the order the instructions list them)
SETS = {
    "probed": ("label-smoothing", "lr-6e-3", "qk-layernorm", "warmup-300"),
    "four": ("cosine-decay", "lr-6e-3", "qk-layernorm", "tied-embeddings"),
    "five": ("dropout-0.1", "label-smoothing", "lr-6e-3", "qk-layernorm", "warmup-300"),
}
SIGNS: tuple[str, ...] = (
    "cosine-decay",
    "dropout-0.1",
    "label-smoothing",
    "lr-6e-3",
    "qk-layernorm",
    "tied-embeddings",
)  # changes with a sign question
EFFECTS: tuple[str, ...] = (
    "cosine-decay",
    "dropout-0.1",
    "label-smoothing",
    "lr-6e-3",
    "mlp-8x",
    "qk-layernorm",
    "tied-embeddings",
    "warmup-300",
)  # changes with an effect question


def per_seed(runs: dict, change: str, other: str = BASELINE) -> list[float]:
    a, b = runs[change]["deciding"], runs[other]["deciding"]
    return [a[s] - b[s] for s in sorted(a)]


def effect(runs: dict, change: str) -> float:
    return statistics.fmean(per_seed(runs, change))


def build(runs: dict) -> tuple[dict, list[str]]:
    key: dict = {}
    problems: list[str] = []
    for name, changes in SETS.items():
        order = sorted(changes, key=lambda c: effect(runs, c))
        for c, nxt in zip(order, order[1:], strict=False):
            d = per_seed(runs, nxt, c)
            margin, noise = statistics.fmean(d), statistics.stdev(d)
            if margin <= 2 * noise:
                problems.append(f"{name}: {c} vs {nxt}: margin {margin:.4f} <= 2 x {noise:.4f}")
        for k, c in enumerate(order, 1):
            key[f"rank-{name}-{k}"] = c
    for c in SIGNS:
        d = per_seed(runs, c)
        if abs(statistics.fmean(d)) <= 2 * statistics.stdev(d):
            problems.append(
                f"sign {c}: {statistics.fmean(d):.4f} within 2 x {statistics.stdev(d):.4f}"
            )
        key[f"sign-{c}"] = "helps" if statistics.fmean(d) < 0 else "hurts"
    for c in EFFECTS:
        d = per_seed(runs, c)
        if 2 * statistics.stdev(d) >= TOLERANCE:
            problems.append(f"effect {c}: tolerance within 2 x {statistics.stdev(d):.4f}")
        key[f"effect-{c}"] = {
            "value": round(statistics.fmean(d), 4),
            "noise": round(statistics.stdev(d), 4),
            "tolerance": TOLERANCE,
        }
    return key, problems


def table(runs: dict) -> str:
    rows = [
        "| change | small: effect (sd) | deciding: loss | deciding: effect (sd) | replica |",
        "|---|---|---|---|---|",
    ]
    base_rep = statistics.fmean(runs[BASELINE]["replica"].values())
    for c in sorted(runs, key=lambda c: effect(runs, c)):
        small = [runs[c]["small"][s] - runs[BASELINE]["small"][s] for s in sorted(runs[c]["small"])]
        d = per_seed(runs, c)
        sd = lambda xs: statistics.stdev(xs) if any(xs) else 0.0  # noqa: E731
        rows.append(
            f"| `{c}` | {statistics.fmean(small):+.3f} ({sd(small):.3f})"
            f" | {statistics.fmean(runs[c]['deciding'].values()):.4f}"
            f" | {statistics.fmean(d):+.4f} ({sd(d):.4f})"
            f" | {statistics.fmean(runs[c]['replica'].values()) - base_rep:+.3f} |"
        )
    return "\n".join(rows)


def main() -> None:
    family = Path(sys.argv[1])
    runs = json.loads((family / "checks" / "measurements.json").read_text())["runs"]
    print(table(runs))
    key, problems = build(runs)
    if problems:
        raise SystemExit("not questions (margin within twice the noise):\n" + "\n".join(problems))
    (family / "checks" / "key.json").write_text(json.dumps(key, indent=1) + "\n")
    solution = {q: (e["value"] if isinstance(e, dict) else e) for q, e in key.items()}
    (family / "solution" / "answer.json").write_text(json.dumps(solution, indent=1) + "\n")
    print(json.dumps(key, indent=1))


if __name__ == "__main__":
    main()
