"""Seeding and capturing the global random number generators (Python, torch).

``get_state`` captures where each generator is; ``set_state`` puts it back there, in this
process or another, so the numbers drawn after ``set_state`` are exactly those that were
drawn after the matching ``get_state``."""

from __future__ import annotations

import random

import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def get_state() -> dict:
    version, internal, gauss = random.getstate()
    return {
        "python": [version, list(internal), gauss],
        "torch": torch.initial_seed(),
    }


def set_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((int(version), tuple(int(x) for x in internal), gauss))
    torch.manual_seed(int(state["torch"]))
