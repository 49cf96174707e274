"""Train the small classifier on a synthetic task, in float32 or in mixed precision (float16
model, float32 master weights, dynamic loss scaling), and print the loss.

    python3 train.py --dtype float16 --steps 600
    python3 train.py --dtype float32 --steps 600
    python3 train.py --dtype float16 --steps 300 --save ckpt.pt
    python3 train.py --dtype float16 --steps 300 --resume ckpt.pt
"""

from __future__ import annotations

import argparse

import torch

from amp import DynamicLossScaler, MixedPrecisionTrainer
from model import ModelConfig, TinyMLP, loss_fn


def make_data(seed: int, n: int, cfg: ModelConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs labelled by a fixed random teacher network."""
    gen = torch.Generator().manual_seed(seed)
    teacher = torch.randn(cfg.d_in, cfg.n_classes, generator=gen)
    x = torch.randn(n, cfg.d_in, generator=gen)
    return x, (x @ teacher).argmax(dim=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", choices=["float16", "float32"], default="float16")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--max-grad-norm", type=float, default=None)
    ap.add_argument("--init-scale", type=float, default=2.0**16)
    ap.add_argument("--growth-interval", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", help="write a checkpoint here after the last step")
    ap.add_argument("--resume", help="continue from this checkpoint")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    cfg = ModelConfig()
    x, y = make_data(1234, 20_000, cfg)
    x_val, y_val = make_data(1234, 2_000, cfg)
    fp16 = args.dtype == "float16"
    scaler = DynamicLossScaler(
        init_scale=args.init_scale if fp16 else 1.0,
        growth_interval=args.growth_interval if fp16 else 10**9,
    )
    trainer = MixedPrecisionTrainer(
        TinyMLP(cfg),
        lr=args.lr,
        max_grad_norm=args.max_grad_norm,
        scaler=scaler,
        dtype=torch.float16 if fp16 else torch.float32,
    )
    first = 0
    if args.resume:
        state = torch.load(args.resume, weights_only=True)
        trainer.load_state_dict(state["trainer"])
        first = int(state["step"])
    skipped = 0
    for step in range(first, first + args.steps):
        gen = torch.Generator().manual_seed(args.seed * 1_000_003 + step)  # resumable data order
        idx = torch.randint(len(x), (args.batch_size,), generator=gen)
        out = trainer.train_step(x[idx], y[idx])
        skipped += out["skipped"]
        if (step + 1) % 100 == 0:
            with torch.no_grad():
                val = float(loss_fn(trainer.model, x_val, y_val))
            print(
                f"step {step + 1}: loss {out['loss']:.4f}  val {val:.4f}  "
                f"scale {trainer.scaler.scale:g}  skipped so far {skipped}"
            )
    if args.save:
        torch.save({"trainer": trainer.state_dict(), "step": first + args.steps}, args.save)


if __name__ == "__main__":
    main()
