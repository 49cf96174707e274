"""Character-level data: encoding, padded batches, and micro-batch splitting."""

import random
from dataclasses import dataclass

import torch

ALPHABET = "\n !\"'(),-.:;?abcdefghijklmnopqrstuvwxyz0123456789"
PAD_ID = 0  # the padding token; padded positions get label IGNORE_INDEX
IGNORE_INDEX = -100
STOI = {ch: i + 1 for i, ch in enumerate(ALPHABET)}  # 0 is reserved for padding
VOCAB_SIZE = len(ALPHABET) + 1


def encode(text: str) -> list[int]:
    return [STOI[ch] for ch in text.lower() if ch in STOI]


@dataclass
class Batch:
    input_ids: torch.Tensor  # (B, T) int64, PAD_ID after the end of each sequence
    labels: torch.Tensor  # (B, T) int64, the next token, IGNORE_INDEX on padding

    def __len__(self) -> int:
        return self.input_ids.shape[0]


def collate(sequences: list[list[int]]) -> Batch:
    """Right-pad token sequences into a batch of inputs and next-token labels."""
    t = max(len(s) for s in sequences) - 1
    input_ids = torch.full((len(sequences), t), PAD_ID, dtype=torch.long)
    labels = torch.full((len(sequences), t), IGNORE_INDEX, dtype=torch.long)
    for i, seq in enumerate(sequences):
        n = len(seq) - 1
        input_ids[i, :n] = torch.tensor(seq[:-1])
        labels[i, :n] = torch.tensor(seq[1:])
    return Batch(input_ids, labels)


def split_microbatches(batch: Batch, n: int) -> list[Batch]:
    """Split a batch into n micro-batches along the batch dimension."""
    size = len(batch) // n
    return [
        Batch(batch.input_ids[i * size : (i + 1) * size], batch.labels[i * size : (i + 1) * size])
        for i in range(n)
    ]


def sample_batches(text: str, batch_size: int, max_len: int, seed: int = 0):
    """Endless batches of random lines of the corpus (variable length, at most max_len + 1)."""
    lines = [encode(line + "\n") for line in text.splitlines() if len(line) > 8]
    rng = random.Random(seed)
    while True:
        picked = [rng.choice(lines)[: max_len + 1] for _ in range(batch_size)]
        yield collate(picked)
