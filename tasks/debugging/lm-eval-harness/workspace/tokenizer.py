# RSIBENCH CANARY 209307b7-bfdd-4d00-b7c8-07e4afda068a
"""Byte-level BPE tokenizer with a fixed merge table and three special tokens.

Ids 0-255 are the bytes of UTF-8 text, 256-258 the special tokens (PAD, BOS, EOS), and from 259
on one id per merge, in rank order. `encode` never produces a special token; the harness adds
BOS itself. Decoding the ids of `encode(text)` gives `text` back exactly.
"""

from __future__ import annotations

PAD, BOS, EOS = 256, 257, 258

# Merges in rank order: lower rank merges first. Each merged piece is the concatenation of two
# pieces that already exist (single bytes or earlier merges).
_MERGES: list[tuple[bytes, bytes]] = [
    (b"e", b" "), (b"t", b"h"), (b"s", b" "), (b"i", b"n"), (b"e", b"r"), (b"a", b"n"),
    (b" ", b"t"), (b"d", b" "), (b"o", b"n"), (b"th", b"e "), (b"o", b"r"), (b"e", b"n"),
    (b"a", b"t"), (b"a", b"r"), (b"y", b" "), (b"r", b"e"), (b"in", b"g"), (b"o", b"u"),
    (b"a", b"l"), (b"e", b"s"), (b"i", b"t"), (b"t", b" "), (b"s", b"t"), (b"o", b" "),
    (b",", b" "), (b".", b" "), (b"an", b"d "), (b"e", b"d "), (b"l", b"e"), (b" ", b"the "),
    (b"i", b"s "), (b"ing", b" "), (b"o", b"f"), (b"c", b"h"), (b"m", b"e"), (b"er", b" "),
    (b"l", b"l"), (b"o", b"w"), (b"a", b"s"), (b"i", b"c"),
]  # fmt: skip

FIRST_MERGE_ID = 259
PIECES: list[bytes] = [bytes([i]) for i in range(256)] + [b"<pad>", b"<bos>", b"<eos>"]
PIECES += [a + b for a, b in _MERGES]
VOCAB_SIZE = len(PIECES)
_RANK = {pair: rank for rank, pair in enumerate(_MERGES)}
_ID = {piece: i for i, piece in enumerate(PIECES) if i < PAD or i >= FIRST_MERGE_ID}


def encode(text: str) -> list[int]:
    """Token ids of `text`: its UTF-8 bytes, then the lowest-rank adjacent pair merged,
    repeatedly, until no adjacent pair is in the merge table."""
    parts = [bytes([b]) for b in text.encode("utf-8")]
    while len(parts) > 1:
        ranks = [_RANK.get((a, b), len(_RANK)) for a, b in zip(parts, parts[1:], strict=False)]
        best = min(ranks)
        if best == len(_RANK):
            break
        i = ranks.index(best)
        parts[i : i + 2] = [parts[i] + parts[i + 1]]
    return [_ID[p] for p in parts]


def decode(ids: list[int]) -> str:
    """The text of token ids (special tokens decode to nothing)."""
    return b"".join(PIECES[i] for i in ids if not PAD <= i < FIRST_MERGE_ID).decode(
        "utf-8", errors="replace"
    )
