"""RSIBENCH CANARY e04c1ad7-2538-4cc8-ab65-54a6f87a72b1
Documents -> training and evaluation batches.

Training data is packed: every training document's token ids followed by the end-of-text id
are concatenated, in document order, into one stream, which is cut into rows of ``seq_len + 1``
tokens taking ``seq_len`` tokens at a time (row ``r`` is ``stream[r*seq_len : r*seq_len +
seq_len + 1]``; a final incomplete row is dropped). A row gives ``input_ids = row[:-1]`` and
``labels = row[1:]``, and the model sees, for every input position, which document it belongs
to (``doc_ids``, counted from 0 within the row; the end-of-text token belongs to the document it
ends) and its position within that document (``position_ids``: 0 at the first token of each
document; a document that started in an earlier row continues its count from the row's start,
i.e. it starts at 0 there as well).

Rows are visited in epochs. Epoch ``e`` visits the rows in the order
``torch.randperm(n_rows, generator=torch.Generator().manual_seed(seed + e))``, ``batch_size``
rows per batch, dropping the last incomplete batch, and the next epoch follows.

Evaluation data is not packed: each document is scored on its own (see :func:`eval_batches`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import torch

from .tokenizer import Tokenizer

IGNORE_INDEX = -100


class Document(NamedTuple):
    text: str
    ids: list[int]


def prepare(texts: Sequence[str], tokenizer: Tokenizer) -> list[Document]:
    return [Document(t, tokenizer.encode(t, allowed_special=False)) for t in texts]


def split_documents(
    texts: Sequence[str], val_fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Indices of the training and validation documents.

    Identical texts go to the same side. The distinct texts, in the order they first occur, are
    shuffled with ``random.Random(seed).shuffle`` and the first ``max(1, round(val_fraction *
    n_unique))`` of them go to validation. So the split depends only on the texts,
    ``val_fraction`` and ``seed``: the same in every process and on every machine, and a
    resumed run keeps the validation set it started with.
    """
    unique = list(dict.fromkeys(texts))
    random.Random(seed).shuffle(unique)
    n_val = max(1, round(val_fraction * len(unique)))
    val_texts = set(unique[:n_val])
    train = [i for i, t in enumerate(texts) if t not in val_texts]
    val = [i for i, t in enumerate(texts) if t in val_texts]
    return train, val


def pack_rows(docs: Sequence[Sequence[int]], seq_len: int, eot_id: int) -> dict[str, torch.Tensor]:
    """All packed rows of the documents: input_ids, labels, doc_ids, position_ids (n_rows, T)."""
    stream: list[int] = []
    doc_of: list[int] = []
    for d, doc in enumerate(docs):
        stream.extend(doc)
        stream.append(eot_id)
        doc_of.extend([d] * (len(doc) + 1))
    n_rows = (len(stream) - 1) // seq_len
    if n_rows < 1:
        raise ValueError(f"{len(stream)} tokens are too few for one row of {seq_len + 1}")
    tokens = torch.tensor(stream[: n_rows * seq_len + 1], dtype=torch.long)
    owner = torch.tensor(doc_of[: n_rows * seq_len + 1], dtype=torch.long)
    idx = torch.arange(n_rows)[:, None] * seq_len + torch.arange(seq_len + 1)[None, :]
    rows, owners = tokens[idx], owner[idx][:, :-1]
    doc_ids = owners - owners[:, :1]  # documents are numbered in stream order
    position_ids = torch.zeros_like(doc_ids)
    for t in range(1, seq_len):
        same = doc_ids[:, t] == doc_ids[:, t - 1]
        position_ids[:, t] = torch.where(same, position_ids[:, t - 1] + 1, 0)
    return {
        "input_ids": rows[:, :-1].contiguous(),
        "labels": rows[:, 1:].contiguous(),
        "doc_ids": doc_ids,
        "position_ids": position_ids,
    }


class PackedLoader:
    """Endless iterator of packed training batches in a reproducible, resumable order."""

    def __init__(
        self,
        docs: Sequence[Sequence[int]],
        seq_len: int,
        batch_size: int,
        eot_id: int,
        seed: int,
    ):
        self.rows = pack_rows(docs, seq_len, eot_id)
        self.n_rows = self.rows["input_ids"].shape[0]
        if self.n_rows < batch_size:
            raise ValueError(f"{self.n_rows} rows are fewer than one batch of {batch_size}")
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0
        self.batch_in_epoch = 0
        self._order = self._permutation(0)

    @property
    def batches_per_epoch(self) -> int:
        return self.n_rows // self.batch_size

    def _permutation(self, epoch: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(self.seed + epoch)
        return torch.randperm(self.n_rows, generator=gen)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        if self.batch_in_epoch >= self.batches_per_epoch:
            self.epoch += 1
            self.batch_in_epoch = 0
            self._order = self._permutation(self.epoch)
        start = self.batch_in_epoch * self.batch_size
        picked = self._order[start : start + self.batch_size]
        self.batch_in_epoch += 1
        return {k: v[picked] for k, v in self.rows.items()}

    def state_dict(self) -> dict[str, int]:
        """Where the loader is: the next batch comes from ``epoch`` after ``samples_seen``
        rows of it."""
        return {"epoch": self.epoch, "samples_seen": self.batch_in_epoch * self.batch_size}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if int(state["samples_seen"]) % self.batch_size:
            raise ValueError("the saved position is not on a batch boundary of this loader")
        self.epoch = int(state["epoch"])
        self.batch_in_epoch = int(state["samples_seen"]) // self.batch_size
        self._order = self._permutation(self.epoch)


def eval_batches(
    docs: Sequence[Sequence[int]], seq_len: int, batch_size: int, eot_id: int, pad_id: int
) -> list[dict[str, torch.Tensor]]:
    """Unpacked evaluation batches, documents in the given order.

    Each document followed by end-of-text is cut into windows of at most ``seq_len`` tokens;
    consecutive windows overlap by one token (window ``j`` starts at ``j * (seq_len - 1)``), so
    every token after a document's first is a target exactly once. A window's inputs are its
    tokens; its labels are the next tokens, with ``IGNORE_INDEX`` at the window's last token
    (its target is scored in the next window). Windows are right-padded with ``pad_id`` (inputs)
    and ``IGNORE_INDEX`` (labels); ``attention_mask`` is 1 on real inputs. ``doc_ids`` is 0 and
    ``position_ids`` counts from 0 within each window.
    """
    windows: list[list[int]] = []
    for doc in docs:
        toks = list(doc) + [eot_id]
        for start in range(0, len(toks) - 1, seq_len - 1):
            windows.append(toks[start : start + seq_len])
    batches = []
    for b in range(0, len(windows), batch_size):
        group = windows[b : b + batch_size]
        width = max(len(w) for w in group)
        inputs = torch.full((len(group), width), pad_id, dtype=torch.long)
        labels = torch.full((len(group), width), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        for i, w in enumerate(group):
            inputs[i, : len(w)] = torch.tensor(w)
            labels[i, : len(w) - 1] = torch.tensor(w[1:])
            mask[i, : len(w)] = 1
        batches.append(
            {
                "input_ids": inputs,
                "labels": labels,
                "attention_mask": mask,
                "doc_ids": torch.zeros_like(inputs),
                "position_ids": torch.arange(width).expand(len(group), width).clone(),
            }
        )
    return batches
