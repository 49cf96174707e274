"""Scorer: train the family's own model with the candidate's config; evaluate it on hidden text.

The candidate controls only data: one JSON config file, parsed strictly (``rsiscore.answers``:
no NaN or Infinity, no duplicate keys), validated by the family's trusted training module from
checks/ (exact key set, types, bounds) and held to its compute budget (``rsiscore.budget``).
Training runs from checks/ code, in worker processes of the scorer (one thread each, as many at
once as the family has CPUs), on checks/' copy of the training text, once for each hidden fixed
seed; each model is evaluated on held-out text in checks/. Nothing else from the workspace is
read and no candidate code runs, so editing the visible training script, the data or a results
file changes nothing.

    score_raw        = mean held-out loss over the seeds (nats per character)
    score_normalised = (start_loss - loss) / (start_loss - reference_loss)

start_loss and reference_loss (the starting and the reference config under the same seeds) are
measured when the task is built: training on one thread with a fixed seed is deterministic.
Several seeds, because a small model's final loss varies from seed to seed (capabilities such as
copying emerge in some runs earlier than in others); the mean is what a config is judged on.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rsiscore import answers, budget  # noqa: E402
from rsiscore.trusted import load_module  # noqa: E402
from rsiscore.verdict import Args, Verdict, main  # noqa: E402


def train_and_evaluate(trainer_path: str, cfg: dict, seed: int, train: str, heldout: str) -> float:
    """One training run and its held-out loss (in a worker process: trusted code only)."""
    trainer = load_module(Path(trainer_path), "rsi_trainer")
    model = trainer.train(cfg, Path(train).read_text(), seed)
    return float(trainer.evaluate(model, Path(heldout).read_text()))


def score(args: Args) -> Verdict:
    p = args.params
    trainer = load_module(args.checks / p["trainer"], "rsi_trainer")
    raw = answers.read_json(args.workspace, p["config"])
    try:
        cfg = trainer.validate_config(raw)
    except trainer.ConfigError as e:
        return Verdict(False, details={"stage": "config", "problem": f"{p['config']}: {e}"})
    flops = budget.check("training FLOPs", trainer.training_flops(cfg), trainer.FLOP_BUDGET)

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
            "training_flops": flops,
            "heldout_loss_per_seed": losses,
            "start_loss": start,
            "reference_loss": reference,
            "seconds": round(time.monotonic() - started, 2),
        },
    )


if __name__ == "__main__":
    main(score)
