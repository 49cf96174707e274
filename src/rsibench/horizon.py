"""Time horizons: how long a task (in skilled-human minutes) a model completes with probability p.

Faithful to METR ("Measuring AI Ability to Complete Long Tasks", 2025; Time Horizon 1.1, 2026):

* per model, a weighted logistic regression of success on log2(human minutes) with an intercept,
  ``P(success) = sigmoid(a + b * log2 t)``, minimising ``sum_i w_i * logloss_i + (r / 2) * b**2``
  (the same objective as scikit-learn's ``LogisticRegression(C=1/r)`` with sample weights: the
  intercept is not penalised);
* run weights ``invsqrt`` = 1 / (runs of that task * sqrt(tasks in that family)) or ``equal`` =
  1 / (runs of that task), normalised to sum to 1 per model, so that every task counts the same
  however often it was run and large families do not swamp small ones;
* the p-horizon is the ``t`` where ``P = p``;
* confidence intervals from a hierarchical bootstrap: resample families, then tasks within each
  sampled family, then runs within each sampled task, with the same family and task draw shared
  by every model, refitting each model on each draw (run weights are kept, not renormalised, as
  METR does: a task drawn twice counts twice).

The fit is our own damped Newton method in numpy, batched over bootstrap draws and models. It
works on per-task sums of weight (successes and failures at each task length), which give exactly
the objective of the run-level fit.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rsibench.records import RecordError, expand_paths, read_runs

WEIGHTINGS = ("invsqrt", "equal")
FORMATS = ("rsibench", "metr")
DEFAULT_REGULARIZATION = 1e-5
DEFAULT_BOOTSTRAP = 1000
CI_PERCENTILES = (2.5, 97.5)
#: METR's own weight columns in its public runs.jsonl, used when present.
METR_WEIGHT_COLUMNS = {"invsqrt": "invsqrt_task_weight", "equal": "equal_task_weight"}
COLUMNS = ["model", "task_id", "family", "category", "human_minutes", "success"]

# Bootstrap draws are fitted in chunks of about this many (draw, model, task) cells, to bound
# memory; the random stream does not depend on the chunking.
_CHUNK_CELLS = 1_000_000


class InputError(RecordError):
    """Input the analysis cannot use; the message names the file, line or field, and the fix."""


@dataclass
class ModelHorizon:
    """One model's (or one model-and-category's) horizons.

    ``p50``/``p80`` are in human minutes. They are 0 when the model never succeeded, the longest
    task's length with ``lower_bound`` True when it always succeeded, and None when the fitted
    success curve does not fall with task length (slope >= 0), where no horizon is defined.
    ``p50_ci``/``p80_ci`` are 95% hierarchical-bootstrap intervals (None without bootstrap).
    ``success_rate`` is the unweighted fraction of runs that succeeded.
    """

    model: str
    category: str | None
    p50: float | None
    p80: float | None
    p50_ci: tuple[float, float] | None
    p80_ci: tuple[float, float] | None
    lower_bound: bool
    runs: int
    tasks: int
    success_rate: float
    slope: float | None
    intercept: float | None
    #: bootstrap draws in which this model's horizon was undefined (left out of the interval)
    undefined_draws: int = 0

    @property
    def key(self) -> str:
        """The key of this entry in ``HorizonResult.draws``."""
        return self.model if self.category is None else f"{self.model} [{self.category}]"


@dataclass
class HorizonResult:
    """Horizons of every model, and the bootstrap draws behind their intervals.

    ``draws[key]`` holds the p50 of each bootstrap draw (NaN where undefined), with the same draw
    index across models, so differences and ranks across models can be bootstrapped too.
    """

    models: list[ModelHorizon]
    draws: dict[str, np.ndarray]
    draws_p80: dict[str, np.ndarray] = field(default_factory=dict)


def logistic_curve(t_minutes: Any, intercept: float, slope: float) -> np.ndarray:
    """P(success) at task lengths ``t_minutes``: sigmoid(intercept + slope * log2 t)."""
    eta = intercept + slope * np.log2(np.asarray(t_minutes, dtype=float))
    return _sigmoid(eta)


def horizon_minutes(p: float, intercept: float, slope: float) -> float | None:
    """Task length where the success probability is ``p``; None unless the slope is negative."""
    if not slope < 0:
        return None
    with np.errstate(over="ignore"):
        return float(np.exp2((math.log(p / (1 - p)) - intercept) / slope))


def format_minutes(minutes: float | None) -> str:
    """A horizon for people: '45 s', '12.5 min', '3.2 h', '2.1 d'; '-' when undefined."""
    if minutes is None or not math.isfinite(minutes):
        return "-" if minutes is None else "inf"
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    if minutes < 60:
        return f"{minutes:.3g} min"
    if minutes < 24 * 60:
        return f"{minutes / 60:.3g} h"
    return f"{minutes / (24 * 60):.3g} d"


# ---------------------------------------------------------------------------------------------
# Inputs


def read_inputs(
    paths: Sequence[Path | str], fmt: str = "rsibench", weighting: str = "invsqrt"
) -> pd.DataFrame:
    """Runs from files or directories of ``*.jsonl``, normalised to one row per attempt.

    Columns: ``model, task_id, family, category, human_minutes, success`` and, for METR files
    that carry weight columns, ``weight`` (METR's column for ``weighting``).

    ``fmt="rsibench"``: our run records (validated against the schema). Attempts that could not
    be scored (``error`` set: a crashed sample or scorer) say nothing about the model and are left
    out; how many is in ``df.attrs["excluded_errors"]``.
    ``fmt="metr"``: METR's public ``runs.jsonl`` (``task_id``, ``task_family``, ``alias`` or
    ``model``, ``score_binarized``, ``human_minutes``; ``task_source`` becomes the category).

    Raises InputError (a RecordError) naming the file, line and field of anything unusable.
    """
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt}: unknown; use one of {', '.join(FORMATS)}")
    if weighting not in WEIGHTINGS:
        raise InputError(f"--weighting {weighting}: unknown; use one of {', '.join(WEIGHTINGS)}")
    files = expand_paths(paths)
    where = " ".join(str(p) for p in paths)
    if not files:
        raise InputError(f"{where}: no *.jsonl files; run the suite first or pass record files")
    if fmt == "metr":
        df = pd.concat([_read_metr_file(f, weighting) for f in files], ignore_index=True)
        if "run_id" in df:
            # The same run listed twice (files concatenated twice) must not count twice.
            df = df.drop_duplicates(subset="run_id", keep="last").drop(columns="run_id")
        df.attrs["excluded_errors"] = 0
    else:
        runs = read_runs(files)
        errored = runs["error"].notna()
        df = runs.loc[~errored, COLUMNS].reset_index(drop=True)
        df.attrs["excluded_errors"] = int(errored.sum())
    if df.empty:
        raise InputError(f"{where}: no usable runs (every file is empty or every run errored)")
    return df


def _read_metr_file(path: Path, weighting: str) -> pd.DataFrame:
    try:
        text = path.read_text()
    except OSError as e:
        raise InputError(f"{path}: cannot read METR runs: {e.strerror or e}") from e
    weight_col = METR_WEIGHT_COLUMNS[weighting]
    rows: list[dict[str, Any]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        at = f"{path}:{lineno}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{at}: not a JSON object ({e.msg}); fix or delete that line") from e
        if not isinstance(rec, dict):
            raise InputError(f"{at}: not a JSON object; each line must be one run")
        model = rec.get("alias") or rec.get("model")
        if not isinstance(model, str) or not model:
            raise InputError(f"{at}: alias/model: missing; METR runs need the model's name")
        row: dict[str, Any] = {"model": model}
        for src, dst in (("task_id", "task_id"), ("task_family", "family")):
            value = rec.get(src)
            if not isinstance(value, str) or not value:
                raise InputError(f"{at}: {src}: missing or not a string; every run needs it")
            row[dst] = value
        row["category"] = rec.get("task_source")
        row["human_minutes"] = _positive_number(rec.get("human_minutes"), f"{at}: human_minutes")
        score = rec.get("score_binarized")
        if isinstance(score, bool) or score in (0, 1):
            row["success"] = bool(score)
        else:
            raise InputError(
                f"{at}: score_binarized: {score!r}; must be 0 or 1 (binarise continuous scores "
                "against the task's threshold first)"
            )
        if weight_col in rec:
            row["weight"] = _positive_number(rec[weight_col], f"{at}: {weight_col}", zero_ok=True)
        if "run_id" in rec:
            row["run_id"] = str(rec["run_id"])
        rows.append(row)
    df = pd.DataFrame(rows)
    if "weight" in df and df["weight"].isna().any():
        line = int(np.flatnonzero(df["weight"].isna().to_numpy())[0]) + 1
        raise InputError(
            f"{path}: {weight_col}: present on some runs but not on run {line}; "
            "give it on every run or on none (then weights are recomputed)"
        )
    return df


def _positive_number(value: Any, where: str, zero_ok: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not zero_ok):
        need = "a non-negative" if zero_ok else "a positive"
        raise InputError(f"{where}: {value!r}; must be {need} number")
    return float(value)


# ---------------------------------------------------------------------------------------------
# Design: the runs reduced to per-(unit, task) counts, where a unit is a model or a
# (model, category) pair.


@dataclass
class _Design:
    units: list[tuple[str, str | None]]
    task_ids: list[str]
    minutes: np.ndarray  # (K,) human minutes
    x: np.ndarray  # (K,) log2 human minutes
    family_members: list[np.ndarray]  # task indices of each family
    n: np.ndarray  # (U, K) runs
    s: np.ndarray  # (U, K) successes
    w: np.ndarray  # (U, K) weight of one run, normalised so each unit's runs sum to 1
    run_unit: np.ndarray  # (runs,) unit of each row of the input
    run_task: np.ndarray  # (runs,) task of each row of the input


def _design(df: pd.DataFrame, weighting: str, by_category: bool) -> _Design:
    if weighting not in WEIGHTINGS:
        raise InputError(f"weighting {weighting!r}: unknown; use one of {', '.join(WEIGHTINGS)}")
    missing = [c for c in COLUMNS if c not in df]
    if missing:
        raise InputError(f"runs: missing column(s) {', '.join(missing)}; use read_inputs()")
    if df.empty:
        raise InputError("runs: no runs to analyse")
    need = ["model", "task_id", "family", "human_minutes", "success"]
    if by_category:
        need.append("category")
    for col in need:
        if df[col].isna().any():
            raise InputError(f"runs: {col}: empty on {int(df[col].isna().sum())} run(s)")
    if (df["human_minutes"] <= 0).any():
        raise InputError("runs: human_minutes: must be positive on every run")

    per_task = df.groupby("task_id").agg(
        minutes=("human_minutes", "nunique"), families=("family", "nunique")
    )
    for col, what in (("minutes", "human_minutes"), ("families", "family")):
        bad = per_task.index[per_task[col] > 1]
        if len(bad):
            values = sorted(df.loc[df["task_id"] == bad[0], what].astype(str).unique())
            raise InputError(
                f"runs: task {bad[0]} has {what} {' and '.join(values)} in different runs; "
                "records of different suite versions disagree, analyse one version at a time"
            )

    tasks = df.drop_duplicates("task_id").set_index("task_id").sort_index()
    task_ids = list(tasks.index)
    minutes = tasks["human_minutes"].to_numpy(dtype=float)
    family_codes, family_names = pd.factorize(tasks["family"], sort=True)
    family_members = [np.flatnonzero(family_codes == f) for f in range(len(family_names))]

    unit_cols = ["model", "category"] if by_category else ["model"]
    grouped = df.groupby(unit_cols, sort=True)
    u_idx = grouped.ngroup().to_numpy()
    # size()'s index lists the groups in ngroup() order.
    keys = grouped.size().index
    units = [(str(m), str(c)) for m, c in keys] if by_category else [(str(m), None) for m in keys]
    k_idx = pd.Index(task_ids).get_indexer(df["task_id"])
    shape = (len(units), len(task_ids))
    n = np.zeros(shape)
    s = np.zeros(shape)
    np.add.at(n, (u_idx, k_idx), 1)
    np.add.at(s, (u_idx, k_idx), df["success"].to_numpy(dtype=float))

    if "weight" in df and df["weight"].notna().any():
        w = _given_weights(df, u_idx, k_idx, shape)
    else:
        w = np.zeros(shape)
        ran = n > 0
        w[ran] = 1 / n[ran]
        if weighting == "invsqrt":
            for members in family_members:
                tasks_in_family = ran[:, members].sum(axis=1, keepdims=True)
                w[:, members] /= np.sqrt(np.maximum(tasks_in_family, 1))
    totals = (n * w).sum(axis=1)
    if np.any(totals <= 0):
        model, category = units[int(np.flatnonzero(totals <= 0)[0])]
        raise InputError(
            f"runs: weight: zero on every run of {model}"
            + (f" in {category}" if category else "")
            + "; nothing to fit"
        )
    w /= totals[:, None]
    return _Design(
        units, task_ids, minutes, np.log2(minutes), family_members, n, s, w, u_idx, k_idx
    )


def run_weights(
    df: pd.DataFrame, weighting: str = "invsqrt", by_category: bool = False
) -> pd.Series:
    """The weight of each run in its model's fit (aligned with ``df``; sums to 1 per model)."""
    d = _design(df, weighting, by_category)
    return pd.Series(d.w[d.run_unit, d.run_task], index=df.index, name="weight")


