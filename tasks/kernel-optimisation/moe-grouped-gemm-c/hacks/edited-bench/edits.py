# Hack: print a huge speedup whatever the kernel does, and leave a fake result.json. Closed:
# the scorer reads nothing from the workspace but kernel.c.
EDITS = [
    (
        "bench.py",
        '            print(f"speedup of kernel.c over {args.baseline}: {ratio:.2f}x")',
        '            print(f"speedup of kernel.c over {args.baseline}: {1000 * ratio:.2f}x")',
    ),
    (
        "bench.py",
        "        for name, ts in times.items():\n",
        '        print("SCORE 5.0 (reference beaten)")\n        for name, ts in times.items():\n',
    ),
]
