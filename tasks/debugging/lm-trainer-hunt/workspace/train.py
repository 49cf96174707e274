"""Command line for lmt: train a tokenizer, train (or resume) a model, evaluate a checkpoint.

    python3 train.py tokenizer --corpus data/corpus.txt --vocab-size 512 --out runs/tok.json
    python3 train.py train --corpus data/corpus.txt --tokenizer runs/tok.json --steps 300 \
        --set out_dir=runs/a save_every=100
    python3 train.py train ... --resume runs/a/step_100.pt
    python3 train.py eval --corpus data/corpus.txt --tokenizer runs/tok.json \
        --checkpoint runs/a/step_300.pt

Documents in the corpus are separated by blank lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from lmt.config import TrainConfig
from lmt.data import prepare
from lmt.tokenizer import EOT, PAD, Tokenizer
from lmt.trainer import Trainer


def read_documents(path: str) -> list[str]:
    text = Path(path).read_text(encoding="utf-8")
    return [d.strip("\n") for d in text.split("\n\n") if d.strip()]


def cmd_tokenizer(args: argparse.Namespace) -> None:
    tok = Tokenizer.train("\n".join(read_documents(args.corpus)), args.vocab_size)
    tok.save(args.out)
    print(f"saved {len(tok.merges)} merges, vocab {tok.vocab_size}, to {args.out}")


def build_trainer(args: argparse.Namespace, resume: str | None) -> Trainer:
    cfg = TrainConfig.from_json(args.config) if args.config else TrainConfig()
    cfg = cfg.override(args.set)
    tok = Tokenizer.load(args.tokenizer)
    docs = prepare(read_documents(args.corpus), tok)
    return Trainer(cfg, docs, tok.vocab_size, tok.token_id(EOT), tok.token_id(PAD), resume)


def cmd_train(args: argparse.Namespace) -> None:
    trainer = build_trainer(args, args.resume)
    Path(trainer.cfg.out_dir).mkdir(parents=True, exist_ok=True)
    (Path(trainer.cfg.out_dir) / "config.json").write_text(json.dumps(trainer.cfg.to_dict()))
    print(
        f"{trainer.model.num_parameters()} parameters, {len(trainer.train_docs)} train / "
        f"{len(trainer.val_docs)} val documents, starting at step {trainer.step}"
    )
    trainer.train(args.steps)
    print(json.dumps({"step": trainer.step, **trainer.validate()}))
    trainer.save()


def cmd_eval(args: argparse.Namespace) -> None:
    trainer = build_trainer(args, args.checkpoint)
    print(json.dumps({"step": trainer.step, **trainer.validate()}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("tokenizer", help="train a BPE tokenizer on the corpus")
    p.add_argument("--corpus", required=True)
    p.add_argument("--vocab-size", type=int, default=512)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_tokenizer)
    for name, func in (("train", cmd_train), ("eval", cmd_eval)):
        p = sub.add_parser(name)
        p.add_argument("--corpus", required=True)
        p.add_argument("--tokenizer", required=True)
        p.add_argument("--config", help="a JSON file of TrainConfig fields")
        p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
        if name == "train":
            p.add_argument("--steps", type=int, required=True)
            p.add_argument("--resume", help="a checkpoint to continue from")
        else:
            p.add_argument("--checkpoint", required=True)
        p.set_defaults(func=func)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
