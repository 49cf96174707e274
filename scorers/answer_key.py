"""Scorer: compare the agent's answers with an answer key measured when the task was built.

For research-judgement families whose answer is a choice per question (which fault a run has,
which change helps most), possibly mixed with numeric predictions (how much it helps). No
candidate code runs: the answer is a JSON object read without following links, every question
the variant asks must be answered, and a malformed answer is a failed verdict with the reason.

params: ``answer_file`` (top-level workspace file), ``key`` (a JSON object in checks/ mapping
question -> label, or question -> {"value": number, "tolerance": number, ...} for a numeric
question), ``labels`` (the allowed labels), and per variant ``questions`` (which keys of the
answer key it asks). A label question is right when answered with its label (the answer must be
one of ``labels``); a numeric question when answered with a finite number within the absolute
tolerance of the value. Answers to questions of the key the variant does not ask are allowed
and ignored (but must still be well formed).

    score_raw = questions answered right;  score_normalised = that / questions asked
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rsiscore.answers import graded, is_number, is_numeric_entry, read_answers  # noqa: E402
from rsiscore.candidate import CandidateError  # noqa: E402
from rsiscore.verdict import Args, Verdict, main  # noqa: E402


def score(args: Args) -> Verdict:
    p = args.params
    key: dict[str, Any] = json.loads((args.checks / p["key"]).read_text())
    labels, asked = list(p["labels"]), list(p["questions"])
    numeric = {q for q, entry in key.items() if is_numeric_entry(entry)}

    def valid(question: str, value: Any) -> bool:
        return is_number(value) if question in numeric else value in labels

    invalid = f"are not one of the labels {labels}"
    if numeric:
        invalid += f" (the numeric questions {sorted(numeric)} take a finite number)"
    try:
        answer = read_answers(
            args.workspace, p["answer_file"], key, asked, valid, "label", invalid
        )  # fmt: skip
    except CandidateError as e:
        return Verdict(False, 0, 0.0, {"problem": str(e)})

    def right(q: str) -> bool:
        if q in numeric:
            return abs(float(answer[q]) - key[q]["value"]) <= key[q]["tolerance"]
        return answer[q] == key[q]

    return graded(asked, [q for q in asked if right(q)])


if __name__ == "__main__":
    main(score)
