"""RSIBENCH CANARY e04c1ad7-2538-4cc8-ab65-54a6f87a72b1
Evaluation: mean next-token loss per target token, and perplexity, on unpacked documents."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from .data import IGNORE_INDEX, eval_batches


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    docs: Sequence[Sequence[int]],
    seq_len: int,
    batch_size: int,
    eot_id: int,
    pad_id: int,
) -> dict[str, float]:
    """``loss``: the sum of the target tokens' negative log-likelihoods (nats) over the number of
    target tokens; ``perplexity`` = exp(loss); ``tokens``: the number of target tokens.
    Scores in eval mode and leaves the model in the mode it was given in."""
    was_training = model.training
    model.eval()
    nll_sum, n_targets = 0.0, 0
    try:
        for batch in eval_batches(docs, seq_len, batch_size, eot_id, pad_id):
            logits = model(
                batch["input_ids"],
                doc_ids=batch["doc_ids"],
                position_ids=batch["position_ids"],
                attention_mask=batch["attention_mask"],
            )
            labels = batch["labels"]
            nll = F.cross_entropy(
                logits.flatten(0, 1).double(),
                labels.flatten(),
                ignore_index=IGNORE_INDEX,
                reduction="sum",
            )
            nll_sum += float(nll)
            n_targets += int((labels != IGNORE_INDEX).sum())
    finally:
        model.train(was_training)
    loss = nll_sum / max(1, n_targets)
    return {"loss": loss, "perplexity": math.exp(loss), "tokens": float(n_targets)}
