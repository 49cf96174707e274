"""Run configuration: one dataclass, read from JSON and overridden from the command line."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path


@dataclass
class TrainConfig:
    # data
    seq_len: int = 64
    batch_size: int = 16
    val_fraction: float = 0.1
    # model
    d_model: int = 64
    n_layer: int = 2
    n_head: int = 4
    dropout: float = 0.0
    # optimisation
    lr: float = 3e-3
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    warmup_steps: int = 20
    total_steps: int = 300
    min_lr_ratio: float = 0.1
    max_grad_norm: float | None = 1.0
    # bookkeeping
    seed: int = 0
    log_every: int = 10
    eval_every: int = 0
    save_every: int = 0
    out_dir: str = "runs/default"
    eval_batch_size: int = 16

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, obj: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(obj) - known)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}")
        obj = dict(obj)
        if "betas" in obj:
            obj["betas"] = tuple(float(b) for b in obj["betas"])
        return cls(**obj)

    @classmethod
    def from_json(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def override(self, pairs: list[str]) -> TrainConfig:
        """Apply ``key=value`` overrides (values parsed as JSON, else kept as strings)."""
        obj = self.to_dict()
        for pair in pairs:
            key, sep, raw = pair.partition("=")
            if not sep or key not in obj:
                raise ValueError(f"bad override {pair!r}: expected key=value with a config key")
            try:
                obj[key] = json.loads(raw)
            except json.JSONDecodeError:
                obj[key] = raw
        return TrainConfig.from_dict(obj)
