"""The team's training recipe: a small character-level transformer.

    python3 train.py                                   # the small scale: width 32, 300 steps, seed 0
    python3 train.py --width 64 --steps 1200 --seed 3  # any width, length or seed
    python3 train.py --train train.txt --val val.txt   # the default texts

Prints one JSON line at the end: {"width", "steps", "seed", "params", "val_loss", "seconds"}.
Every file in changes/ is this script with one proposed change applied (see its .diff).
"""

import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn

ALPHABET = "\n +.0123456789=abcdefghijklmnopqrstuvwxyz"
SEQ_LEN = 64
N_LAYER, N_HEAD = 2, 4
MLP_RATIO = 4
BATCH_SIZE = 32
LR = 3e-3
WARMUP_STEPS = 50
WEIGHT_DECAY = 0.1
BETAS = (0.9, 0.95)
GRAD_CLIP = 1.0
INIT_STD = 0.02


class Block(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.proj = nn.Linear(d, d, bias=False)
        self.mlp = nn.Sequential(
            nn.Linear(d, MLP_RATIO * d, bias=False),
            nn.GELU(),
            nn.Linear(MLP_RATIO * d, d, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, N_HEAD, d // N_HEAD).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.ln2(x))


class CharLM(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.tok = nn.Embedding(len(ALPHABET), width)
        self.pos = nn.Embedding(SEQ_LEN, width)
        self.blocks = nn.Sequential(*(Block(width) for _ in range(N_LAYER)))
        self.ln_f = nn.LayerNorm(width)
        self.head = nn.Linear(width, len(ALPHABET), bias=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=INIT_STD)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
        return self.head(self.ln_f(self.blocks(x)))


def lr_at(step: int, steps: int) -> float:
    """Linear warm-up, then constant."""
    return LR * min(1.0, (step + 1) / WARMUP_STEPS)


def loss_fn(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), label_smoothing=0.1)


def encode(text: str) -> torch.Tensor:
    index = {ch: i for i, ch in enumerate(ALPHABET)}
    return torch.tensor([index[ch] for ch in text], dtype=torch.long)


@torch.no_grad()
def evaluate(model: CharLM, text: str) -> float:
    """Mean loss per character over consecutive SEQ_LEN windows of ``text`` (plain cross-entropy)."""
    val = encode(text)
    n = (len(val) - 1) // SEQ_LEN
    x, y = val[: n * SEQ_LEN].view(n, SEQ_LEN), val[1 : n * SEQ_LEN + 1].view(n, SEQ_LEN)
    model.eval()
    total = 0.0
    for i in range(0, n, 128):
        logits = model(x[i : i + 128])
        total += float(F.cross_entropy(logits.flatten(0, 1), y[i : i + 128].flatten(), reduction="sum"))
    model.train()
    return total / y.numel()


def train(width: int, steps: int, seed: int, train_text: str) -> CharLM:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    data = encode(train_text)
    model = CharLM(width)
    decay = [p for p in model.parameters() if p.dim() == 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": other, "weight_decay": 0.0}],
        lr=LR,
        betas=BETAS,
    )
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, steps)
        starts = torch.randint(len(data) - SEQ_LEN - 1, (BATCH_SIZE,), generator=gen)
        window = torch.stack([data[s : s + SEQ_LEN + 1] for s in starts.tolist()])
        loss = loss_fn(model(window[:, :-1]), window[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()
    return model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", default="train.txt")
    ap.add_argument("--val", default="val.txt")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    with open(args.train) as f:
        model = train(args.width, args.steps, args.seed, f.read())
    with open(args.val) as f:
        val_loss = evaluate(model, f.read())
    params = sum(p.numel() for p in model.parameters())
    out = {"width": args.width, "steps": args.steps, "seed": args.seed, "params": params,
           "val_loss": round(val_loss, 4), "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
