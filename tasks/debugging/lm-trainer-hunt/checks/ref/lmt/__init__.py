"""RSIBENCH CANARY e04c1ad7-2538-4cc8-ab65-54a6f87a72b1
lmt: a small language-model training framework (byte-level BPE, packed data, a causal
transformer, AdamW, warm-up + cosine schedule, resumable checkpoints, evaluation)."""

__version__ = "0.4.2"
