"""A small evaluation harness for causal language models: perplexity and bits-per-byte over
documents (batched, right-padded, with a sliding window for documents longer than the window),
and multiple-choice accuracy by the log-likelihood of each answer given its context.

What the metrics mean (the harness must compute exactly these, whatever the batch size):

Perplexity. A document is scored as the sequence `[BOS] + tokenizer.encode(doc)`: every
document token is a target, predicted from the tokens before it (BOS first); BOS itself is never
a target and no EOS is added. A document of n tokens has n targets.
- `loss` is the mean negative log-likelihood (nats) over every target of every document, each
  target weighing the same (not each batch or each document); `ppl = exp(loss)`.
- `bpb` (bits per byte) is the total negative log-likelihood in bits divided by the number of
  UTF-8 bytes of the documents; `tokens` and `bytes` are those two counts.
The model sees at most `max_len` tokens at a time. A longer document is scored with a sliding
window (`rolling_windows`): the first window holds tokens 0..max_len-1 and scores its max_len
targets; each next window starts `stride` tokens later and scores only the targets that no
earlier window scored, so every target is scored exactly once, with as much context as its
window gives it. Windows (of all documents) are sorted by length and scored in batches of at
most `batch_size`, right-padded; padding is never scored.

Multiple choice. A question has a context and several choices. The log-likelihood of a choice
is the sum, over the tokens of `tokenizer.encode(choice)`, of log p(token | BOS, the tokens of
`tokenizer.encode(context)`, the choice's earlier tokens): the context's own tokens are not
scored. `acc` is the fraction of questions whose highest-log-likelihood choice is the gold one;
`acc_norm` the same with each log-likelihood divided by the choice's length in UTF-8 bytes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import tokenizer
import torch
import torch.nn.functional as F
from tokenizer import BOS, PAD

IGNORE = -100  # target value of a position that is not scored

T = TypeVar("T")
Row = tuple[list[int], list[int]]  # (input ids, targets: IGNORE where not scored)


@dataclass
class Batch:
    input_ids: torch.Tensor  # (B, T) long, right-padded with PAD
    targets: torch.Tensor  # (B, T) long: the token predicted at each position, or IGNORE


def collate(rows: Sequence[Row]) -> Batch:
    """Right-pad rows of (inputs, targets) into one batch; padding positions get IGNORE."""
    width = max(len(inputs) for inputs, _ in rows)
    input_ids = torch.full((len(rows), width), PAD, dtype=torch.long)
    targets = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    for i, (inputs, tgt) in enumerate(rows):
        input_ids[i, : len(inputs)] = torch.tensor(inputs, dtype=torch.long)
        targets[i, : len(tgt)] = torch.tensor(tgt, dtype=torch.long)
    return Batch(input_ids, targets)


def iter_batches(items: Sequence[T], batch_size: int) -> Iterator[Sequence[T]]:
    """Consecutive batches of at most batch_size items, covering every item once."""
    for b in range(len(items) // batch_size):
        yield items[b * batch_size : (b + 1) * batch_size]


def rolling_windows(tokens: list[int], max_len: int, stride: int) -> list[Row]:
    """The (inputs, targets) rows that score tokens[1:] given tokens[0] = BOS: inputs are at
    most max_len tokens, and each target is scored by exactly one row (see the module doc)."""
    if not 1 <= stride <= max_len:
        raise ValueError(f"stride {stride} must be between 1 and max_len {max_len}")
    n = len(tokens) - 1  # targets tokens[1..n]
    rows: list[Row] = []
    for begin in range(0, n, stride):
        end = min(begin + max_len, n)
        inputs = tokens[begin:end]
        targets = tokens[begin + 1 : end + 1]
        # the first window scores all its targets; each later one is `stride` tokens on
        new = len(targets) if begin == 0 else min(stride, len(targets))
        targets = [IGNORE] * (len(targets) - new) + targets[len(targets) - new :]
        rows.append((inputs, targets))
        if end == n:
            break
    return rows


def token_nll(model: Any, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-position negative log-likelihood (0 where not scored) and the scored-position mask."""
    logits = model(batch.input_ids)
    logp = F.log_softmax(logits.float(), dim=-1)
    mask = batch.targets != IGNORE
    picked = logp.gather(-1, batch.targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return -picked * mask, mask


@torch.no_grad()
def perplexity(
    model: Any, docs: Sequence[str], batch_size: int = 8, max_len: int = 64, stride: int = 32
) -> dict[str, float]:
    """loss, ppl, bpb, tokens and bytes of `docs` (see the module doc)."""
    rows: list[Row] = []
    n_bytes = 0
    for doc in docs:
        rows += rolling_windows([BOS] + tokenizer.encode(doc), max_len, stride)
        n_bytes += len(doc.encode("utf-8"))
    rows.sort(key=lambda row: len(row[0]), reverse=True)  # similar lengths: little padding
    batch_losses, total_tokens = [], 0
    for chunk in iter_batches(rows, batch_size):
        nll, mask = token_nll(model, collate(chunk))
        batch_losses.append(float(nll.double().sum()) / mask.numel())
        total_tokens += int(mask.sum())
    loss = sum(batch_losses) / len(batch_losses)
    total_nll = loss * total_tokens
    return {
        "loss": loss,
        "ppl": math.exp(loss),
        "bpb": total_nll / (math.log(2) * n_bytes),
        "tokens": total_tokens,
        "bytes": n_bytes,
    }


@torch.no_grad()
def loglikelihoods(model: Any, context: str, choices: Sequence[str]) -> list[float]:
    """log p(choice | context) for each choice, all choices in one batch (see the module doc)."""
    ctx = [BOS] + tokenizer.encode(context)
    seqs = [ctx + tokenizer.encode(choice) for choice in choices]
    batch = collate([(seq, []) for seq in seqs])
    logp = F.log_softmax(model(batch.input_ids).float(), dim=-1)
    out = []
    for i, seq in enumerate(seqs):
        c, m = len(ctx), len(seq) - len(ctx)
        cont = torch.tensor(seq[c:], dtype=torch.long)
        picked = logp[i, c : c + m].gather(-1, cont.unsqueeze(-1))  # the choice's positions
        out.append(float(picked.double().sum()))
    return out


def multiple_choice(model: Any, questions: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """acc, acc_norm and every choice's log-likelihood for questions
    {"context": str, "choices": [str, ...], "gold": int}."""
    lls, right, right_norm = [], 0, 0
    for q in questions:
        ll = loglikelihoods(model, q["context"], q["choices"])
        norm = [x / len(c.encode("utf-8")) for x, c in zip(ll, q["choices"], strict=True)]
        right += int(max(range(len(ll)), key=ll.__getitem__) == q["gold"])
        right_norm += int(max(range(len(norm)), key=norm.__getitem__) == q["gold"])
        lls.append(ll)
    return {
        "acc": right / len(questions),
        "acc_norm": right_norm / len(questions),
        "loglikelihoods": lls,
    }
