"""Scorer: train the family's own model with the candidate's config; evaluate it on hidden text.

The candidate controls only data: one JSON config file, parsed strictly (no NaN or Infinity)
and validated by the family's trusted training module from checks/ (exact key set, types,
bounds, compute budget). Training runs from checks/ code, in worker processes of the scorer
(one thread each, as many at once as the family has CPUs), on checks/' copy of the training
text, once for each hidden fixed seed; each model is evaluated on held-out text in checks/.
Nothing else from the workspace is read and no candidate code runs, so editing the visible
training script, the data or a results file changes nothing.

    score_raw        = mean held-out loss over the seeds (nats per character)
    score_normalised = (start_loss - loss) / (start_loss - reference_loss)

start_loss and reference_loss (the starting and the reference config under the same seeds) are
measured when the task is built: training on one thread with a fixed seed is deterministic.
Several seeds, because a small model's final loss varies from seed to seed (capabilities such as
copying emerge in some runs earlier than in others); the mean is what a config is judged on.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rsiscore import candidate as cand  # noqa: E402
from rsiscore.verdict import Args, Verdict, main  # noqa: E402

MAX_CONFIG_BYTES = 64 * 1024


def load_trainer(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("rsi_trainer", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_and_evaluate(trainer_path: str, cfg: dict, seed: int, train: str, heldout: str) -> float:
    """One training run and its held-out loss (in a worker process: trusted code only)."""
    trainer = load_trainer(Path(trainer_path))
    model = trainer.train(cfg, Path(train).read_text(), seed)
    return float(trainer.evaluate(model, Path(heldout).read_text()))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def score(args: Args) -> Verdict:
    p = args.params
    trainer = load_trainer(args.checks / p["trainer"])
    try:
        raw = cand.read_workspace_file(args.workspace, p["config"], MAX_CONFIG_BYTES)
        cfg = trainer.validate_config(json.loads(raw, parse_constant=_reject_constant))
    except (cand.CandidateError, ValueError) as e:  # includes JSON errors and ConfigError
        return Verdict(False, details={"stage": "config", "problem": str(e)})

    started = time.monotonic()
    seeds = [int(x) for x in p["seeds"]]
    paths = [str(args.checks / p[k]) for k in ("trainer", "train_text", "eval_text")]
    # spawned workers: no forking of a process that may hold torch's thread pools
    with ProcessPoolExecutor(
        max_workers=max(1, min(len(seeds), int(p["cpus"]))),
        mp_context=multiprocessing.get_context("spawn"),
    ) as pool:
        runs = [pool.submit(train_and_evaluate, paths[0], cfg, s, *paths[1:]) for s in seeds]
        losses = [run.result() for run in runs]
    loss = sum(losses) / len(losses)
    start, reference = float(p["start_loss"]), float(p["reference_loss"])
    return Verdict(
        True,
        loss,
        (start - loss) / (start - reference),
        {
            "config": cfg,
            "training_flops": trainer.training_flops(cfg),
            "heldout_loss_per_seed": losses,
            "start_loss": start,
            "reference_loss": reference,
            "seconds": round(time.monotonic() - started, 2),
        },
    )


if __name__ == "__main__":
    main(score)
