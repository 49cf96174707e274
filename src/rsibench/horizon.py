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

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rsibench.records import METR_WEIGHT_COLUMNS, RecordError, Runs, as_runs, check_group_column

WEIGHTINGS = ("invsqrt", "equal")
DEFAULT_REGULARIZATION = 1e-5
DEFAULT_BOOTSTRAP = 1000
CI_PERCENTILES = (2.5, 97.5)
#: The columns the fit needs (``records.read_runs`` and ``records.scored`` give them).
COLUMNS = ["model", "task_id", "family", "human_minutes", "success"]

# Bootstrap draws are fitted in chunks of about this many (draw, model, task) cells, to bound
# memory; the random stream does not depend on the chunking.
_CHUNK_CELLS = 1_000_000


class InputError(RecordError):
    """Input the analysis cannot use; the message names the file, line or field, and the fix."""


@dataclass
class ModelHorizon:
    """One model's horizons, or one model's on one group of tasks (``--by``, e.g. a category).

    ``p50``/``p80`` are in human minutes. They are 0 when the model never succeeded, the longest
    task's length with ``lower_bound`` True when it always succeeded, and None when the fitted
    success curve does not fall with task length (slope >= 0), where no horizon is defined.
    ``p50_ci``/``p80_ci`` are 95% hierarchical-bootstrap intervals (None without bootstrap).
    ``success_rate`` is the unweighted fraction of runs that succeeded. ``min_minutes`` and
    ``max_minutes`` are the shortest and longest task attempted: a horizon outside them is an
    extrapolation.
    """

    model: str
    group: str | None  # the value of the --by column (e.g. a category); None: every task
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
    min_minutes: float = math.nan
    max_minutes: float = math.nan
    #: bootstrap draws in which this model's horizon was undefined (left out of the interval)
    undefined_draws: int = 0

    @property
    def key(self) -> str:
        """The key of this entry in ``HorizonResult.draws``."""
        return self.model if self.group is None else unit_key(self.model, self.group)

    @property
    def below_range(self) -> bool:
        """The p50 lies below the shortest task attempted: a number the data cannot place."""
        return self.p50 is not None and self.p50 < self.min_minutes


def unit_key(model: str, group: str | None) -> str:
    return model if group is None else f"{model} [{group}]"


@dataclass
class HorizonResult:
    """Horizons of every model, and the bootstrap draws behind their intervals.

    ``draws[key]`` holds the p50 of each bootstrap draw (NaN where undefined), with the same draw
    index across models, so differences and ranks across models can be bootstrapped too.
    """

    models: list[ModelHorizon]
    draws: dict[str, np.ndarray]
    draws_p80: dict[str, np.ndarray] = field(default_factory=dict)
    by: str | None = None  # the column the fits were split on


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


def horizon_text(value: float | None, ci: tuple[float, float] | None, lower_bound: bool) -> str:
    """'41 min [29–57 min]', '≥ 16 h' for a lower bound, '—' when undefined."""
    if value is None:
        return "—"
    text = ("≥ " if lower_bound else "") + format_minutes(value)
    # An interval around a lower bound would suggest a precision the data do not have, and one
    # of zero width (a model that never succeeded) says nothing.
    if ci is not None and not lower_bound and ci[0] < ci[1]:
        text += f" [{interval_text(*ci)}]"
    return text


def interval_text(lo: float, hi: float) -> str:
    """'8.2–16 min' when both ends share a unit, '30 min – 1.5 h' otherwise."""
    a, b = format_minutes(lo), format_minutes(hi)
    a_number, _, a_unit = a.rpartition(" ")
    return f"{a_number}–{b}" if a_number and a_unit == b.rpartition(" ")[2] else f"{a} – {b}"


# ---------------------------------------------------------------------------------------------
# Design: the runs reduced to per-(unit, task) counts, where a unit is a model or a
# (model, group) pair.


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


