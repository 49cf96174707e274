# RSIBENCH CANARY ff085d92-94ac-44bd-8c60-026ef1e85a64
"""A small classifier and its loss; the model's parameters may be float16 (mixed precision)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class ModelConfig:
    d_in: int = 16
    d_hidden: int = 32
    n_classes: int = 8


class TinyMLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.fc1 = nn.Linear(cfg.d_in, cfg.d_hidden)
        self.fc2 = nn.Linear(cfg.d_hidden, cfg.d_hidden)
        self.head = nn.Linear(cfg.d_hidden, cfg.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.fc1(x))
        h = torch.tanh(self.fc2(h))
        return self.head(h)


def loss_fn(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy, computed in float32 from logits of the model's own dtype."""
    dtype = next(model.parameters()).dtype
    logits = model(x.to(dtype))
    return F.cross_entropy(logits.float(), y)
