"""Scorer: compare the agent's numeric predictions with values measured when the task was built.

For research-judgement families whose answer is a number per question (a predicted loss, a
best learning rate). No candidate code runs: the answer is a JSON object of question -> number,
read strictly and without following links; every question the variant asks must be answered
with a finite number. A malformed answer is a failed verdict with the reason.

params: ``answer_file`` (top-level workspace file), ``key`` (a JSON object in checks/ mapping
question -> {"value": number, "tolerance": number, ...}: a prediction is right when it is within
the absolute tolerance of the value), and per variant ``questions`` (which keys it asks).
Answers to questions of the key the variant does not ask are allowed and ignored.

    score_raw = questions answered within tolerance;  score_normalised = that / questions asked
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rsiscore.answers import graded, is_number, read_answers  # noqa: E402
from rsiscore.candidate import CandidateError  # noqa: E402
from rsiscore.verdict import Args, Verdict, main  # noqa: E402


def score(args: Args) -> Verdict:
    p = args.params
    key: dict[str, dict[str, float]] = json.loads((args.checks / p["key"]).read_text())
    asked = list(p["questions"])
    try:
        answer = read_answers(
            args.workspace, p["answer_file"], key, asked, lambda _, v: is_number(v), "number",
            "must be finite numbers",
        )  # fmt: skip
    except CandidateError as e:
        return Verdict(False, 0, 0.0, {"problem": str(e)})
    errors = {q: abs(float(answer[q]) - key[q]["value"]) for q in asked}
    right = [q for q in asked if errors[q] <= key[q]["tolerance"]]
    return graded(asked, right, abs_error={q: round(e, 4) for q, e in errors.items()})


if __name__ == "__main__":
    main(score)
