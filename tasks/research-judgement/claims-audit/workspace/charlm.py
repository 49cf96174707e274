"""A small character-level transformer, its data and its training loop.

Everything the experiments in this project use: the corpus (made-up sentences, `copy` lines and
two-digit sums), the model, AdamW or Lion, the learning-rate schedule and the evaluation.
`train.py` runs one configuration; `configs/` holds every configuration we ran.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

ALPHABET = "\n +.0123456789=abcdefghijklmnopqrstuvwxyz"
SEQ_LEN = 64
TRAIN_LINES, VAL_LINES = 600, 400
LOG_EVERY, EVAL_EVERY = 25, 50

DEFAULTS = {
    "d_model": 32,
    "n_layer": 2,
    "n_head": 4,
    "dropout": 0.1,
    "qkv_bias": False,
    "tie_embeddings": False,
    "optimizer": "adamw",
    "lr": 3e-3,
    "betas": [0.9, 0.95],
    "weight_decay": 0.1,
    "warmup_steps": 30,
    "schedule": "cosine",
    "min_lr_ratio": 0.1,
    "steps": 300,
    "batch_size": 32,
    "grad_clip": 1.0,
}


def load_config(path: str | Path) -> dict:
    return {**DEFAULTS, **json.loads(Path(path).read_text())}


# ---- data -----------------------------------------------------------------------------------

CONSONANTS, VOWELS = "bdfgklmnprstvz", "aeiou"


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(syllables))


def _sentence(rng: random.Random, lex: dict[str, list[str]]) -> str:
    def noun_phrase() -> tuple[str, bool]:
        plural = rng.random() < 0.4
        parts = [rng.choice(lex["det"])]
        if rng.random() < 0.5:
            parts.append(rng.choice(lex["adj"]))
        parts.append(rng.choice(lex["noun"]) + ("s" if plural else ""))
        return " ".join(parts), plural

    subject, plural = noun_phrase()
    obj, _ = noun_phrase()
    return f"{subject} {rng.choice(lex['verb']) + ('n' if plural else 't')} {obj}."


def _copy(rng: random.Random) -> str:
    s = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9)))
    return f"copy {s} = {s}"


def _sum(rng: random.Random) -> str:
    a, b = rng.randint(10, 99), rng.randint(10, 99)
    return f"{a}+{b}={a + b}"


def _lines(rng: random.Random, lex: dict[str, list[str]], n: int) -> list[str]:
    return [
        _sentence(rng, lex) if r < 0.5 else _copy(rng) if r < 0.75 else _sum(rng)
        for r in (rng.random() for _ in range(n))
    ]


def corpus() -> tuple[str, str]:
    """(train, validation): the same mix of lines, drawn apart."""
    lex_rng = random.Random(4242)
    lex = {
        "noun": [_word(lex_rng, lex_rng.choice([2, 3])) for _ in range(24)],
        "verb": [_word(lex_rng, 2) for _ in range(16)],
        "adj": [_word(lex_rng, lex_rng.choice([1, 2])) for _ in range(12)],
        "det": ["ta", "ko", "mi"],
    }
    train = _lines(random.Random(11), lex, TRAIN_LINES)
    val = _lines(random.Random(12), lex, VAL_LINES)
    return "\n".join(train) + "\n", "\n".join(val) + "\n"


def encode(text: str) -> torch.Tensor:
    index = {ch: i for i, ch in enumerate(ALPHABET)}
    return torch.tensor([index[ch] for ch in text], dtype=torch.long)


def windows(text: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Consecutive SEQ_LEN windows of ``text``: inputs and next-character targets."""
    data = encode(text)
    n = (len(data) - 1) // SEQ_LEN
    return data[: n * SEQ_LEN].view(n, SEQ_LEN), data[1 : n * SEQ_LEN + 1].view(n, SEQ_LEN)


# ---- model ----------------------------------------------------------------------------------


