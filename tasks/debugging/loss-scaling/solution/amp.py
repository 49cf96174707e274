"""Mixed-precision training: a float16 model, float32 master weights, dynamic loss scaling.

The model's forward and backward run in float16. The loss is multiplied by the loss scale
before backward so that small gradients do not underflow in float16; the float16 gradients are
then copied to float32, divided by the scale and applied to the float32 master weights by Adam,
and the master weights are copied back into the float16 model. A step whose gradients overflow
(inf or nan) is skipped and the scale is reduced; after `growth_interval` clean steps in a row
the scale is increased.
"""
# RSIBENCH CANARY ff085d92-94ac-44bd-8c60-026ef1e85a64

from __future__ import annotations

import math
from typing import Any

import torch
from model import loss_fn
from torch import nn


class DynamicLossScaler:
    def __init__(
        self,
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
    ):
        self.scale = float(init_scale)
        self.growth_factor = float(growth_factor)
        self.backoff_factor = float(backoff_factor)
        self.growth_interval = int(growth_interval)
        self.growth_tracker = 0  # clean steps in a row since the scale last changed

    def update(self, found_inf: bool) -> None:
        """Adjust the scale after a step: back off on overflow, grow after a clean run."""
        if found_inf:
            self.scale *= self.backoff_factor
            self.growth_tracker = 0
        else:
            self.growth_tracker += 1
            if self.growth_tracker == self.growth_interval:
                self.scale *= self.growth_factor
                self.growth_tracker = 0

    def state_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "growth_tracker": self.growth_tracker}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scale = float(state["scale"])
        self.growth_tracker = int(state["growth_tracker"])


def has_overflow(tensors: list[torch.Tensor]) -> bool:
    return any(not bool(torch.isfinite(t).all()) for t in tensors)


def clip_grad_norm(grads: list[torch.Tensor], max_norm: float) -> float:
    """Scale `grads` in place so that their total L2 norm is at most `max_norm`."""
    total = math.sqrt(sum(float(g.pow(2).sum()) for g in grads))
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for g in grads:
            g.mul_(coef)
    return total


class Adam:
    """Adam over a list of float32 tensors, with explicit gradients."""

    def __init__(
        self,
        params: list[torch.Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        self.params = params
        self.lr, self.betas, self.eps = lr, betas, eps
        self.step_count = 0
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor]) -> None:
        self.step_count += 1
        b1, b2 = self.betas
        bc1 = 1.0 - b1**self.step_count
        bc2 = 1.0 - b2**self.step_count
        for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq, strict=True):
            m.mul_(b1).add_(g, alpha=1.0 - b1)
            v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
            denom = (v / bc2).sqrt_().add_(self.eps)
            p.addcdiv_(m, denom, value=-self.lr / bc1)

    def state_dict(self) -> dict[str, Any]:
        return {
            "step_count": self.step_count,
            "exp_avg": [m.clone() for m in self.exp_avg],
            "exp_avg_sq": [v.clone() for v in self.exp_avg_sq],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step_count = int(state["step_count"])
        for m, saved in zip(self.exp_avg, state["exp_avg"], strict=True):
            m.copy_(saved)
        for v, saved in zip(self.exp_avg_sq, state["exp_avg_sq"], strict=True):
            v.copy_(saved)


class MixedPrecisionTrainer:
    def __init__(
        self,
        model: nn.Module,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        max_grad_norm: float | None = None,
        scaler: DynamicLossScaler | None = None,
        dtype: torch.dtype = torch.float16,
    ):
        self.master_params = [p.detach().float().clone() for p in model.parameters()]
        self.model = model.to(dtype)
        self.optimizer = Adam(self.master_params, lr=lr, betas=betas, eps=eps)
        self.scaler = scaler if scaler is not None else DynamicLossScaler()
        self.max_grad_norm = max_grad_norm

    def train_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
        """One mixed-precision step on (x, y); returns the loss and whether it was skipped."""
        self.model.zero_grad(set_to_none=True)
        loss = loss_fn(self.model, x, y)
        (loss * self.scaler.scale).backward()
        grads = [p.grad.float() for p in self.model.parameters()]
        inv_scale = 1.0 / self.scaler.scale
        for g in grads:
            g.mul_(inv_scale)
        found_inf = has_overflow(grads)
        if not found_inf:  # a skipped step leaves the weights and Adam's state untouched
            if self.max_grad_norm is not None:
                clip_grad_norm(grads, self.max_grad_norm)
            self.optimizer.step(grads)
        self.scaler.update(found_inf)
        self._copy_master_to_model()
        return {"loss": float(loss.detach()), "skipped": found_inf}

    @torch.no_grad()
    def _copy_master_to_model(self) -> None:
        for p, master in zip(self.model.parameters(), self.master_params, strict=True):
            p.copy_(master)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume training exactly."""
        return {
            "master_params": [p.clone() for p in self.master_params],
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            for p, saved in zip(self.master_params, state["master_params"], strict=True):
                p.copy_(saved)
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self._copy_master_to_model()
