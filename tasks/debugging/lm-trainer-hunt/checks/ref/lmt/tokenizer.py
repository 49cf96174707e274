"""RSIBENCH CANARY e04c1ad7-2538-4cc8-ab65-54a6f87a72b1
Byte-level BPE tokenizer with special tokens.

Text is first split into chunks by ``SPLIT_PATTERN`` (words with their leading space, runs of
digits, runs of punctuation, whitespace); merges never cross a chunk boundary. Ids 0-255 are
the raw bytes, merge ``i`` creates id ``256 + i``, and the special tokens come after the
merges, in the order given.

Training: starting from bytes, repeatedly merge the most frequent adjacent pair over all
chunks (each chunk weighted by how often it occurs); ties go to the smaller pair (compared as
a tuple of ids). Encoding a chunk applies the learned merges in the order they were learned:
while some adjacent pair of the chunk has a merge, merge every occurrence of the pair with the
lowest merge index. This gives the same ids as replaying training's merges on that chunk.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

SPLIT_PATTERN = re.compile(
    r"'(?:s|t|re|ve|m|ll|d)| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+"
)
EOT = "<|endoftext|>"
PAD = "<|pad|>"
DEFAULT_SPECIALS = (EOT, PAD)

Pair = tuple[int, int]


def merge_pair(ids: list[int], pair: Pair, new_id: int) -> list[int]:
    """Replace every non-overlapping occurrence of ``pair``, left to right."""
    out: list[int] = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def pair_counts(chunks: dict[tuple[int, ...], int]) -> Counter[Pair]:
    counts: Counter[Pair] = Counter()
    for ids, freq in chunks.items():
        for pair in zip(ids, ids[1:]):
            counts[pair] += freq
    return counts


class Tokenizer:
    def __init__(self, merges: Iterable[Pair], special_tokens: Iterable[str] = DEFAULT_SPECIALS):
        self.merges: list[Pair] = [(int(a), int(b)) for a, b in merges]
        self.ranks: dict[Pair, int] = {pair: i for i, pair in enumerate(self.merges)}
        self.vocab: dict[int, bytes] = {i: bytes([i]) for i in range(256)}
        for i, (a, b) in enumerate(self.merges):
            self.vocab[256 + i] = self.vocab[a] + self.vocab[b]
        self.special_tokens: dict[str, int] = {}
        for tok in special_tokens:
            self.special_tokens[tok] = 256 + len(self.merges) + len(self.special_tokens)
        self.special_by_id = {i: t for t, i in self.special_tokens.items()}
        self._cache: dict[str, list[int]] = {}
        if self.special_tokens:
            alternation = "|".join(re.escape(t) for t in sorted(self.special_tokens, key=len)[::-1])
            self._special_re: re.Pattern[str] | None = re.compile(f"({alternation})")
        else:
            self._special_re = None

    # ---- training ------------------------------------------------------------------------

    @classmethod
    def train(
        cls, text: str, vocab_size: int, special_tokens: Iterable[str] = DEFAULT_SPECIALS
    ) -> Tokenizer:
        special_tokens = list(special_tokens)
        n_merges = vocab_size - 256 - len(special_tokens)
        if n_merges < 0:
            raise ValueError(f"vocab_size {vocab_size} is smaller than the bytes and specials")
        words = Counter(SPLIT_PATTERN.findall(text))
        chunks: dict[tuple[int, ...], int] = {}
        for word, freq in words.items():
            key = tuple(word.encode("utf-8"))
            chunks[key] = chunks.get(key, 0) + freq
        merges: list[Pair] = []
        for i in range(n_merges):
            counts = pair_counts(chunks)
            if not counts:
                break
            best = max(counts.items(), key=lambda kv: (kv[1], (-kv[0][0], -kv[0][1])))[0]
            new_id = 256 + i
            merged: dict[tuple[int, ...], int] = {}
            for ids, freq in chunks.items():
                key = tuple(merge_pair(list(ids), best, new_id))
                merged[key] = merged.get(key, 0) + freq
            chunks = merged
            merges.append(best)
        return cls(merges, special_tokens)

    # ---- encoding ------------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.merges) + len(self.special_tokens)

    def token_id(self, special: str) -> int:
        return self.special_tokens[special]

    def _encode_chunk(self, chunk: str) -> list[int]:
        cached = self._cache.get(chunk)
        if cached is not None:
            return cached
        ids = list(chunk.encode("utf-8"))
        while len(ids) >= 2:
            pair = min(set(zip(ids, ids[1:])), key=lambda p: self.ranks.get(p, len(self.ranks)))
            rank = self.ranks.get(pair)
            if rank is None:
                break
            ids = merge_pair(ids, pair, 256 + rank)
        if len(self._cache) < 100_000:
            self._cache[chunk] = ids
        return ids

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode text, treating special-token strings as ordinary text."""
        out: list[int] = []
        for chunk in SPLIT_PATTERN.findall(text):
            out.extend(self._encode_chunk(chunk))
        return out

    def encode(self, text: str, allowed_special: bool = True) -> list[int]:
        """Encode text; special-token strings become their ids when ``allowed_special``."""
        if not allowed_special or self._special_re is None:
            return self.encode_ordinary(text)
        out: list[int] = []
        for part in self._special_re.split(text):
            if part in self.special_tokens:
                out.append(self.special_tokens[part])
            elif part:
                out.extend(self.encode_ordinary(part))
        return out

    def decode(self, ids: Iterable[int]) -> str:
        parts: list[bytes] = []
        for i in ids:
            i = int(i)
            if i in self.special_by_id:
                parts.append(self.special_by_id[i].encode("utf-8"))
            elif i in self.vocab:
                parts.append(self.vocab[i])
            else:
                raise ValueError(f"token id {i} is not in the vocabulary")
        return b"".join(parts).decode("utf-8", errors="replace")

    # ---- persistence ---------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        obj = {"merges": self.merges, "special_tokens": list(self.special_tokens)}
        Path(path).write_text(json.dumps(obj))

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        obj = json.loads(Path(path).read_text())
        return cls([tuple(p) for p in obj["merges"]], obj["special_tokens"])
