"""Learning-rate schedule: linear warm-up, then cosine decay to ``min_ratio`` of the peak.

The optimizer step with index ``s`` (0-based) uses ``peak * factor(s)``::

    factor(s) = (s + 1) / warmup                         for s < warmup
              = min_ratio + (1 - min_ratio) * 0.5 * (1 + cos(pi * p)),
                p = min(1, (s - warmup) / max(1, total - warmup))   otherwise

``step()`` is called once after every optimizer step and sets the rate of the next one.
"""

from __future__ import annotations

import math

import torch


def lr_factor(step: int, warmup: int, total: int, min_ratio: float) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


class WarmupCosine:
    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        warmup: int,
        total: int,
        min_ratio: float = 0.1,
    ):
        self.optimizer = optimizer
        self.warmup, self.total, self.min_ratio = warmup, total, min_ratio
        self.peak_lrs = [group["lr"] for group in optimizer.param_groups]
        self.steps_done = 0
        self._apply()

    def _apply(self) -> None:
        factor = lr_factor(self.steps_done, self.warmup, self.total, self.min_ratio)
        for group, peak in zip(self.optimizer.param_groups, self.peak_lrs):
            group["lr"] = peak * factor

    def step(self) -> None:
        self.steps_done += 1
        self._apply()

    def current_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {"steps_done": self.steps_done, "peak_lrs": list(self.peak_lrs)}

    def load_state_dict(self, state: dict) -> None:
        self.steps_done = int(state["steps_done"])
        self.peak_lrs = [float(x) for x in state["peak_lrs"]]
        self._apply()
