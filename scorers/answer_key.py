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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rsiscore.answers import graded, read_answers  # noqa: E402
from rsiscore.candidate import CandidateError  # noqa: E402
from rsiscore.verdict import Args, Verdict, main  # noqa: E402


def score(args: Args) -> Verdict:
    p = args.params
    key: dict[str, str] = json.loads((args.checks / p["key"]).read_text())
    labels, asked = list(p["labels"]), list(p["questions"])
    try:
        answer = read_answers(
            args.workspace, p["answer_file"], key, asked, lambda v: v in labels, "label",
            f"are not one of the labels {labels}",
        )  # fmt: skip
    except CandidateError as e:
        return Verdict(False, 0, 0.0, {"problem": str(e)})
    return graded(asked, [q for q in asked if answer[q] == key[q]])


if __name__ == "__main__":
    main(score)
