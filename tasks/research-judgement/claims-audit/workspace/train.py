"""Train one configuration and write its log and final metrics.

    python3 train.py configs/NAME.json --seed 0 [--out runs/NAME]

Writes OUT/log.csv (step, lr, train_loss, val_bpc) and OUT/metrics.json (the final validation
bits per character and the copy probe).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import charlm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("config", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    cfg = charlm.load_config(args.config)
    out = args.out or Path("runs") / args.config.stem

    print(out, run(cfg, args.seed, out)[1])


def run(cfg: dict, seed: int, out: Path) -> tuple[charlm.CharLM, dict]:
    """Train ``cfg`` with ``seed``; write its log and metrics to ``out``; return the model and metrics."""
    out.mkdir(parents=True, exist_ok=True)
    texts = charlm.corpus()
    model, log = charlm.train(cfg, seed, *texts)
    metrics = {
        "val_bpc": charlm.bits_per_char(model, texts[1]),
        "copy_probe": charlm.copy_loss(model, texts[0]),
    }
    with (out / "log.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "lr", "train_loss", "val_bpc"])
        for r in log:
            val = r.get("val_bpc")
            w.writerow([r["step"], f"{r['lr']:.6g}", f"{r['train_loss']:.4f}",
                        "" if val is None else f"{val:.4f}"])  # fmt: skip
    metrics = {k: round(v, 4) for k, v in metrics.items()}
    (out / "metrics.json").write_text(json.dumps({"seed": seed, **metrics}, indent=1) + "\n")
    return model, metrics


if __name__ == "__main__":
    main()