def _given_weights(
    df: pd.DataFrame, u_idx: np.ndarray, k_idx: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """Per-run weights from a ``weight`` column; they must be the same for every run of a task."""
    if df["weight"].isna().any():
        raise InputError("runs: weight: given on some runs but not others")
    weight = df["weight"].to_numpy(dtype=float)
    lo = np.full(shape, np.inf)
    hi = np.full(shape, -np.inf)
    np.minimum.at(lo, (u_idx, k_idx), weight)
    np.maximum.at(hi, (u_idx, k_idx), weight)
    ran = np.isfinite(lo)
    if np.any(hi[ran] - lo[ran] > 1e-9 * np.abs(hi[ran])):
        raise InputError(
            "runs: weight: differs between runs of the same model and task; weights are per task "
            "(drop the weight column to recompute them)"
        )
    return np.where(ran, lo, 0.0)


# ---------------------------------------------------------------------------------------------
# The fit


def _sigmoid(eta: np.ndarray) -> np.ndarray:
    # tanh form: no overflow warnings for large |eta|, exact 0.5 at eta = 0.
    return 0.5 * (1.0 + np.tanh(0.5 * eta))


def _objective(
    a: np.ndarray, b: np.ndarray, xc: np.ndarray, s1: np.ndarray, s0: np.ndarray, lam: float
) -> np.ndarray:
    eta = a[:, None] + b[:, None] * xc
    loss = s1 * np.logaddexp(0.0, -eta) + s0 * np.logaddexp(0.0, eta)
    return loss.sum(axis=1) + 0.5 * lam * b * b


def fit_batch(
    x: np.ndarray,
    s1: np.ndarray,
    s0: np.ndarray,
    regularization: float = DEFAULT_REGULARIZATION,
    *,
    max_iter: int = 200,
    tol: float = 1e-10,
) -> tuple[np.ndarray, np.ndarray]:
    """Many slope-penalised logistic fits at once, on per-task sums of weight.

    ``x`` (K,) are the task lengths in log2 minutes, shared by every row; ``s1``/``s0`` (B, K)
    the total weight of successful / failed runs of each row at each task. Row ``i`` minimises
    ``sum_k s1[i,k] * log(1 + e^-eta) + s0[i,k] * log(1 + e^eta) + (r/2) b^2`` with
    ``eta = a + b x[k]``, which is the run-level weighted log loss. Returns (intercept, slope)
    arrays; NaN for rows with no successes or no failures (no finite optimum) or that did not
    converge.

    Damped Newton: exact 2x2 Hessian steps with backtracking, run in centred coordinates
    (``x - mean``) for conditioning; the slope, the only penalised parameter, is unchanged by
    centring.
    """
    s1 = np.asarray(s1, dtype=float)
    s0 = np.asarray(s0, dtype=float)
    lam = float(regularization)
    rows = s1.shape[0]
    out_a = np.full(rows, np.nan)
    out_b = np.full(rows, np.nan)
    tot1 = s1.sum(axis=1)
    tot0 = s0.sum(axis=1)
    active = np.flatnonzero((tot1 > 0) & (tot0 > 0))
    if active.size == 0:
        return out_a, out_b

    s1 = s1[active]
    s0 = s0[active]
    s = s1 + s0
    xbar = (s @ x) / s.sum(axis=1)
    xc = x[None, :] - xbar[:, None]
    a = np.log(tot1[active] / tot0[active])
    b = np.zeros(active.size)
    f = _objective(a, b, xc, s1, s0, lam)

    for _ in range(max_iter):
        p = _sigmoid(a[:, None] + b[:, None] * xc)
        resid = s * p - s1
        ga = resid.sum(axis=1)
        gb = (resid * xc).sum(axis=1) + lam * b
        h = s * p * (1.0 - p)
        hx = h * xc
        haa = h.sum(axis=1)
        hab = hx.sum(axis=1)
        hbb = (hx * xc).sum(axis=1) + lam
        det = haa * hbb - hab * hab
        with np.errstate(divide="ignore", invalid="ignore"):
            da = (hbb * ga - hab * gb) / det
            db = (haa * gb - hab * ga) / det
        decrement = ga * da + gb * db

        # Backtracking (Armijo) on the rows whose full step does not lower the objective enough;
        # the slack covers rounding once a row has converged.
        step = np.ones(active.size)
        new_a, new_b = a - da, b - db
        new_f = _objective(new_a, new_b, xc, s1, s0, lam)
        slack = 1e-13 * (np.abs(f) + 1.0)
        for _ in range(60):
            bad = ~(new_f <= f - 1e-4 * step * decrement + slack)
            if not bad.any():
                break
            step[bad] *= 0.5
            new_a[bad] = a[bad] - step[bad] * da[bad]
            new_b[bad] = b[bad] - step[bad] * db[bad]
            new_f[bad] = _objective(new_a[bad], new_b[bad], xc[bad], s1[bad], s0[bad], lam)

        moved = np.maximum(np.abs(step * da), np.abs(step * db))
        a, b, f = new_a, new_b, new_f
        done = moved < tol * (1.0 + np.maximum(np.abs(a), np.abs(b)))
        failed = ~np.isfinite(moved)
        finished = done | failed
        if finished.any():
            ok = done & ~failed
            out_a[active[ok]] = a[ok] - b[ok] * xbar[ok]
            out_b[active[ok]] = b[ok]
            keep = ~finished
            active, a, b, f = active[keep], a[keep], b[keep], f[keep]
            s1, s0, s, xc, xbar = s1[keep], s0[keep], s[keep], xc[keep], xbar[keep]
            if active.size == 0:
                break
    return out_a, out_b


def fit_logistic(
    human_minutes: Any,
    success: Any,
    weights: Any = None,
    regularization: float = DEFAULT_REGULARIZATION,
) -> tuple[float, float]:
    """One run-level fit: (intercept, slope) of P(success) = sigmoid(a + b log2 t).

    ``weights`` default to equal weights summing to 1. Raises ValueError when every run has the
    same outcome (no finite optimum).
    """
    t = np.asarray(human_minutes, dtype=float)
    y = np.asarray(success, dtype=float)
    w = np.full(t.shape, 1 / t.size) if weights is None else np.asarray(weights, dtype=float)
    xs, inverse = np.unique(np.log2(t), return_inverse=True)
    s1 = np.bincount(inverse, weights=w * y, minlength=xs.size)[None, :]
    s0 = np.bincount(inverse, weights=w * (1 - y), minlength=xs.size)[None, :]
    a, b = fit_batch(xs, s1, s0, regularization)
    if np.isnan(a[0]):
        raise ValueError("no finite fit: every run has the same outcome")
    return float(a[0]), float(b[0])


def _horizons(
    a: np.ndarray, b: np.ndarray, minutes: np.ndarray, s1: np.ndarray, s0: np.ndarray, p: float
) -> np.ndarray:
    """p-horizons of fitted rows, with the rules for rows that could not be fitted.

    Never succeeded: 0. Always succeeded: the longest task attempted (a lower bound). Slope >= 0
    or no runs at all: NaN (undefined).
    """
    tot1 = s1.sum(axis=1)
    tot0 = s0.sum(axis=1)
    out = np.full(a.shape, np.nan)
    out[(tot1 == 0) & (tot0 > 0)] = 0.0
    always = (tot0 == 0) & (tot1 > 0)
    if always.any():
        out[always] = np.where(s1[always] > 0, minutes[None, :], 0.0).max(axis=1)
    sloped = b < 0  # NaN slopes compare False
    with np.errstate(over="ignore"):
        out[sloped] = np.exp2((math.log(p / (1 - p)) - a[sloped]) / b[sloped])
    return out


# ---------------------------------------------------------------------------------------------
# Estimation


def estimate_horizons(
    df: pd.DataFrame,
    *,
    weighting: str = "invsqrt",
    regularization: float = DEFAULT_REGULARIZATION,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    by_category: bool = False,
) -> HorizonResult:
    """p50 and p80 horizons of every model in ``df`` (as from ``read_inputs``), with 95% CIs.

    ``weighting``: ``invsqrt`` (METR's default) or ``equal``; a ``weight`` column in ``df``, when
    present, is used instead (renormalised per model). ``regularization``: r in the L2 penalty
    (r/2)·slope². ``bootstrap``: number of hierarchical bootstrap draws (0 for none); ``seed``
    makes them reproducible. ``by_category``: one fit per (model, category).
    """
    if regularization < 0 or not math.isfinite(regularization):
        raise InputError(f"regularization {regularization}: must be a finite number >= 0")
    if bootstrap < 0:
        raise InputError(f"bootstrap {bootstrap}: must be >= 0")
    d = _design(df, weighting, by_category)
    s1 = d.w * d.s
    s0 = d.w * (d.n - d.s)
    a, b = fit_batch(d.x, s1, s0, regularization)
    p50 = _horizons(a, b, d.minutes, s1, s0, 0.5)
    p80 = _horizons(a, b, d.minutes, s1, s0, 0.8)

    draws50, draws80 = _bootstrap(d, regularization, bootstrap, seed)

    models: list[ModelHorizon] = []
    result = HorizonResult(models=models, draws={}, draws_p80={})
    for u, (model, category) in enumerate(d.units):
        runs = int(d.n[u].sum())
        entry = ModelHorizon(
            model=model,
            category=category,
            p50=_number(p50[u]),
            p80=_number(p80[u]),
            p50_ci=percentile_interval(draws50[:, u]),
            p80_ci=percentile_interval(draws80[:, u]),
            lower_bound=bool(d.s[u].sum() == runs),
            runs=runs,
            tasks=int((d.n[u] > 0).sum()),
            success_rate=float(d.s[u].sum() / runs),
            slope=_number(b[u]),
            intercept=_number(a[u]),
            undefined_draws=int(np.isnan(draws50[:, u]).sum()),
        )
        models.append(entry)
        result.draws[entry.key] = draws50[:, u]
        result.draws_p80[entry.key] = draws80[:, u]
    return result


def _bootstrap(
    d: _Design, regularization: float, n_draws: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """p50 and p80 of every unit on each hierarchical bootstrap draw: arrays (draws, units)."""
    n_units, n_tasks = d.n.shape
    out50 = np.full((n_draws, n_units), np.nan)
    out80 = np.full((n_draws, n_units), np.nan)
    if n_draws == 0:
        return out50, out80
    rng = np.random.default_rng(seed)
    n_families = len(d.family_members)
    # Families drawn with replacement; then, for a family drawn c times, its tasks drawn c times
    # over with replacement: together a multinomial of c * (family size) over its tasks.
    fam_counts = rng.multinomial(n_families, np.full(n_families, 1 / n_families), size=n_draws)
    task_counts = np.zeros((n_draws, n_tasks), dtype=np.int64)
    for f, members in enumerate(d.family_members):
        size = members.size
        task_counts[:, members] = rng.multinomial(fam_counts[:, f] * size, np.full(size, 1 / size))
    # Runs: a task drawn c times contributes c * n resampled runs of each model, so its
    # successes are Binomial(c * n, successes / n) (weights are per task, so sums suffice).
    rate = np.divide(d.s, d.n, out=np.zeros_like(d.s), where=d.n > 0)
    chunk = max(1, _CHUNK_CELLS // (n_units * n_tasks))
    for start in range(0, n_draws, chunk):
        c = task_counts[start : start + chunk]
        trials = c[:, None, :] * d.n.astype(np.int64)[None, :, :]
        wins = rng.binomial(trials, rate[None, :, :])
        s1 = (d.w * wins).reshape(-1, n_tasks)
        s0 = (d.w * (trials - wins)).reshape(-1, n_tasks)
        a, b = fit_batch(d.x, s1, s0, regularization)
        rows = slice(start, start + c.shape[0])
        out50[rows] = _horizons(a, b, d.minutes, s1, s0, 0.5).reshape(-1, n_units)
        out80[rows] = _horizons(a, b, d.minutes, s1, s0, 0.8).reshape(-1, n_units)
    return out50, out80


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def percentile_interval(draws: np.ndarray) -> tuple[float, float] | None:
    """The 95% percentile interval of bootstrap draws, ignoring undefined (NaN) ones."""
    if draws.size == 0 or np.isnan(draws).all():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanpercentile(draws, CI_PERCENTILES)
    return float(lo), float(hi)


def model_to_json(m: ModelHorizon) -> dict[str, Any]:
    """One entry of the ``--json`` output; undefined and infinite values become null."""

    def num(v: float | None) -> float | None:
        return v if v is not None and math.isfinite(v) else None

    def pair(ci: tuple[float, float] | None) -> list[float | None] | None:
        return None if ci is None else [num(ci[0]), num(ci[1])]

    entry: dict[str, Any] = {"model": m.model}
    if m.category is not None:
        entry["category"] = m.category
    entry.update(
        p50=num(m.p50),
        p80=num(m.p80),
        p50_ci=pair(m.p50_ci),
        p80_ci=pair(m.p80_ci),
        lower_bound=m.lower_bound,
        runs=m.runs,
        tasks=m.tasks,
        success_rate=m.success_rate,
        slope=num(m.slope),
        intercept=num(m.intercept),
    )
    return entry


def result_to_json(result: HorizonResult) -> dict[str, Any]:
    """The ``--json`` object of ``rsibench horizon``: {"models": [...]}."""
    return {"models": [model_to_json(m) for m in result.models]}
