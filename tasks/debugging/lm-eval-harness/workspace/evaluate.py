"""Evaluate a model with the harness on the bundled data and print the metrics as JSON.

    python3 evaluate.py                       # an untrained TinyLM (seeded), both tasks
    python3 evaluate.py --checkpoint lm.pt    # a state_dict saved from model.TinyLM
    python3 evaluate.py --task ppl --batch-size 4 --max-len 32 --stride 8
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

import harness
import tokenizer
from model import ModelConfig, TinyLM

DATA = Path(__file__).resolve().parent / "data"


def read_jsonl(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path)
    ap.add_argument("--seed", type=int, default=0, help="initial weights when no checkpoint")
    ap.add_argument("--init-std", type=float, default=0.3, help="untrained weights' spread")
    ap.add_argument("--task", choices=["ppl", "mc", "all"], default="all")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--max-len", type=int, default=64, help="window length (<= the context)")
    ap.add_argument("--stride", type=int, default=32)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    model = TinyLM(ModelConfig(vocab_size=tokenizer.VOCAB_SIZE, init_std=args.init_std))
    if args.checkpoint:
        model.load_state_dict(torch.load(args.checkpoint, weights_only=True))
    model.eval()
    out = {}
    if args.task in ("ppl", "all"):
        docs = [d["text"] for d in read_jsonl(DATA / "docs.jsonl")]
        out["perplexity"] = harness.perplexity(
            model, docs, batch_size=args.batch_size, max_len=args.max_len, stride=args.stride
        )
    if args.task in ("mc", "all"):
        mc = harness.multiple_choice(model, read_jsonl(DATA / "mc.jsonl"))
        out["multiple_choice"] = {k: mc[k] for k in ("acc", "acc_norm")}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
