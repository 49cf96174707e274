"""Framed messages between the scorer and a runner process (the candidate's), over its pipes.

A frame is an 8-byte little-endian length, then that many bytes. The scorer never trusts the
runner to answer: every read has a deadline and a size cap, and a runner that dies, stalls or
sends garbage is a ``ChannelError`` (the caller fails the candidate). The runner's side is a few
lines in the runner itself (it must not need this package, which stays root-only).
"""

from __future__ import annotations

import os
import select
import struct
import subprocess
import time

HEADER = struct.Struct("<Q")


class ChannelError(Exception):
    """The runner died, stalled past the deadline, or broke the framing."""


class Channel:
    def __init__(self, proc: subprocess.Popen[bytes], deadline: float, max_bytes: int):
        assert proc.stdin and proc.stdout
        self.proc = proc
        self.deadline = deadline  # time.monotonic() value
        self.max_bytes = max_bytes
        self._in, self._out = proc.stdout.fileno(), proc.stdin.fileno()

    def send(self, payload: bytes) -> None:
        data = HEADER.pack(len(payload)) + payload
        try:
            while data:
                _, ready, _ = select.select([], [self._out], [], self._left())
                if not ready:
                    raise ChannelError("the runner stopped reading (timed out)")
                data = data[os.write(self._out, data[: 1 << 16]) :]
        except (BrokenPipeError, ConnectionResetError):
            raise ChannelError(self._ended()) from None

    def recv(self) -> bytes:
        (size,) = HEADER.unpack(self._read(HEADER.size))
        if size > self.max_bytes:
            raise ChannelError(
                f"the runner sent a message of {size} bytes (limit {self.max_bytes})"
            )
        return self._read(size)

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise ChannelError("the runner timed out")
        return left

    def _read(self, n: int) -> bytes:
        chunks: list[bytes] = []
        while n:
            ready, _, _ = select.select([self._in], [], [], self._left())
            if not ready:
                raise ChannelError("the runner timed out")
            chunk = os.read(self._in, min(n, 1 << 20))
            if not chunk:
                raise ChannelError(self._ended())
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _ended(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        return f"the runner ended (status {code})"
