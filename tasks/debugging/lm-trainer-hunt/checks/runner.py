"""Runs the candidate's lmt modules for the hidden checker (checks/cases.py), as the candidate.
RSIBENCH CANARY e04c1ad7-2538-4cc8-ab65-54a6f87a72b1

Public by design: the candidate's process can read this file, so it holds nothing secret. It
gets inputs as data over stdin, calls the workspace's lmt package, and sends back what that
code produced (merges, token ids, batches, parameters, checkpoints) as data. The checker, in
another process, compares all of it with its own reference; a checkpoint written here reaches
the next session (a fresh process) only through the checker.

    python3 -I -B runner.py WORKSPACE_SNAPSHOT
"""

import importlib
import io
import os
import random
import struct
import sys
import traceback
from pathlib import Path

import torch

HEADER = struct.Struct("<Q")


class Link:
    """Length-prefixed torch.save frames on the original stdin/stdout."""

    def __init__(self) -> None:
        self.rx = os.fdopen(os.dup(0), "rb", buffering=0)
        self.tx = os.fdopen(os.dup(1), "wb", buffering=0)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(2, 1)  # what the candidate's code prints goes to the log, not to the checker

    def send(self, message: dict) -> None:
        buf = io.BytesIO()
        torch.save(message, buf)
        self.tx.write(HEADER.pack(buf.tell()) + buf.getvalue())

    def recv(self) -> dict:
        (size,) = HEADER.unpack(self._read(HEADER.size))
        return torch.load(io.BytesIO(self._read(size)), weights_only=True)

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.rx.read(n - len(data))
            if not chunk:
                raise SystemExit(0)  # the checker is done
            data += chunk
        return data


def as_bytes(obj) -> torch.Tensor:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return torch.frombuffer(bytearray(buf.getvalue()), dtype=torch.uint8)


def from_bytes(t: torch.Tensor):
    return torch.load(io.BytesIO(t.numpy().tobytes()), weights_only=True)


def params_of(model: torch.nn.Module) -> dict:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


class Ops:
    def __init__(self, lmt: dict) -> None:
        self.m = lmt

    def tokenizer(self, msg: dict) -> dict:
        tok = self.m["tokenizer"].Tokenizer.train(
            msg["train_text"], msg["vocab_size"], msg["specials"]
        )
        return {
            "merges": [list(map(int, p)) for p in tok.merges],
            "encodings": [list(map(int, tok.encode(t))) for t in msg["texts"]],
        }

    def split(self, msg: dict) -> dict:
        train, val = self.m["data"].split_documents(msg["texts"], msg["val_fraction"], msg["seed"])
        return {"train": [int(i) for i in train], "val": [int(i) for i in val]}

    def loader(self, msg: dict) -> dict:
        loader = self.m["data"].PackedLoader(
            msg["docs"], msg["seq_len"], msg["batch_size"], msg["eot"], msg["seed"]
        )
        if msg["state"] is not None:
            loader.load_state_dict(from_bytes(msg["state"]))
        batches = [next(loader) for _ in range(msg["take"])]
        stacked = {k: torch.stack([b[k] for b in batches]) for k in batches[0]}
        return {"batches": stacked, "state": as_bytes(loader.state_dict())}

    def _model(self, msg: dict) -> torch.nn.Module:
        model_mod = self.m["model"]
        model = model_mod.TransformerLM(model_mod.ModelConfig(**msg["model_cfg"]))
        model.load_state_dict(msg["weights"])
        return model

    def optimizer(self, msg: dict) -> dict:
        model = self._model(msg)
        opt = self.m["optim"].build_optimizer(model, msg["lr"], msg["weight_decay"])
        if msg["opt_state"] is not None:
            opt.load_state_dict(from_bytes(msg["opt_state"]))
        named = dict(model.named_parameters())
        for grads in msg["grads"]:
            for name, p in named.items():
                p.grad = grads[name].clone()
            opt.step()
        return {"params": params_of(model), "opt_state": as_bytes(opt.state_dict())}

    def eval(self, msg: dict) -> dict:
        model = self._model(msg)
        out = self.m["evaluate"].evaluate(
            model, msg["docs"], msg["seq_len"], msg["batch_size"], msg["eot"], msg["pad"]
        )
        return {"loss": float(out["loss"]), "tokens": float(out["tokens"])}

    def train(self, msg: dict) -> dict:
        tmp = Path(os.environ["TMPDIR"])
        cfg = self.m["config"].TrainConfig.from_dict(
            {**msg["cfg"], "out_dir": str(tmp / "run"), "log_every": 0}
        )
        Document = self.m["data"].Document
        docs = [Document(t, list(ids)) for t, ids in zip(msg["texts"], msg["ids"], strict=True)]
        resume = None
        if msg["resume"] is not None:
            resume = tmp / "resume.pt"
            resume.write_bytes(msg["resume"].numpy().tobytes())
        trainer = self.m["trainer"].Trainer(
            cfg, docs, msg["vocab_size"], msg["eot"], msg["pad"], resume_from=resume
        )
        if resume is None:
            trainer.model.load_state_dict(msg["weights"])
        records = trainer.train(msg["steps"])
        saved = tmp / "run" / f"step_{cfg.save_every}.pt"
        split = self.m["data"].split_documents(msg["texts"], cfg.val_fraction, cfg.seed)
        return {
            "losses": [float(r["loss"]) for r in records],
            "params": params_of(trainer.model),
            "checkpoint": torch.frombuffer(bytearray(saved.read_bytes()), dtype=torch.uint8)
            if resume is None and saved.is_file()
            else None,
            "train": [int(i) for i in split[0]],
            "val": [int(i) for i in split[1]],
        }


def main() -> None:
    link = Link()
    torch.set_num_threads(1)
    sys.path.append(sys.argv[1])
    try:
        names = ("tokenizer", "data", "model", "optim", "evaluate", "config", "trainer")
        ops = Ops({n: importlib.import_module(f"lmt.{n}") for n in names})
    except Exception:
        link.send({"op": "error", "error": "import: " + traceback.format_exc()[-2000:]})
        return
    link.send({"op": "ready"})
    while True:
        msg = link.recv()
        try:
            random.seed(msg["scramble"])  # the global generators hold whatever the checker says
            torch.manual_seed(msg["scramble"])
            reply = getattr(Ops, msg["op"])(ops, msg)
            link.send({"op": "done", **reply})
        except Exception:
            link.send({"op": "error", "error": traceback.format_exc()[-2000:]})


if __name__ == "__main__":
    main()
