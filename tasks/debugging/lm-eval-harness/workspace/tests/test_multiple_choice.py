"""Multiple-choice scoring against log-likelihoods computed by hand with a model whose logits
are known. A plain script (no pytest needed):

    python3 tests/test_multiple_choice.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import harness  # noqa: E402
import tokenizer  # noqa: E402
from tokenizer import BOS  # noqa: E402


class BigramLM(torch.nn.Module):
    """Logits at each position depend only on the token there: p(next | ..., x) = softmax(W[x])."""

    def __init__(self, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.table = torch.randn(tokenizer.VOCAB_SIZE, tokenizer.VOCAB_SIZE, generator=gen) * 2

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.table[input_ids]


def by_hand(model: BigramLM, context: str, choice: str) -> float:
    """sum over the choice's tokens of log p(token | the token before it)."""
    logp = torch.log_softmax(model.table.double(), dim=-1)
    seq = [BOS] + tokenizer.encode(context) + tokenizer.encode(choice)
    start = len(seq) - len(tokenizer.encode(choice))
    return float(sum(logp[seq[i - 1], seq[i]] for i in range(start, len(seq))))


def test_loglikelihoods() -> None:
    model = BigramLM()
    context, choices = "The capital of France is", [" Paris.", " Berlin.", " a river"]
    got = harness.loglikelihoods(model, context, choices)
    want = [by_hand(model, context, c) for c in choices]
    for g, w, c in zip(got, want, choices, strict=True):
        assert abs(g - w) < 1e-3, f"log p({c!r} | context) = {g:.4f}, expected {w:.4f}"


def test_multiple_choice_accuracy() -> None:
    model = BigramLM(seed=1)
    questions = []
    for context, choices in [
        ("Two plus three equals", [" five.", " twelve.", " the garden."]),
        ("Snow is usually", [" white.", " loud.", " a number."]),
        ("After the rain the garden was", [" wet.", " Tuesday.", " naive."]),
    ]:
        ll = [by_hand(model, context, c) for c in choices]
        gold = max(range(len(ll)), key=ll.__getitem__)
        questions.append({"context": context, "choices": choices, "gold": gold})
    result = harness.multiple_choice(model, questions)
    assert result["acc"] == 1.0, f"acc {result['acc']}, expected 1.0 (gold = the best choice)"


if __name__ == "__main__":
    failed = 0
    for name, test in sorted(globals().items()):
        if name.startswith("test_") and callable(test):
            try:
                test()
                print(f"PASS {name}")
            except AssertionError as e:
                failed += 1
                print(f"FAIL {name}: {e}")
    sys.exit(1 if failed else 0)
