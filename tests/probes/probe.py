"""A probe run as the candidate's code inside a scoring run (laid into a workspace by
tests/test_scorers.py): reports, as one line ``RSI-PROBE {json}`` on stderr, what this process
can reach in the verifier. Paths on the image's own filesystem and the kernel's pseudo
filesystems (/proc, /sys, /dev's device nodes) are the image's; everything else is listed.

    readable    files this process can open and folders it can list, off the image
    writable    folders off the image where it could create a file (its own tmp included)
    renamable   folders holding its code (the runner's, the snapshot's, its library's) that it
                could rename
    channels    markers left by an earlier candidate process of the same scoring run
Modes: ``plant`` only leaves markers (a first process, which must then go on working);
``report`` also walks and reports.
"""

import ctypes
import json
import os
import sys

MARKER = "rsi-probe-marker"
SHM_KEY = 0x5253492D  # "RSI-"
PLACES = ["/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", "/home/agent", "/workspace", "/verifier"]
SKIP = ("/proc", "/sys")
# bind-mounted by Docker: its name-resolution files and its init (the container's PID 1)
HOST_FILES = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/usr/sbin/docker-init")
SHARED_DEV = ("/dev/shm", "/dev/mqueue")  # /dev is device nodes, but these two are writable


def _image(path, st, root_dev):
    """The image's own files, Docker's host files, and device nodes."""
    if st.st_dev == root_dev or path in HOST_FILES:
        return True
    return (path == "/dev" or path.startswith("/dev/")) and not path.startswith(SHARED_DEV)


def _places(code_dirs):
    own = [os.environ.get("HOME", ""), os.environ.get("TMPDIR", ""), os.getcwd()]
    return [p for p in dict.fromkeys(PLACES + own + list(code_dirs)) if p]


def plant(code_dirs):
    for place in _places(code_dirs):
        try:
            with open(os.path.join(place, MARKER), "w") as f:
                f.write(str(os.getpid()))
        except OSError:
            pass
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmget(SHM_KEY, 4096, 0o1666)  # IPC_CREAT | 0666


def _walk(root_dev, starts):
    """From / and from the folders this process knows by path (unlisted parents)."""
    readable, found_markers, seen = [], [], set()
    stack = ["/", *starts]
    while stack:
        d = stack.pop()
        if d in seen:
            continue
        seen.add(d)
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        try:
            if not _image(d, os.stat(d), root_dev):
                readable.append(d + "/")
        except OSError:
            pass
        for e in entries:
            if e.path in SKIP:
                continue
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if e.is_dir(follow_symlinks=False):
                stack.append(e.path)
            elif e.is_file(follow_symlinks=False):
                if e.name == MARKER:
                    found_markers.append(e.path)
                if _image(e.path, st, root_dev):
                    continue
                try:
                    os.close(os.open(e.path, os.O_RDONLY | os.O_NONBLOCK))
                    readable.append(e.path)
                except OSError:
                    pass
    return readable, found_markers


def report(code_dirs, tag):
    channels = []
    for place in _places(code_dirs):
        if os.path.exists(os.path.join(place, MARKER)):
            channels.append(os.path.join(place, MARKER))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.shmget(SHM_KEY, 0, 0) >= 0:
        channels.append("sysv-shm")
    readable, found = _walk(os.stat("/").st_dev, _places(code_dirs))
    channels += [m for m in found if m not in channels]
    writable = []
    for place in _places(code_dirs) + sorted({os.path.dirname(p) for p in readable}):
        test = os.path.join(place, f"rsi-probe-write-{os.getpid()}")
        try:
            os.close(os.open(test, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            os.unlink(test)
            if place not in writable:
                writable.append(place)
        except OSError:
            pass
    renamable = []
    for d in code_dirs:
        try:
            os.rename(d, d + ".moved")
            os.rename(d + ".moved", d)
            renamable.append(d)
        except OSError:
            pass
    out = {
        "tag": tag,
        "home": os.environ.get("HOME"),
        "tmpdir": os.environ.get("TMPDIR"),
        "readable": sorted(readable)[:60],
        "n_readable": len(readable),
        "writable": writable,
        "renamable": renamable,
        "channels": channels,
    }
    sys.stderr.write("RSI-PROBE " + json.dumps(out) + "\n")
    sys.stderr.flush()


if __name__ == "__main__":  # python3 -c "$(cat probe.py)" MODE TAG CODE_DIR...
    (plant if sys.argv[1] == "plant" else lambda dirs: report(dirs, sys.argv[2]))(sys.argv[3:])
