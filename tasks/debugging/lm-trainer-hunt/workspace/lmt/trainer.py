"""The training loop: one object owning the model, optimizer, schedule and data position."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from . import checkpoint, rng
from .config import TrainConfig
from .data import IGNORE_INDEX, Document, PackedLoader, split_documents
from .evaluate import evaluate
from .model import ModelConfig, TransformerLM
from .optim import build_optimizer, clip_gradients
from .schedule import WarmupCosine


class Trainer:
    """Build a run from ``documents`` (text and token ids), or continue one from a checkpoint.

    ``Trainer(cfg, docs, ...)`` then ``train(n)`` takes optimizer steps until ``step == n``.
    A run interrupted at a checkpoint and continued with ``resume_from`` takes exactly the same
    steps as the uninterrupted run.
    """

    def __init__(
        self,
        cfg: TrainConfig,
        documents: Sequence[Document],
        vocab_size: int,
        eot_id: int,
        pad_id: int,
        resume_from: str | Path | None = None,
    ):
        self.cfg = cfg
        self.eot_id, self.pad_id = eot_id, pad_id
        rng.seed_everything(cfg.seed)
        train_idx, val_idx = split_documents(
            [d.text for d in documents], cfg.val_fraction, cfg.seed
        )
        self.train_docs = [list(documents[i].ids) for i in train_idx]
        self.val_docs = [list(documents[i].ids) for i in val_idx]
        self.model = TransformerLM(
            ModelConfig(
                vocab_size=vocab_size,
                d_model=cfg.d_model,
                n_layer=cfg.n_layer,
                n_head=cfg.n_head,
                max_len=cfg.seq_len,
                dropout=cfg.dropout,
            )
        )
        self.optimizer = build_optimizer(
            self.model, cfg.lr, cfg.weight_decay, tuple(cfg.betas), cfg.eps
        )
        self.scheduler = WarmupCosine(
            self.optimizer, cfg.warmup_steps, cfg.total_steps, cfg.min_lr_ratio
        )
        self.loader = PackedLoader(self.train_docs, cfg.seq_len, cfg.batch_size, eot_id, cfg.seed)
        self.step = 0
        self.history: list[dict] = []
        if resume_from is not None:
            checkpoint.load(resume_from, self)

    # ---- one step ------------------------------------------------------------------------

    def loss_on(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        logits = self.model(
            batch["input_ids"], doc_ids=batch["doc_ids"], position_ids=batch["position_ids"]
        )
        return F.cross_entropy(
            logits.flatten(0, 1), batch["labels"].flatten(), ignore_index=IGNORE_INDEX
        )

    def train(self, num_steps: int) -> list[dict]:
        """Take optimizer steps until ``self.step == num_steps``; return their records."""
        self.model.train()
        records = []
        while self.step < num_steps:
            started = time.perf_counter()
            batch = next(self.loader)
            loss = self.loss_on(batch)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = clip_gradients(self.model, self.cfg.max_grad_norm)
            lr = self.optimizer.param_groups[0]["lr"]
            self.optimizer.step()
            self.step += 1
            record = {
                "step": self.step,
                "loss": float(loss.detach()),
                "lr": lr,
                "grad_norm": grad_norm,
                "seconds": time.perf_counter() - started,
            }
            records.append(record)
            self.history.append(record)
            self._log(record)
            if self.cfg.eval_every and self.step % self.cfg.eval_every == 0:
                self._log(
                    {"step": self.step, **{f"val_{k}": v for k, v in self.validate().items()}}
                )
            if self.cfg.save_every and self.step % self.cfg.save_every == 0:
                self.save()
            self.scheduler.step()
        return records

    def validate(self) -> dict[str, float]:
        return evaluate(
            self.model,
            self.val_docs,
            self.cfg.seq_len,
            self.cfg.eval_batch_size,
            self.eot_id,
            self.pad_id,
        )

    # ---- bookkeeping ---------------------------------------------------------------------

    def checkpoint_path(self, step: int | None = None) -> Path:
        return Path(self.cfg.out_dir) / f"step_{self.step if step is None else step}.pt"

    def save(self) -> Path:
        return checkpoint.save(self.checkpoint_path(), self)

    def _log(self, record: dict) -> None:
        if self.cfg.log_every and record["step"] % self.cfg.log_every == 0:
            print(
                json.dumps(
                    {k: round(v, 6) if isinstance(v, float) else v for k, v in record.items()}
                ),
                flush=True,
            )
