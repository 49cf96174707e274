"""RSIBENCH CANARY e04c1ad7-2538-4cc8-ab65-54a6f87a72b1
AdamW with decoupled weight decay on matrices only, and global-norm gradient clipping.

Parameter groups: group 0 holds every parameter with two or more dimensions (linear weights,
the embedding), in ``named_parameters`` order, with the configured weight decay; group 1 holds
the rest (LayerNorm gains and biases and other vectors), also in ``named_parameters`` order,
with no weight decay.
"""

from __future__ import annotations

import torch
from torch import nn


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    no_decay_names: set[str] = set()
    for module_name, module in model.named_modules():
        for name, _ in module.named_parameters(recurse=False):
            if isinstance(module, nn.LayerNorm) or name.endswith("bias"):
                no_decay_names.add(f"{module_name}.{name}" if module_name else name)
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    decay = [p for n, p in params.items() if n not in no_decay_names]
    no_decay = [p for n, p in params.items() if n in no_decay_names]
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def build_optimizer(
    model: nn.Module,
    lr: float,
    weight_decay: float,
    betas: tuple[float, float] = (0.9, 0.95),
    eps: float = 1e-8,
) -> torch.optim.AdamW:
    return torch.optim.AdamW(
        param_groups(model, weight_decay), lr=lr, betas=betas, eps=eps, foreach=False
    )


def clip_gradients(model: nn.Module, max_norm: float | None) -> float:
    """Clip all gradients together to total L2 norm ``max_norm``; return the norm before."""
    params = [p for p in model.parameters() if p.grad is not None]
    if max_norm is None:
        total = torch.norm(torch.stack([p.grad.detach().norm() for p in params]))
        return float(total)
    return float(torch.nn.utils.clip_grad_norm_(params, max_norm))
