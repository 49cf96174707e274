# RSIBENCH CANARY 2ea25c44-f9d7-42f2-96d3-764a0b96ee71
"""Build-time measurement (not used at scoring): run a trainer on one thread under several
token permutations, as the scorer does, and report its CPU seconds and held-out loss for each.

    python3 measure.py TRAINER_DIR PERM_SEED [PERM_SEED ...]

For the workspace (the baseline) it also times the scorer's calibration run (CALIBRATION_STEPS
steps) after each full run: baseline_ratio in task.yaml is full CPU time over calibration's.

Run it in the task's image, one CPU: docker run --rm --cpus 1 -v $PWD:/fam -w /fam/checks
rsibench/python-ml:TAG python3 measure.py /fam/workspace 1 2 3
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lm
import numpy as np
import torch

HERE = Path(__file__).resolve().parent
CALIBRATION_STEPS = 100
# as the scorer starts a trainer: its folder on the path after site-packages, run as __main__
LAUNCH = (
    "import runpy, sys; d = sys.argv[1]; sys.path.append(d); "
    "sys.argv = [d + '/train.py', *sys.argv[2:]]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def permuted(name: str, perm: np.ndarray) -> np.ndarray:
    return perm[np.frombuffer((HERE / name).read_bytes(), dtype=np.uint8)].astype(np.uint8)


def run(trainer_dir: Path, seed: int, extra: tuple[str, ...] = ()) -> dict:
    perm = np.random.default_rng(seed).permutation(lm.VOCAB).astype(np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        train = Path(tmp, "train.bin")
        permuted("train.bin", perm).tofile(train)
        env = {"PATH": os.environ["PATH"], "OMP_NUM_THREADS": "1", "HOME": tmp}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.monotonic()
        subprocess.run(
            [
                "python3",
                "-I",
                "-B",
                "-c",
                LAUNCH,
                str(trainer_dir),
                "--train",
                str(train),
                "--out",
                "model.pt",
                *extra,
            ],
            cwd=tmp,
            env=env,
            check=True,
        )
        wall = time.monotonic() - wall
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        model = lm.load(torch.load(Path(tmp, "model.pt"), weights_only=True))
    heldout = torch.from_numpy(permuted("heldout.bin", perm).astype(np.int64))
    return {
        "perm_seed": seed,
        "cpu_s": round(cpu, 2),
        "wall_s": round(wall, 2),
        "heldout_loss": round(lm.evaluate(model, heldout), 4),
    }


if __name__ == "__main__":
    torch.set_num_threads(1)
    for s in sys.argv[2:]:
        print(json.dumps(run(Path(sys.argv[1]), int(s))), flush=True)
        if sys.argv[1].endswith("workspace"):  # the scorer's calibration run of the baseline
            cal = run(Path(sys.argv[1]), int(s), ("--steps", str(CALIBRATION_STEPS)))
            print(json.dumps({"calibration": cal}), flush=True)
