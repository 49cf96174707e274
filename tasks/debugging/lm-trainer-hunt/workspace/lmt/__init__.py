"""lmt: a small language-model training framework (byte-level BPE, packed data, a causal
transformer, AdamW, warm-up + cosine schedule, resumable checkpoints, evaluation)."""

__version__ = "0.4.2"
