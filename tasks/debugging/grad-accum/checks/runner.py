"""Runs the candidate's Trainer on the hidden scenarios.
RSIBENCH CANARY f13b78d6-986b-46d7-be89-bc3bc7463b8c

Executed by scorers/behaviour_match.py as the candidate
user with `python3 -I`, so the workspace is only reachable through the sys.path entry added
below, after the standard library and site-packages (a workspace `torch.py` cannot shadow
torch). The model is the trusted copy next to this file, not the workspace's model.py.

    python3 -I -B runner.py INPUTS_PT RESULTS_PT WORKSPACE_SNAPSHOT
"""

import importlib
import importlib.util
import sys
import traceback
from pathlib import Path

import torch


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    inputs_path, results_path, workspace = sys.argv[1:4]
    torch.set_num_threads(1)
    here = Path(__file__).resolve().parent
    lm = load("rsi_trusted_model", here / "model.py")
    cases = load("rsi_trusted_cases", here / "cases.py")
    inputs = torch.load(inputs_path, weights_only=True)
    sys.path.append(workspace)
    results = {}
    try:
        data = importlib.import_module("data")
        train = importlib.import_module("train")
    except Exception:
        torch.save({"import_error": traceback.format_exc()[-2000:]}, results_path)
        return
    for spec in inputs["scenarios"]:
        try:
            model = lm.TinyLM(lm.ModelConfig(**inputs["model_config"]))
            model.load_state_dict(inputs["init"])
            sizes: list[list[int]] = []
            model.register_forward_pre_hook(
                lambda _m, args, sizes=sizes: sizes[-1].append(args[0].shape[0])
            )
            opt, sched = cases.make_optimizer(spec, model)
            trainer = train.Trainer(
                model,
                opt,
                accum_steps=spec["accum_steps"],
                max_grad_norm=spec["max_grad_norm"],
                scheduler=sched,
            )
            losses = []
            for b in spec["batches"]:
                sizes.append([])
                batch = data.Batch(b["input_ids"].clone(), b["labels"].clone())
                losses.append(float(trainer.train_step(batch)))
            results[spec["name"]] = {
                "params": {k: v.detach().clone() for k, v in model.state_dict().items()},
                "losses": torch.tensor(losses, dtype=torch.float64),
                "forward_sizes": sizes,
            }
        except Exception:
            results[spec["name"]] = {"error": traceback.format_exc()[-2000:]}
    torch.save(results, results_path)


if __name__ == "__main__":
    main()
