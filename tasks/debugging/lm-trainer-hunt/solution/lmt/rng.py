"""RSIBENCH CANARY e04c1ad7-2538-4cc8-ab65-54a6f87a72b1
Seeding and capturing the global random number generators (Python, torch).

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
        "torch": torch.get_rng_state(),
    }


def set_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((int(version), tuple(int(x) for x in internal), gauss))
    torch.set_rng_state(state["torch"])
