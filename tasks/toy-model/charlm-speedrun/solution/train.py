# RSIBENCH CANARY 2ea25c44-f9d7-42f2-96d3-764a0b96ee71
"""The reference speedrun trainer (see README.md for how each change was found): a small,
shallow model with rotary positions, tied embeddings and RMSNorm; a high learning rate with
a short warm-up and a linear decay to zero; a wide init; a small batch (8) for more steps
(400); fused AdamW without gradient clipping; batches cut from the data with one gather.
Same command line and model format as the baseline."""

import argparse

import numpy as np
import torch
import torch.nn.functional as F
from lm import CONTEXT, LM, VOCAB

ARCH = {
    "d_model": 32,
    "n_layer": 2,
    "n_head": 4,
    "d_ff": 128,
    "norm": "rmsnorm",
    "pos": "rope",
    "mlp": "relu2",
    "tie_embeddings": True,
    "qk_norm": False,
    "logit_softcap": 0.0,
}
STEPS = 400
BATCH = 8
SEQ = CONTEXT
LR = 1.5e-2
WARMUP = 30
BETAS = (0.9, 0.98)
WEIGHT_DECAY = 0.0
INIT_STD = 0.1
SEED = 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", default="train.bin")
    ap.add_argument("--out", default="model.pt")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    data = torch.from_numpy(np.fromfile(args.train, dtype=np.uint8).astype(np.int64))
    model = LM(ARCH)
    for p in model.parameters():
        if p.dim() == 2:
            torch.nn.init.normal_(p, std=INIT_STD)
    opt = torch.optim.AdamW(
        model.parameters(), lr=LR, betas=BETAS, weight_decay=WEIGHT_DECAY, fused=True
    )
    offsets = torch.arange(SEQ + 1)
    starts = torch.randint(len(data) - SEQ - 1, (STEPS, BATCH, 1))
    for step in range(STEPS):
        lr = LR * min((step + 1) / WARMUP, (STEPS - step) / (STEPS - WARMUP))
        for group in opt.param_groups:
            group["lr"] = lr
        chunk = data[starts[step] + offsets]
        loss = F.cross_entropy(model(chunk[:, :-1]).reshape(-1, VOCAB), chunk[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    torch.save({"arch": ARCH, "state": model.state_dict()}, args.out)


if __name__ == "__main__":
    main()
