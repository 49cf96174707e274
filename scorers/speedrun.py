"""Scorer: a training speedrun. Run the candidate's trainer on one core under a CPU-time budget
set by the baseline trainer timed in the same run; evaluate the model it saved on hidden text.

The candidate's trainer is the deliverable, so its code runs, but only as the candidate user,
from a root-owned snapshot of the workspace's ``.py`` files (nothing else of the workspace: no
checkpoint, no data file travels), as one thread that can start no other (``nproc=1``), with the
training data the scorer hands it and a CPU-time limit the kernel enforces:

1. The training data is a fresh text drawn for this run (the family's corpus module's
   ``training_ids(seed)``, secret seed: not the workspace's copy, so the ids cannot be matched
   against a known text), and a fresh random permutation of the token ids (``secrets``) relabels
   it and the held-out data alike: a model trained before scoring (shipped in the source, say)
   predicts the wrong ids.
2. Calibration: the family's baseline trainer (checks/, identical to the starting workspace's)
   runs ``calibration_steps`` steps under the same conditions; its CPU time times
   ``baseline_ratio`` (its full run over this part, measured when the task was built) is the
   baseline's time on this machine now, ``T``. CPU time, measured by the kernel outside the
   process, hardly moves when other work shares the machine; timing the baseline in the same
   run absorbs a slower CPU.
3. The candidate's trainer runs with ``--train TRAIN --out model.pt``, killed when its CPU time
   passes ``time_fraction * T`` (or, if it sleeps, at a wall-clock timeout).
4. ``model.pt`` is read back without following links, loaded with ``torch.load(weights_only=True)``
   into the scorer's own model code (the family's format module in checks/), checked to be
   causal (logits at a position do not move when later tokens change) and evaluated on the
   held-out text, which no candidate process ever sees.

    score_raw        = speedup = T / candidate's CPU seconds
    score_normalised = ln(speedup) / ln(reference_speedup)
    correct          = the trainer finished within its budget, saved a valid model, and its
                       held-out loss is at most target_loss

A variant asking for the target in ``time_fraction * T`` has threshold
``ln(1 / time_fraction) / ln(reference_speedup)``.
"""

from __future__ import annotations

import io
import math
import secrets
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rsiscore import candidate as cand  # noqa: E402
from rsiscore.trusted import load_module  # noqa: E402
from rsiscore.verdict import Args, Verdict, main  # noqa: E402

# How a trainer starts: its folder on sys.path after site-packages (a torch.py there shadows
# nothing), the file run as __main__ with the scorer's arguments.
LAUNCH = (
    "import runpy, sys; d = sys.argv[1]; sys.path.append(d); "
    "sys.argv = [d + '/' + sys.argv[2], *sys.argv[3:]]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)
MAX_MODEL_BYTES = 32 * 1024 * 1024


def _train(run: cand.Run, folder: Path, entry: str, args: list[str], **limits) -> tuple:
    """Run one trainer to completion; its result and the bytes of the model.pt it saved."""
    saved: dict[str, bytes] = {}

    def keep(tmp: Path) -> None:
        try:
            saved["model"] = cand.read_workspace_file(tmp, "model.pt", MAX_MODEL_BYTES)
        except cand.CandidateError as e:
            saved["problem"] = str(e).encode()

    argv = ["python3", "-I", "-B", "-c", LAUNCH, str(folder), entry, *args]
    result = cand.run_candidate(run, argv, keep=keep, nproc=1, **limits)
    return result, saved


def score(args: Args) -> Verdict:
    p = args.params
    lm = load_module(args.checks / p["format"], "rsi_lm")
    corpus = load_module(args.checks / p["corpus"], "rsi_corpus")
    import torch  # after lock-down; the scorer's own evaluation only

    torch.set_num_threads(1)
    rng = np.random.default_rng(secrets.randbits(64))
    perm = rng.permutation(lm.VOCAB).astype(np.uint8)
    text = np.frombuffer(corpus.training_ids(secrets.randbits(63)), dtype=np.uint8)
    train = perm[text]
    heldout = perm[np.frombuffer((args.checks / p["eval_data"]).read_bytes(), dtype=np.uint8)]

    details: dict = {}
    run = cand.Run("speedrun")
    try:
        data = run.add("train.bin", train.tobytes())
        base = run.code / "baseline"
        base.mkdir(mode=0o755)
        cand.install(args.checks / p["baseline"], base / "train.py")
        cand.install(args.checks / p["format"], base / p["format"])
        files = cand.snapshot(
            args.workspace, run.code / "workspace", [".py"], max_bytes=int(p["max_source_bytes"])
        )
        if p["trainer"] not in files:
            raise cand.CandidateError(f"{p['trainer']}: missing from the workspace")

        # calibration: the baseline, under the same conditions, on the same data
        cal, _ = _train(
            run,
            base,
            "train.py",
            ["--train", str(data), "--out", "model.pt", "--steps", str(p["calibration_steps"])],
            timeout=float(p["calibration_timeout"]),
        )
        if not cal.ok:
            raise RuntimeError(f"the baseline's calibration run failed: {cal.log[-1500:]}")
        baseline_cpu = float(p["baseline_ratio"]) * cal.cpu_seconds
        budget = float(p["time_fraction"]) * baseline_cpu
        details.update(
            calibration_cpu_seconds=cal.cpu_seconds,
            baseline_cpu_seconds=round(baseline_cpu, 3),
            budget_cpu_seconds=round(budget, 3),
        )

        result, saved = _train(
            run,
            run.code / "workspace",
            p["trainer"],
            ["--train", str(data), "--out", "model.pt"],
            timeout=3 * budget + 15,
            cpu_seconds=math.ceil(budget) + 1,
        )
    finally:
        run.close()
    details.update(cpu_seconds=result.cpu_seconds, wall_seconds=result.seconds)
    if result.cpu_seconds > budget:
        raise cand.CandidateError(
            f"over budget: the trainer used {result.cpu_seconds:.2f} s of CPU, "
            f"the budget is {budget:.2f} s "
            f"({p['time_fraction']} of the baseline's {baseline_cpu:.2f} s)"
        )
    if not result.ok:
        raise cand.CandidateError(
            f"the trainer failed (exit {result.returncode}): {result.log[-1500:]}"
        )
    if "model" not in saved:
        raise cand.CandidateError(saved.get("problem", b"no model.pt").decode())

    try:
        payload = torch.load(io.BytesIO(saved["model"]), weights_only=True, map_location="cpu")
        model = lm.load(payload)
    except lm.FormatError as e:
        raise cand.CandidateError(f"model.pt: {e}") from e
    except Exception as e:  # a file torch cannot read (or refuses as not weights-only)
        raise cand.CandidateError(f"model.pt cannot be loaded: {type(e).__name__}: {e}") from e
    generator = torch.Generator().manual_seed(secrets.randbits(63))
    leak = lm.causality_violation(model, generator)
    loss = lm.evaluate(model, torch.from_numpy(heldout.astype(np.int64)))
    target = float(p["target_loss"])
    speedup = baseline_cpu / max(result.cpu_seconds, 1e-3)
    details.update(heldout_loss=loss, target_loss=target, causality_violation=leak, arch=model.arch)
    correct = leak <= 1e-4 and loss <= target
    if leak > 1e-4:
        details["problem"] = "the model's logits depend on later tokens"
    elif loss > target:
        details["problem"] = f"held-out loss {loss:.4f} is above the target {target}"
    normalised = math.log(speedup) / math.log(float(p["reference_speedup"]))
    return Verdict(correct, speedup, normalised, details)


if __name__ == "__main__":
    main(score)
