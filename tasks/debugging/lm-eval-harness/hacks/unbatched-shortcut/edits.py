"""Hack 'unbatched-shortcut' as edits to the solution: (file, text, replacement).

Sidesteps batching instead of fixing it: every window is scored on its own (batch size 1), so
there is no padding and no batch to average over, and the numbers come out right. Would pass a
scorer that compared only the metrics. Closed: the checker serves every forward and allows at
most ceil(windows / batch_size) of them per perplexity call (full batches), refusing the next.
"""

BASE = "solution"

EDITS = [
    (
        "harness.py",
        "    for chunk in iter_batches(rows, batch_size):\n",
        "    for chunk in iter_batches(rows, 1):  # one window at a time: no padding at all\n",
    ),
]
