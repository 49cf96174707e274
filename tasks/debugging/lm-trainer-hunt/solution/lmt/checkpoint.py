"""RSIBENCH CANARY e04c1ad7-2538-4cc8-ab65-54a6f87a72b1
Checkpoints: everything a run needs to continue exactly as if it had not stopped.

A checkpoint is one ``torch.save`` file of a dict that loads with ``weights_only=True``:
``model`` (the model's state_dict), ``optimizer``, ``scheduler``, ``loader`` (the data
position), ``rng`` (the global generators), ``step`` (optimizer steps taken) and ``config``.
Loading it into a freshly built trainer, in this process or another, continues the run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from . import rng

if TYPE_CHECKING:
    from .trainer import Trainer


def save(path: str | Path, trainer: Trainer) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": trainer.scheduler.state_dict(),
        "loader": trainer.loader.state_dict(),
        "rng": rng.get_state(),
        "step": trainer.step,
        "config": trainer.cfg.to_dict(),
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # a crash mid-save never leaves a truncated checkpoint behind
    return path


def load(path: str | Path, trainer: Trainer) -> None:
    state = torch.load(path, map_location="cpu", weights_only=True)
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.scheduler.load_state_dict(state["scheduler"])
    trainer.loader.load_state_dict(state["loader"])
    trainer.step = int(state["step"])
    rng.set_state(state["rng"])


def latest(directory: str | Path) -> Path | None:
    found = sorted(Path(directory).glob("step_*.pt"), key=lambda p: int(p.stem.split("_")[1]))
    return found[-1] if found else None