def _design(data: Any, weighting: str, by: str | None) -> _Design:
    if weighting not in WEIGHTINGS:
        raise InputError(f"weighting {weighting!r}: unknown; use one of {', '.join(WEIGHTINGS)}")
    runs = as_runs(data)
    missing = [c for c in COLUMNS if c not in runs]
    if missing:
        raise InputError(f"runs: missing column(s) {', '.join(missing)}; use records.read_runs()")
    if not len(runs):
        raise InputError("runs: no runs to analyse")
    if by is not None:
        check_group_column(runs, by)
    for col in COLUMNS:
        empty = runs.missing(col)
        if empty.any():
            raise InputError(f"runs: {col}: empty on {int(empty.sum())} run(s)")
    minutes_of_run = runs["human_minutes"].astype(float)
    if (minutes_of_run <= 0).any():
        raise InputError("runs: human_minutes: must be positive on every run")

    task_ids, first, k_idx = np.unique(
        runs["task_id"].astype(str), return_index=True, return_inverse=True
    )
    family_names, fam_of_run = np.unique(runs["family"].astype(str), return_inverse=True)
    for values, what in ((minutes_of_run, "human_minutes"), (fam_of_run, "family")):
        lo = np.full(task_ids.size, np.inf)
        hi = np.full(task_ids.size, -np.inf)
        np.minimum.at(lo, k_idx, values)
        np.maximum.at(hi, k_idx, values)
        bad = np.flatnonzero(lo != hi)
        if bad.size:
            task = task_ids[bad[0]]
            seen = values[k_idx == bad[0]]
            shown = family_names[seen.astype(int)] if what == "family" else seen
            listed = " and ".join(
                sorted({str(v) if what == "family" else str(float(v)) for v in shown})
            )
            raise InputError(
                f"runs: task {task} has {what} {listed} in different runs; records of "
                "different suite versions disagree, analyse one version at a time"
            )
    minutes = minutes_of_run[first]
    family_codes = fam_of_run[first]
    family_members = [np.flatnonzero(family_codes == f) for f in range(family_names.size)]

    models = runs["model"].astype(str)
    # "\x1f" sorts before any printable character, so keys sort as (model, group) pairs (not
    # "\0": numpy strips trailing NULs from its strings).
    keys = models if by is None else np.char.add(np.char.add(models, "\x1f"), runs[by].astype(str))
    unit_keys, u_idx = np.unique(keys, return_inverse=True)
    units = [(str(k), None) if by is None else tuple(str(k).split("\x1f", 1)) for k in unit_keys]
    shape = (len(units), task_ids.size)
    n = np.zeros(shape)
    s = np.zeros(shape)
    np.add.at(n, (u_idx, k_idx), 1)
    np.add.at(s, (u_idx, k_idx), runs["success"].astype(float))

    given = "weight" if "weight" in runs else METR_WEIGHT_COLUMNS[weighting]
    if given in runs and not runs.missing(given).all():
        w = _given_weights(runs, given, u_idx, k_idx, shape)
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
        model, group = units[int(np.flatnonzero(totals <= 0)[0])]
        raise InputError(
            f"runs: weight: zero on every run of {model}"
            + (f" in {group}" if group else "")
            + "; nothing to fit"
        )
    w /= totals[:, None]
    return _Design(
        units, [str(t) for t in task_ids], minutes, np.log2(minutes), family_members, n, s, w,
        u_idx, k_idx,
    )  # fmt: skip


def run_weights(runs: Any, weighting: str = "invsqrt", by: str | None = None) -> np.ndarray:
    """The weight of each run in its model's fit (in the order of ``runs``; sums to 1 per
    model)."""
    d = _design(runs, weighting, by)
    return d.w[d.run_unit, d.run_task]


