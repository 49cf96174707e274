"""Serve calls to one C function from a shared library (run as a script, not imported).

    python3 -I -B kernel_runner.py LIBRARY FUNCTION MAPPING N_ARRAYS N_INTS

The scorer and this process share the file MAPPING. Each request on stdin names, for every
array argument, its byte offset in the mapping, then the int arguments; the function is called
with pointers into the mapping and one byte, b"d", answers on stdout. The scorer writes the
inputs, times each request from before it writes them until the answer, and checks the outputs
itself: nothing this process says is trusted beyond "I am done". It uses only the standard
library, so a candidate's library runs alone in a single-threaded process.
"""

import ctypes
import mmap
import os
import struct
import sys


def main() -> None:
    lib_path, func_name, map_path, n_arrays, n_ints = sys.argv[1:6]
    n_arr, n_int = int(n_arrays), int(n_ints)
    func = getattr(ctypes.CDLL(lib_path), func_name)
    func.restype = None
    func.argtypes = [ctypes.c_void_p] * n_arr + [ctypes.c_int] * n_int
    fd = os.open(map_path, os.O_RDWR)
    mapping = mmap.mmap(fd, 0)
    base = ctypes.addressof(ctypes.c_char.from_buffer(mapping))
    request = struct.Struct(f"<{n_arr}q{n_int}i")
    stdin, stdout = sys.stdin.buffer.raw, sys.stdout.buffer.raw
    stdout.write(b"r")
    while True:
        data = b""
        while len(data) < request.size:
            chunk = stdin.read(request.size - len(data))
            if not chunk:
                return
            data += chunk
        values = request.unpack(data)
        func(*(base + off for off in values[:n_arr]), *values[n_arr:])
        stdout.write(b"d")


if __name__ == "__main__":
    main()
