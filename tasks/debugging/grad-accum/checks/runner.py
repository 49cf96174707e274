"""Runs the candidate's Trainer for the hidden checker (checks/cases.py), as the candidate user.
RSIBENCH CANARY f13b78d6-986b-46d7-be89-bc3bc7463b8c

Public by design: the candidate's process can read this file, so it holds nothing secret. The
model, optimizer and scheduler the Trainer gets are stand-ins: the real ones (initial weights
included) live only in the checker's process, and every forward, backward, optimizer step and
scheduler step is a request to it over stdin/stdout. The checker counts and bounds what it is
asked to compute and keeps the parameters, so nothing measured here decides the verdict.

    python3 -I -B runner.py WORKSPACE_SNAPSHOT

The snapshot is appended to sys.path after the standard library and site-packages, so a
workspace `torch.py` cannot shadow torch.
"""

import importlib
import io
import os
import struct
import sys
import traceback

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

    def ask(self, message: dict) -> dict:
        self.send(message)
        reply = self.recv()
        if "error" in reply:
            raise RuntimeError(f"the checker refused: {reply['error']}")
        return reply


LINK: Link


class RemoteForward(torch.autograd.Function):
    """logits = the checker's model(input_ids); backward asks the checker for the parameter
    gradients of that call."""

    @staticmethod
    def forward(ctx, input_ids, names, *params):
        reply = LINK.ask({"op": "forward", "input_ids": input_ids.detach().clone()})
        ctx.call, ctx.names = reply["id"], names
        return reply["logits"]

    @staticmethod
    def backward(ctx, grad):
        reply = LINK.ask({"op": "backward", "id": ctx.call, "grad": grad.detach().contiguous()})
        return (None, None, *(reply["grads"][n] for n in ctx.names))


class StandInModel(torch.nn.Module):
    """Same parameter names and shapes as the real model; the values are not the model's."""

    def __init__(self, shapes: dict[str, list[int]]):
        super().__init__()
        for name, shape in shapes.items():
            *path, leaf = name.split(".")
            module = self
            for part in path:
                if not hasattr(module, part):
                    module.add_module(part, torch.nn.Module())
                module = getattr(module, part)
            module.register_parameter(leaf, torch.nn.Parameter(torch.zeros(shape)))
        self._names = list(shapes)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        params = dict(self.named_parameters())
        return RemoteForward.apply(input_ids, self._names, *(params[n] for n in self._names))


class StandInOptimizer(torch.optim.Optimizer):
    """zero_grad works on the stand-in's gradients; step() hands them to the checker."""

    def __init__(self, model: StandInModel, lr: float):
        self._model = model
        super().__init__(model.parameters(), {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        grads = {n: p.grad for n, p in self._model.named_parameters()}
        LINK.ask({"op": "opt_step", "grads": grads})


class StandInScheduler:
    def step(self) -> None:
        LINK.ask({"op": "sched_step"})


def main() -> None:
    global LINK
    LINK = Link()
    torch.set_num_threads(1)
    sys.path.append(sys.argv[1])
    try:
        data = importlib.import_module("data")
        train = importlib.import_module("train")
    except Exception:
        LINK.send({"op": "error", "error": "import: " + traceback.format_exc()[-2000:]})
        return
    LINK.send({"op": "ready"})
    trainer = None
    while True:
        msg = LINK.recv()
        try:
            if msg["op"] == "scenario":
                model = StandInModel(msg["shapes"])
                opt = StandInOptimizer(model, msg["lr"])
                sched = StandInScheduler() if msg["scheduler"] else None
                trainer = train.Trainer(
                    model,
                    opt,
                    accum_steps=msg["accum_steps"],
                    max_grad_norm=msg["max_grad_norm"],
                    scheduler=sched,
                )
                LINK.send({"op": "done"})
            elif msg["op"] == "step":
                batch = data.Batch(msg["input_ids"], msg["labels"])
                LINK.send({"op": "done", "loss": float(trainer.train_step(batch))})
        except Exception:
            LINK.send({"op": "error", "error": traceback.format_exc()[-2000:]})


if __name__ == "__main__":
    main()
