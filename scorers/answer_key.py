"""Scorer: compare the agent's answers with an answer key measured when the task was built.

For research-judgement families whose answer is a choice per question (which fault a run has,
which change helps most). No candidate code runs: the answer is a JSON object read without
following links, every value must be one of the allowed labels, and every question the variant
asks must be answered. A malformed answer is a failed verdict with the reason.

params: ``answer_file`` (top-level workspace file), ``key`` (a JSON object in checks/ mapping
question -> label), ``labels`` (the allowed labels), and per variant ``questions`` (which keys of
the answer key it asks). Answers to questions of the key the variant does not ask are allowed
and ignored.

    score_raw = questions answered right;  score_normalised = that / questions asked
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rsiscore.answers import read_json  # noqa: E402
from rsiscore.candidate import CandidateError  # noqa: E402
from rsiscore.verdict import Args, Verdict, main  # noqa: E402


def score(args: Args) -> Verdict:
    p = args.params
    key: dict[str, str] = json.loads((args.checks / p["key"]).read_text())
    labels, asked = list(p["labels"]), list(p["questions"])
    name = p["answer_file"]
    try:
        answer: Any = read_json(args.workspace, name)
        if not isinstance(answer, dict):
            raise CandidateError(f"{name}: must be a JSON object of question -> label")
        unknown = sorted(set(answer) - set(key))
        missing = sorted(set(asked) - set(answer))
        if unknown or missing:
            raise CandidateError(f"{name}: unknown questions {unknown}, missing {missing}")
        bad = sorted(q for q, label in answer.items() if label not in labels)
        if bad:
            raise CandidateError(f"{name}: answers to {bad} are not one of the labels {labels}")
    except CandidateError as e:
        return Verdict(False, 0, 0.0, {"problem": str(e)})
    right = [q for q in asked if answer[q] == key[q]]
    return Verdict(
        True,
        len(right),
        len(right) / len(asked),
        {"asked": len(asked), "right": len(right), "wrong": sorted(set(asked) - set(right))},
    )


if __name__ == "__main__":
    main(score)