class Block(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        d = cfg["d_model"]
        self.n_head = cfg["n_head"]
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d, bias=cfg["qkv_bias"])
        self.proj = nn.Linear(d, d, bias=False)
        self.mlp = nn.Sequential(
            nn.Linear(d, 4 * d, bias=False), nn.GELU(), nn.Linear(4 * d, d, bias=False)
        )
        self.drop = nn.Dropout(cfg["dropout"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.n_head, d // self.n_head).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(b, t, d)))
        return x + self.drop(self.mlp(self.ln2(x)))


class CharLM(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        d = cfg["d_model"]
        self.tok = nn.Embedding(len(ALPHABET), d)
        self.pos = nn.Embedding(SEQ_LEN, d)
        self.blocks = nn.Sequential(*(Block(cfg) for _ in range(cfg["n_layer"])))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, len(ALPHABET), bias=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)
        if cfg["tie_embeddings"]:
            self.head.weight = self.tok.weight

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
        return self.head(self.ln_f(self.blocks(x)))


# ---- optimisation ---------------------------------------------------------------------------


class Lion(torch.optim.Optimizer):
    """Lion (Chen et al., 2023): the sign of an interpolated momentum, decoupled weight decay."""

    def __init__(self, params, lr: float, betas=(0.9, 0.99), weight_decay: float = 0.0):
        super().__init__(params, {"lr": lr, "betas": betas, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                m = self.state[p].setdefault("m", torch.zeros_like(p))
                p.mul_(1 - group["lr"] * group["weight_decay"])
                p.add_(torch.sign(b1 * m + (1 - b1) * p.grad), alpha=-group["lr"])
                m.mul_(b2).add_(p.grad, alpha=1 - b2)


def make_optimizer(model: nn.Module, cfg: dict) -> torch.optim.Optimizer:
    params = list({id(p): p for p in model.parameters()}.values())  # a tied weight once
    decay = [p for p in params if p.dim() == 2]
    other = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": cfg["weight_decay"]}, {"params": other}]
    if cfg["optimizer"] == "lion":
        return Lion(groups, lr=cfg["lr"], betas=(0.9, 0.99))
    return torch.optim.AdamW(groups, lr=cfg["lr"], betas=tuple(cfg["betas"]), weight_decay=0.0)


def lr_at(step: int, cfg: dict) -> float:
    if step < cfg["warmup_steps"]:
        return cfg["lr"] * (step + 1) / cfg["warmup_steps"]
    if cfg["schedule"] == "constant":
        return cfg["lr"]
    progress = (step - cfg["warmup_steps"]) / max(1, cfg["steps"] - cfg["warmup_steps"])
    floor = cfg["min_lr_ratio"]
    return cfg["lr"] * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


# ---- evaluation -----------------------------------------------------------------------------


@torch.no_grad()
def bits_per_char(model: CharLM, text: str) -> float:
    """Mean loss per predicted character of ``text``, in bits (evaluation mode)."""
    model.eval()
    x, y = windows(text)
    total = 0.0
    for i in range(0, len(x), 128):
        logits = model(x[i : i + 128])
        total += float(
            F.cross_entropy(logits.flatten(0, 1), y[i : i + 128].flatten(), reduction="sum")
        )
    model.train()
    return total / y.numel()


@torch.no_grad()
def copy_loss(model: CharLM, text: str) -> float:
    """Mean loss (nats) on the copied half of the `copy abc = abc` lines of ``text``: how well
    the model repeats a string it has just seen."""
    model.eval()
    total, count = 0.0, 0
    for line in text.splitlines():
        if not line.startswith("copy "):
            continue
        ids = encode("\n" + line + "\n")
        logits = model(ids[None, :-1])[0]
        start = line.index(" = ") + 4  # targets from the first copied character on
        total += float(F.cross_entropy(logits[start:], ids[start + 1 :], reduction="sum"))
        count += len(ids) - 1 - start
    model.train()
    return total / count


# ---- a training run -------------------------------------------------------------------------


def train(cfg: dict, seed: int, train_text: str, val_text: str) -> tuple[CharLM, list[dict]]:
    """Train one run; returns the model and its log (a row every LOG_EVERY steps)."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    data = encode(train_text)
    model = CharLM(cfg)
    opt = make_optimizer(model, cfg)
    params = list(model.parameters())
    log, losses = [], []
    for step in range(cfg["steps"]):
        lr = lr_at(step, cfg)
        for group in opt.param_groups:
            group["lr"] = lr
        starts = torch.randint(len(data) - SEQ_LEN - 1, (cfg["batch_size"],), generator=gen)
        batch = torch.stack([data[s : s + SEQ_LEN + 1] for s in starts.tolist()])
        loss = F.cross_entropy(model(batch[:, :-1]).flatten(0, 1), batch[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg["grad_clip"])
        opt.step()
        losses.append(float(loss.detach()))
        if (step + 1) % LOG_EVERY == 0:
            row = {"step": step + 1, "lr": lr, "train_loss": sum(losses) / len(losses)}
            losses = []
            if (step + 1) % EVAL_EVERY == 0:
                row["val_bpc"] = bits_per_char(model, val_text)
            log.append(row)
    return model, log
