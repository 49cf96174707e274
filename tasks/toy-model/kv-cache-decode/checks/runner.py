"""Runs the candidate's Transformer.generate for the hidden checker (checks/cases.py), as the
candidate user.
RSIBENCH CANARY 902e0537-71ca-45ca-9714-17f1b7441670

Public by design: the candidate's process can read this file, so it holds nothing secret. The
model is built from the candidate's model.py; its embedding and norm weights come as data, and
every linear layer is replaced by a stand-in whose weights exist only in the checker's process:
each call is a request over stdin/stdout that the checker sizes, checks against its own full
recomputation and answers. So nothing measured here decides the verdict.

    python3 -I -B runner.py WORKSPACE_SNAPSHOT

The snapshot is appended to sys.path after the standard library and site-packages, so a
workspace `torch.py` cannot shadow torch.
"""

import importlib
import json
import os
import struct
import sys
import traceback

import numpy as np
import torch

HEADER = struct.Struct("<Q")

# Frames carry one message: a dict of str, int, float, bool, None, lists, dicts and dense
# tensors (float32, float64, int64, bool). Layout: 4-byte length, a JSON header in which each
# tensor is {"__tensor__": i, "dtype": ..., "shape": [...]}, then the tensors' raw bytes in
# order. Nothing is unpickled, and a malformed frame raises ValueError.
_DTYPES = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "bool": np.bool_}
_LEN = struct.Struct("<I")


def _pack(obj, blobs: list) -> object:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        dtype = str(t.dtype).removeprefix("torch.")
        if dtype not in _DTYPES or t.layout != torch.strided:
            raise TypeError(f"cannot send a {t.dtype} tensor")
        blobs.append(t.numpy().tobytes())
        return {"__tensor__": len(blobs) - 1, "dtype": dtype, "shape": list(t.shape)}
    if isinstance(obj, dict):
        return {str(k): _pack(v, blobs) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_pack(v, blobs) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot send a {type(obj).__name__}")


def pack(message: dict) -> bytes:
    blobs: list[bytes] = []
    head = json.dumps({"m": _pack(message, blobs), "sizes": [len(b) for b in blobs]}).encode()
    return _LEN.pack(len(head)) + head + b"".join(blobs)


def _reject(constant: str) -> None:
    raise ValueError(f"{constant} in a message")


def unpack(data: bytes) -> dict:
    (n,) = _LEN.unpack_from(data)
    head = json.loads(data[_LEN.size : _LEN.size + n], parse_constant=_reject)
    sizes = head["sizes"]
    if not isinstance(sizes, list) or not all(isinstance(s, int) and s >= 0 for s in sizes):
        raise ValueError("bad sizes")
    offsets, pos = [], _LEN.size + n
    for s in sizes:
        offsets.append(pos)
        pos += s
    if pos != len(data):
        raise ValueError("frame length mismatch")

    def build(obj):
        if isinstance(obj, dict) and "__tensor__" in obj:
            i, dtype, shape = obj["__tensor__"], obj.get("dtype"), obj.get("shape")
            if not isinstance(i, int) or not 0 <= i < len(sizes) or dtype not in _DTYPES:
                raise ValueError("bad tensor")
            if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
                raise ValueError("bad shape")
            np_dtype = np.dtype(_DTYPES[dtype])
            count = int(np.prod(shape, dtype=np.int64))
            if count * np_dtype.itemsize != sizes[i]:
                raise ValueError("tensor size mismatch")
            arr = np.frombuffer(data, dtype=np_dtype, count=count, offset=offsets[i])
            return torch.from_numpy(arr.reshape(shape).copy())
        if isinstance(obj, dict):
            return {k: build(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [build(v) for v in obj]
        return obj

    message = build(head["m"])
    if not isinstance(message, dict):
        raise ValueError("not a dict")
    return message


class Link:
    """Length-prefixed frames (`pack`) on the original stdin/stdout."""

    def __init__(self) -> None:
        self.rx = os.fdopen(os.dup(0), "rb", buffering=0)
        self.tx = os.fdopen(os.dup(1), "wb", buffering=0)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(2, 1)  # what the candidate's code prints goes to the log, not to the checker

    def send(self, message: dict) -> None:
        data = pack(message)
        self.tx.write(HEADER.pack(len(data)) + data)

    def recv(self) -> dict:
        (size,) = HEADER.unpack(self._read(HEADER.size))
        return unpack(self._read(size))

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


class ServedLinear(torch.nn.Module):
    """A bias-free linear layer computed by the checker: y = x @ W.T for the real rows."""

    def __init__(self, name: str, in_features: int, out_features: int):
        super().__init__()
        self.name, self.in_features, self.out_features = name, in_features, out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = LINK.ask({"op": "linear", "name": self.name, "x": x.detach().float().contiguous()})
        return y["y"]


def build(model_module, msg: dict) -> torch.nn.Module:
    model = model_module.Transformer(model_module.Config(**msg["config"]))
    for name, (out_f, in_f) in msg["linears"].items():
        parent_name, _, leaf = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        layer = getattr(parent, leaf, None)
        if not isinstance(layer, torch.nn.Linear) or layer.bias is not None:
            raise TypeError(f"{name} is not a bias-free torch.nn.Linear")
        if (layer.out_features, layer.in_features) != (out_f, in_f):
            raise ValueError(
                f"{name}: Linear({layer.in_features}, {layer.out_features}), expected "
                f"Linear({in_f}, {out_f})"
            )
        setattr(parent, leaf, ServedLinear(msg["role"] + name, in_f, out_f))
    with torch.no_grad():
        for name, value in msg["weights"].items():
            param = model.get_parameter(name)
            if tuple(param.shape) != tuple(value.shape):
                raise ValueError(f"{name}: shape {tuple(param.shape)}, expected {value.shape}")
            param.copy_(value)
    return model.eval()


def main() -> None:
    global LINK
    LINK = Link()
    torch.set_num_threads(1)
    sys.path.append(sys.argv[1])
    try:
        model_module = importlib.import_module("model")
    except Exception:
        LINK.send({"op": "error", "error": "import: " + traceback.format_exc()[-2000:]})
        return
    LINK.send({"op": "ready"})
    models = {}
    while True:
        msg = LINK.recv()
        try:
            if msg["op"] == "model":
                models[msg["role"]] = build(model_module, msg)
                LINK.send({"op": "done"})
            elif msg["op"] == "generate":
                with torch.no_grad():
                    out = models[""].generate(
                        msg["input_ids"],
                        msg["max_new_tokens"],
                        attention_mask=msg["attention_mask"],
                    )
                LINK.send({"op": "done", "tokens": out.detach().clone()})
            elif msg["op"] == "speculative":
                with torch.no_grad():
                    out = model_module.speculative_generate(
                        models["target."],
                        models["draft."],
                        msg["input_ids"],
                        msg["max_new_tokens"],
                        msg["num_draft"],
                    )
                LINK.send({"op": "done", "tokens": out.detach().clone()})
        except Exception:
            LINK.send({"op": "error", "error": traceback.format_exc()[-2000:]})


if __name__ == "__main__":
    main()
