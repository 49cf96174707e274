"""Runs the candidate's evaluation harness for the hidden checker (checks/cases.py), as the
candidate user.
RSIBENCH CANARY 209307b7-bfdd-4d00-b7c8-07e4afda068a

Public by design: the candidate's process can read this file, so it holds nothing secret. The
model the harness gets is a stand-in: the real one (its weights included) lives only in the
checker's process, and every forward is a request to it over stdin/stdout, which the checker
sizes, counts and refuses when too large. The checker sends the documents and questions as
data and compares the metrics sent back with its own reference, so nothing measured here
decides the verdict.

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


class StandInModel(torch.nn.Module):
    """model(input_ids) -> logits, computed by the checker's model in the checker's process."""

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        ids = torch.as_tensor(input_ids).detach().to(torch.long).contiguous().clone()
        return LINK.ask({"op": "forward", "input_ids": ids})["logits"]


def _plain(value):
    """Numbers, lists and dicts as Python values (tensors and numpy scalars converted)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    return str(value)


def main() -> None:
    global LINK
    LINK = Link()
    torch.set_num_threads(1)
    sys.path.append(sys.argv[1])
    try:
        harness = importlib.import_module("harness")
    except Exception:
        LINK.send({"op": "error", "error": "import: " + traceback.format_exc()[-2000:]})
        return
    LINK.send({"op": "ready"})
    model = StandInModel()
    while True:
        msg = LINK.recv()
        try:
            if msg["op"] == "perplexity":
                out = harness.perplexity(
                    model,
                    msg["docs"],
                    batch_size=msg["batch_size"],
                    max_len=msg["max_len"],
                    stride=msg["stride"],
                )
            elif msg["op"] == "multiple_choice":
                out = harness.multiple_choice(model, msg["questions"])
            else:
                raise ValueError(f"unknown request {msg['op']!r}")
            LINK.send({"op": "done", "result": _plain(out)})
        except Exception:
            LINK.send({"op": "error", "error": traceback.format_exc()[-2000:]})


if __name__ == "__main__":
    main()