def _given_weights(
    runs: Runs, col: str, u_idx: np.ndarray, k_idx: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """Per-run weights from column ``col``; they must be the same for every run of a task."""
    empty = runs.missing(col)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError(
            f"runs: {col}: given on some runs but not on {int(empty.sum())} (first: model "
            f"{runs['model'][i]}, task {runs['task_id'][i]}); give it on every run or on "
            "none (then weights are recomputed)"
        )
    weight = runs[col].astype(float)
    lo = np.full(shape, np.inf)
    hi = np.full(shape, -np.inf)
    np.minimum.at(lo, (u_idx, k_idx), weight)
    np.maximum.at(hi, (u_idx, k_idx), weight)
    ran = np.isfinite(lo)
    if np.any(hi[ran] - lo[ran] > 1e-9 * np.abs(hi[ran])):
        raise InputError(
            f"runs: {col}: differs between runs of the same model and task; weights are per "
            "task (drop the column to recompute them)"
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
    runs: Any,
    *,
    weighting: str = "invsqrt",
    regularization: float = DEFAULT_REGULARIZATION,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
    by: str | None = None,
) -> HorizonResult:
    """p50 and p80 horizons of every model in ``runs`` (``records.Runs`` of scored attempts, as
    from ``records.scored(read_runs(...))``, or a DataFrame with the ``COLUMNS``), with 95% CIs.

    ``weighting``: ``invsqrt`` (METR's default) or ``equal``; a ``weight`` column (or METR's
    column for that weighting), when present, is used instead (renormalised per model).
    ``regularization``: r in the L2 penalty (r/2)·slope². ``bootstrap``: number of hierarchical
    bootstrap draws (0 for none); ``seed`` makes them reproducible. ``by``: a column of ``runs``
    (``records.group_columns``); one fit per (model, value of that column), e.g. per category.
    """
    if regularization < 0 or not math.isfinite(regularization):
        raise InputError(f"regularization {regularization}: must be a finite number >= 0")
    if bootstrap < 0:
        raise InputError(f"bootstrap {bootstrap}: must be >= 0")
    d = _design(runs, weighting, by)
    s1 = d.w * d.s
    s0 = d.w * (d.n - d.s)
    a, b = fit_batch(d.x, s1, s0, regularization)
    p50 = _horizons(a, b, d.minutes, s1, s0, 0.5)
    p80 = _horizons(a, b, d.minutes, s1, s0, 0.8)

    draws50, draws80 = _bootstrap(d, regularization, bootstrap, seed)

    models: list[ModelHorizon] = []
    result = HorizonResult(models=models, draws={}, draws_p80={}, by=by)
    for u, (model, group) in enumerate(d.units):
        runs = int(d.n[u].sum())
        attempted = d.minutes[d.n[u] > 0]
        entry = ModelHorizon(
            model=model,
            group=group,
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
            min_minutes=float(attempted.min()),
            max_minutes=float(attempted.max()),
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


def model_to_json(m: ModelHorizon, by: str | None = None) -> dict[str, Any]:
    """One entry of the ``--json`` output; undefined and infinite values become null."""

    def num(v: float | None) -> float | None:
        return v if v is not None and math.isfinite(v) else None

    def pair(ci: tuple[float, float] | None) -> list[float | None] | None:
        return None if ci is None else [num(ci[0]), num(ci[1])]

    entry: dict[str, Any] = {"model": m.model}
    if m.group is not None:
        entry[by or "group"] = m.group
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
        task_minutes_range=[m.min_minutes, m.max_minutes],
        below_range=m.below_range,
    )
    return entry


def result_to_json(result: HorizonResult) -> dict[str, Any]:
    """The ``--json`` object of ``rsibench horizon``: {"models": [...]} (and "by")."""
    out: dict[str, Any] = {"models": [model_to_json(m, result.by) for m in result.models]}
    if result.by:
        out["by"] = result.by
    return out


# ---------------------------------------------------------------------------------------------
# The judgement gap: research judgement against execution


JUDGEMENT = "research-judgement"


@dataclass
class JudgementGap:
    """One model's research-judgement p50 over its p50 on the other categories.

    Both horizons are fitted on the same bootstrap draws (each draw resamples families and tasks
    once for both), so ``ratio_ci`` is a paired interval; ``draws`` holds the ratio per draw
    (NaN where either side's horizon is undefined or the execution horizon is 0).
    """

    model: str
    judgement: ModelHorizon
    execution: ModelHorizon
    execution_categories: list[str]
    ratio: float | None
    ratio_ci: tuple[float, float] | None
    draws: np.ndarray


def judgement_gaps(
    data: Any,
    *,
    weighting: str = "invsqrt",
    regularization: float = DEFAULT_REGULARIZATION,
    bootstrap: int = DEFAULT_BOOTSTRAP,
    seed: int = 0,
) -> list[JudgementGap]:
    """The judgement gap of every model with runs both in research-judgement and elsewhere.

    Needs a ``category`` column on every run (rsibench records have one); [] without one.
    """
    runs = as_runs(data)
    if "category" not in runs or runs.missing("category").any():
        return []
    judging = runs["category"] == JUDGEMENT
    both = set(runs["model"][judging]) & set(runs["model"][~judging])
    if not both:
        return []
    runs = runs[np.isin(runs["model"].astype(str), sorted(both))]
    side = np.where(runs["category"] == JUDGEMENT, "judgement", "execution")
    result = estimate_horizons(
        runs.assign(side=side),
        weighting=weighting,
        regularization=regularization,
        bootstrap=bootstrap,
        seed=seed,
        by="side",
    )
    fits = {(m.model, m.group): m for m in result.models}
    gaps = []
    for model in sorted(both):
        j, e = fits[(model, "judgement")], fits[(model, "execution")]
        ratio = j.p50 / e.p50 if j.p50 is not None and e.p50 else None
        with np.errstate(divide="ignore", invalid="ignore"):
            draws = result.draws[j.key] / result.draws[e.key]
        draws[~np.isfinite(draws)] = np.nan
        mine = runs[(runs["model"] == model) & (side == "execution")]
        categories = sorted(set(mine["category"]))
        gaps.append(JudgementGap(model, j, e, categories, ratio, percentile_interval(draws), draws))
    return gaps


def gap_to_json(g: JudgementGap) -> dict[str, Any]:
    num = lambda v: v if v is not None and math.isfinite(v) else None  # noqa: E731
    return {
        "model": g.model,
        "ratio": num(g.ratio),
        "ratio_ci": None if g.ratio_ci is None else [num(v) for v in g.ratio_ci],
        "judgement_p50": num(g.judgement.p50),
        "execution_p50": num(g.execution.p50),
        "execution_categories": g.execution_categories,
    }


def format_ratio(ratio: float | None, ci: tuple[float, float] | None = None) -> str:
    """'0.31× [0.12–0.8]'; '-' when undefined."""
    if ratio is None or not math.isfinite(ratio):
        return "-"
    text = f"{ratio:.2g}×"
    if ci is not None:
        text += f" [{ci[0]:.2g}–{ci[1]:.2g}]"
    return text


def gap_text(g: JudgementGap) -> str:
    """The gap with its interval; when the judgement p50 is below range, only its upper bound
    (the shortest research-judgement task over the execution p50) is known."""
    if g.judgement.below_range and g.execution.p50:
        return f"< {g.judgement.min_minutes / g.execution.p50:.2g}× (below range)"
    return format_ratio(g.ratio, g.ratio_ci)
