"""The leaderboard: horizons per model in the terminal (rich), as Markdown, as a static page and
as CSV and JSON.

``build`` gathers everything the outputs show from the runs, the fitted horizons (overall and per
category), the judgement gaps, the model metadata, the trend and how it was all produced; the
renderers only format it. The HTML page is self-contained: inline CSS and plots as base64 PNG, so
it opens without a network.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import html
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from rsibench.horizon import (
    HorizonResult,
    JudgementGap,
    ModelHorizon,
    format_minutes,
    gap_text,
    horizon_text,
    interval_text,
    logistic_curve,
)
from rsibench.models import ModelInfo
from rsibench.spec import CATEGORIES
from rsibench.trend import Trend, TrendPoint, loop_assumption, summary_lines

__all__ = ["horizon_text", "interval_text"]  # re-exported: the cells' formats

# matplotlib is imported inside the plotting functions: only the HTML page needs it.
if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CI_MEANING = (
    "Intervals in brackets are 95% hierarchical bootstrap intervals: task families, tasks within "
    "each family and runs within each task are resampled with replacement, the horizon is refitted "
    "on every draw, and the interval spans the middle 95% of the refitted values."
)
LOWER_BOUND_MEANING = (
    "≥ marks a lower bound: the model succeeded on every run, so no curve can be fitted and the "
    "horizon shown is the longest task it was given."
)
NO_DATE_NOTE = (
    "Models without a release date in the models file (results/models.yaml), such as the built-in "
    "oracle and no-op reference agents, are listed here but left out of the trend."
)
BELOW_RANGE_NOTE = (
    "below range: the fitted p50 lies below the shortest task the model attempted there; the "
    "data cannot place it, only say it is shorter."
)
GAP_MEANING = (
    "Judgement gap: the model's p50 on research-judgement tasks divided by its p50 on the other "
    "categories, with a paired 95% bootstrap interval (both refitted on the same draws). Below 1, "
    "the model carries out longer work than it can judge."
)
#: The terminal tables fit a terminal this wide.
WIDTH = 80


@dataclass
class Provenance:
    """How the outputs were made: the command as typed and the files it read."""

    command: str
    inputs: list[str]
    models_file: str | None = None
    skipped: int = 0  # invalid lines left out by --skip-invalid
    generated: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    )

    def text(self) -> str:
        shown = self.inputs[:5] + (
            [f"and {len(self.inputs) - 5} more"] if len(self.inputs) > 5 else []
        )
        line = f"Generated {self.generated} by `{self.command}` from {', '.join(shown)}"
        if self.models_file:
            line += f", with model names and dates from {self.models_file}"
        if self.skipped:
            line += f"; {self.skipped} invalid line(s) left out (--skip-invalid)"
        return line + "."


@dataclass
class Observed:
    """Success rate over the runs of one model whose task length rounds to one power of two."""

    minutes: float
    rate: float
    runs: int


@dataclass
class Row:
    rank: int | None  # None: p50 undefined, listed last
    model: str
    info: ModelInfo | None
    horizon: ModelHorizon
    by_category: dict[str, ModelHorizon]
    tokens_per_run: float
    cost_per_run: float | None  # mean over the runs with a known cost
    suite_versions: list[str]
    observed: list[Observed]
    gap: JudgementGap | None = None
    tasks: dict[str, tuple[int, int]] = field(default_factory=dict)  # task -> (successes, runs)

    @property
    def name(self) -> str:
        return self.info.name if self.info else self.model

    @property
    def release_date(self) -> dt.date | None:
        return self.info.release_date if self.info else None


@dataclass
class Task:
    id: str
    minutes: float
    category: str | None


@dataclass
class Leaderboard:
    rows: list[Row]  # ranked
    categories: list[str]  # those with a per-category fit, in the suite's order
    trend: Trend
    runs: int
    unscored: int  # runs with an error: no score, left out of the horizons
    last_run: str | None  # latest completed_at over all runs
    tasks: list[Task] = field(default_factory=list)  # by category, then length
    provenance: Provenance | None = None

    @property
    def has_gap(self) -> bool:
        return any(row.gap for row in self.rows)


def _observed(runs: pd.DataFrame) -> list[Observed]:
    runs = runs[runs["error"].isna()]  # as in the fit: an unscored run is no failure
    bins = np.round(np.log2(runs["human_minutes"].to_numpy(dtype=float)))
    return [
        Observed(float(2.0**b), float(s.mean()), len(s))
        for b, s in runs["success"].groupby(bins, sort=True)
    ]


def build(
    runs: pd.DataFrame,
    overall: HorizonResult,
    per_category: HorizonResult | None,
    models: Mapping[str, ModelInfo],
    trend: Trend,
    gaps: Sequence[JudgementGap] = (),
    provenance: Provenance | None = None,
) -> Leaderboard:
    """Collect one row per model of ``overall``, ranked by p50 (undefined last).

    ``runs``: every attempt (errored ones too), as ``records.Runs.to_pandas()`` gives them, in
    either format: columns a format lacks (tokens, cost, suite version) show as '—'.
    """
    runs = runs.copy()
    for col in ("total_tokens", "cost_usd", "suite_version", "completed_at", "category"):
        if col not in runs:
            runs[col] = None
    categories: dict[str, dict[str, ModelHorizon]] = {}
    for h in per_category.models if per_category else ():
        if h.group is not None:
            categories.setdefault(h.model, {})[h.group] = h
    gap_of = {g.model: g for g in gaps}
    scored = runs[runs["error"].isna()]
    rows = []
    for h in overall.models:
        if h.group is not None:
            continue
        mine = runs[runs["model"] == h.model]
        costs = mine["cost_usd"].dropna()
        outcome = scored[scored["model"] == h.model].groupby("task_id")["success"]
        rows.append(
            Row(
                rank=None,
                model=h.model,
                info=models.get(h.model),
                horizon=h,
                by_category=categories.get(h.model, {}),
                tokens_per_run=float(mine["total_tokens"].astype(float).mean())
                if mine["total_tokens"].notna().any()
                else math.nan,
                cost_per_run=float(costs.mean()) if len(costs) else None,
                suite_versions=sorted(str(v) for v in mine["suite_version"].dropna().unique()),
                observed=_observed(mine),
                gap=gap_of.get(h.model),
                tasks={
                    str(t): (int(s.sum()), len(s))
                    for t, s in outcome  # successes, runs
                },
            )
        )
    rows.sort(key=lambda r: (r.horizon.p50 is None, -(r.horizon.p50 or 0.0), r.model))
    for rank, row in enumerate((r for r in rows if r.horizon.p50 is not None), start=1):
        row.rank = rank
    present = {c for cats in categories.values() for c in cats}
    completed = runs["completed_at"].dropna()
    order = {c: i for i, c in enumerate(CATEGORIES)}
    first = scored.drop_duplicates("task_id")
    tasks = sorted(
        (
            Task(str(t), float(m), None if c is None or c != c else str(c))
            for t, m, c in zip(
                first["task_id"], first["human_minutes"], first["category"], strict=True
            )
        ),
        key=lambda t: (order.get(t.category or "", len(order)), t.category or "", t.minutes, t.id),
    )
    return Leaderboard(
        rows=rows,
        categories=[c for c in CATEGORIES if c in present] + sorted(present - set(CATEGORIES)),
        trend=trend,
        runs=len(runs),
        unscored=int(runs["error"].notna().sum()),
        last_run=str(completed.max()) if len(completed) else None,
        tasks=tasks,
        provenance=provenance,
    )


# ---- cells shared by the renderers --------------------------------------------------------------


def _horizon(h: ModelHorizon) -> str:
    """A p50 without its interval; below the shortest task attempted: 'below range'."""
    if h.below_range:
        return "below range"
    return "—" if h.p50 is None else ("≥ " if h.lower_bound else "") + format_minutes(h.p50)


def _full(h: ModelHorizon, p80: bool = False) -> str:
    value, ci = (h.p80, h.p80_ci) if p80 else (h.p50, h.p50_ci)
    if value is not None and value < h.min_minutes:
        return f"below range (< {format_minutes(h.min_minutes)})"
    return horizon_text(value, ci, h.lower_bound)


def columns(lb: Leaderboard) -> list[str]:
    return [
        "Rank",
        "Model",
        "p50 [95% CI]",
        "p80 [95% CI]",
        *(f"p50 {c}" for c in lb.categories),
        *(["Judgement gap"] if lb.has_gap else []),
        "Success",
        "Runs",
        "Tokens/run",
        "Cost/run",
        "Released",
        "Suite",
    ]


def cells(lb: Leaderboard, row: Row) -> list[str]:
    """The plain-text cells of one row, in the order of ``columns``."""
    h = row.horizon
    per_cat = []
    for c in lb.categories:
        ch = row.by_category.get(c)
        per_cat.append(_horizon(ch) if ch else "—")
    gap = []
    if lb.has_gap:
        gap = [gap_text(row.gap) if row.gap else "—"]
    return [
        str(row.rank) if row.rank else "—",
        row.name,
        _full(h),
        _full(h, p80=True),
        *per_cat,
        *gap,
        f"{h.success_rate:.0%}",
        f"{h.runs:,}",
        f"{row.tokens_per_run:,.0f}" if math.isfinite(row.tokens_per_run) else "—",
        f"${row.cost_per_run:,.2f}" if row.cost_per_run is not None else "—",
        row.release_date.isoformat() if row.release_date else "—",
        ", ".join(row.suite_versions) or "—",
    ]


def _subtitle(lb: Leaderboard) -> str:
    text = f"{lb.runs:,} runs of {len(lb.rows)} models"
    if lb.unscored:
        text += f" ({lb.unscored:,} unscored, with errors, left out of the horizons)"
    return text + (f", last completed {lb.last_run[:10]}" if lb.last_run else "")


# ---- terminal -----------------------------------------------------------------------------------


def render_terminal(lb: Leaderboard, console: Console) -> None:
    """The leaderboard as rich tables of a few columns each, so that each fits an 80-column
    terminal without cutting a name or a number (names and intervals wrap instead)."""
    console.width = min(console.width, WIDTH)
    head, rows = columns(lb), [cells(lb, row) for row in lb.rows]
    console.print(_subtitle(lb), highlight=False)
    tables = [
        ("rsibench leaderboard", ["Rank", "Model", "p50 [95% CI]", "p80 [95% CI]", "Success"]),
        ("p50 per category", ["Model", *(f"p50 {c}" for c in lb.categories)]),
        ("Judgement gap and cost", ["Model", "Judgement gap", "Runs", "Tokens/run", "Cost/run"]),
        ("Release and suite", ["Model", "Released", "Suite"]),
    ]
    for title, names in tables:
        keep = [head.index(name) for name in names if name in head]
        if len(keep) < 2:
            continue
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        for i in keep:
            left = head[i] in ("Model", "Suite")
            name = head[i].removeprefix("p50 ") if title == "p50 per category" else head[i]
            table.add_column(name, justify="left" if left else "right", overflow="fold")
        for text in rows:
            # Intervals on their own line keep the columns narrow.
            table.add_row(*(text[i].replace(" [", "\n[").replace(" (<", "\n(<") for i in keep))
        console.print(table)
    notes = [CI_MEANING, LOWER_BOUND_MEANING, BELOW_RANGE_NOTE]
    if lb.has_gap:
        notes.append(GAP_MEANING)
    console.print(*notes, sep="\n", markup=False, highlight=False, soft_wrap=True)
    console.print(*summary_lines(lb.trend), sep="\n", markup=False, highlight=False, soft_wrap=True)


# ---- Markdown -----------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def render_markdown(lb: Leaderboard) -> str:
    head = columns(lb)
    made = f" {_md(lb.provenance.text())}" if lb.provenance else ""
    lines = [
        "# rsibench leaderboard",
        "",
        f"{_subtitle(lb)}.{made} The HTML page beside this file has the plots and the per-task "
        "success matrix; leaderboard.csv and leaderboard.json hold the numbers.",
        "",
        "| " + " | ".join(head) + " |",
        "| " + " | ".join("---" if h in ("Model", "Suite") else "---:" for h in head) + " |",
    ]
    for row in lb.rows:
        text = cells(lb, row)
        if row.info:  # the display name alone would hide which snapshot was run
            text[1] = f"{row.name} ({row.model})"
        lines.append("| " + " | ".join(_md(t) for t in text) + " |")
    notes = [CI_MEANING, LOWER_BOUND_MEANING, BELOW_RANGE_NOTE, NO_DATE_NOTE]
    if lb.has_gap:
        notes.append(GAP_MEANING)
    for note in notes:
        lines += ["", _md(note)]
    lines += ["", "## Trend", ""] + [f"- {_md(line)}" for line in summary_lines(lb.trend)] + [""]
    return "\n".join(lines)


# ---- plots --------------------------------------------------------------------------------------

# Round lengths in minutes: seconds, minutes, hours, working weeks (40 h) and years (2,000 h);
# the coarse list serves axes that span many decades.
_TICKS = [0.125, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 240, 480, 960, 2400, 4800, 9600]
_TICKS += [30000, 60000, 120000, 240000, 600000, 1200000]
_COARSE_TICKS = [0.25, 1, 10, 60, 480, 2400, 9600, 30000, 120000, 600000, 1200000]


def _tick_label(minutes: float) -> str:
    if minutes < 1:
        return f"{minutes * 60:g} s"
    return f"{minutes:g} min" if minutes < 60 else f"{minutes / 60:,g} h"


def _minutes_axis(ax: Axes, axis: str, lo: float, hi: float) -> None:
    """Log axis from lo to hi minutes with at most 9 ticks in human units."""
    from matplotlib.ticker import FixedLocator, NullFormatter

    ticks = [t for t in _TICKS if lo <= t <= hi]
    if len(ticks) > 9:
        ticks = [t for t in _COARSE_TICKS if lo <= t <= hi]
        ticks = ticks[:: math.ceil(len(ticks) / 9)]
    which = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    (ax.set_xlim if axis == "x" else ax.set_ylim)(lo, hi)
    which.set_major_locator(FixedLocator(ticks))
    which.set_ticklabels([_tick_label(t) for t in ticks])
    which.set_minor_formatter(NullFormatter())


def _colours(lb: Leaderboard) -> dict[str, tuple[float, ...]]:
    from matplotlib import colormaps

    palette = colormaps["tab10" if len(lb.rows) <= 10 else "tab20"].colors
    return {row.model: palette[i % len(palette)] for i, row in enumerate(lb.rows)}


def _figure() -> Figure:
    from matplotlib.figure import Figure

    # Figure without pyplot: no global state, no GUI backend.
    return Figure(figsize=(9.0, 5.0), layout="constrained")


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    # No Software metadata: the page must carry no web address, even inside an image.
    fig.savefig(buf, format="png", dpi=130, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _positive(minutes: float | None) -> bool:
    """Whether a horizon can sit on a log axis (0: never succeeded; None: undefined)."""
    return minutes is not None and 0 < minutes < math.inf


def _shown_ci(h: ModelHorizon | TrendPoint) -> tuple[float, float] | None:
    """The p50 interval to draw: none around a lower bound, as in the tables."""
    return None if h.lower_bound else h.p50_ci


def _span(h: ModelHorizon | TrendPoint) -> list[float]:
    """Values the axis should show: the p50 and its interval, cut to a factor of 10 either side.

    A fit on a few tasks can have an interval reaching down to microseconds; drawn in full it
    would squeeze every other point into a band. Bars longer than that run off the axis.
    """
    p = h.p50
    return [p, *(min(max(v, p / 10), p * 10) for v in _shown_ci(h) or ())]


def _limits(values: list[float], margin: float) -> tuple[float, float]:
    """Log-axis limits around the positive finite values, widened by the factor ``margin``."""
    shown = [v for v in values if _positive(v)]
    return min(shown) / margin, max(shown) * margin


def _errors(
    points: list[tuple[float, tuple[float, float] | None]], floor: float, top: float
) -> list[list[float]]:
    """Error-bar lengths below and above each (p50, interval), clipped to the axis."""
    below = [max(p - max(ci[0], floor), 0.0) if ci else 0.0 for p, ci in points]
    above = [max(min(ci[1], top) - p, 0.0) if ci else 0.0 for p, ci in points]
    return [below, above]


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", wrap=True)


def plot_success(lb: Leaderboard) -> str:
    """Success against task length, each model's fitted curve, its p50 marked."""
    fig = _figure()
    ax = fig.add_subplot()
    colour = _colours(lb)
    lengths = [o.minutes for row in lb.rows for o in row.observed]
    lo, hi = (min(lengths) / 1.5, max(lengths) * 1.5) if lengths else (1.0, 960.0)
    t = np.geomspace(lo, hi, 200)
    ax.axhline(0.5, color="0.6", lw=0.8, ls="--")
    ax.axhline(0.8, color="0.6", lw=0.8, ls=":")
    for row in lb.rows:
        h, c = row.horizon, colour[row.model]
        ax.scatter(
            [o.minutes for o in row.observed],
            [o.rate for o in row.observed],
            s=[12 + 4 * math.sqrt(o.runs) for o in row.observed],
            color=c,
            alpha=0.45,
            linewidths=0,
        )
        if h.slope is not None and h.intercept is not None:
            ax.plot(t, logistic_curve(t, h.intercept, h.slope), color=c, lw=1.8, label=row.name)
        else:
            ax.plot([], [], color=c, lw=1.8, ls="none", marker="o", label=f"{row.name} (no fit)")
        if h.p50 is not None and not h.lower_bound and lo <= h.p50 <= hi:
            ax.plot([h.p50], [0.5], marker="o", ms=7, color=c, mec="black", mew=0.8)
    _minutes_axis(ax, "x", lo, hi)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("task length (skilled-human time)")
    ax.set_ylabel("success rate")
    ax.set_title("Success against task length; dots on the 50% line mark each p50")
    ax.grid(True, which="major", color="0.9")
    if lb.rows:
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small", frameon=False)
    else:
        _note(ax, "No runs.")
    return _png(fig)


def trend_span(trend: Trend) -> tuple[dt.date, dt.date]:
    """The trend plot's dates: from shortly before the first model to shortly after the later of
    the last model and the closed-loop date's point value (not its interval)."""
    first, last = trend.points[0].release_date, trend.points[-1].release_date
    end = max(last, trend.crossing) if trend.crossing else last
    margin = max(dt.timedelta(days=45), (end - first) * 0.06)
    return first - margin, end + margin


def plot_trend(lb: Leaderboard) -> str:
    """p50 against release date (log scale), the trend, its band and the closed-loop line."""
    import matplotlib.dates  # noqa: F401 - registers the converter for datetime.date values

    trend = lb.trend
    fig = _figure()
    ax = fig.add_subplot()
    loop_minutes = trend.loop_hours * 60
    names = {row.model: row.name for row in lb.rows}
    if not trend.points:
        _note(ax, "No dated model with a defined p50: nothing to plot.")
        return _png(fig)

    first, end = trend_span(trend)
    days = np.linspace(first.toordinal(), end.toordinal(), 300)
    xs = [dt.date.fromordinal(round(d)) for d in days]
    values = [v for p in trend.points for v in _span(p)] + [loop_minutes]
    if trend.slope is not None:
        fitted = trend.p50_at(days)
        values += [float(fitted.min()), float(fitted.max())]
    floor, top = _limits(values, 2.5)
    if trend.slope is not None:
        band = trend.band(days)
        if band:  # clipped to the axis: its far end can be orders of magnitude out
            lo, hi = (np.clip(b, floor, top) for b in band)
            ax.fill_between(xs, lo, hi, color="tab:blue", alpha=0.15, lw=0, label="95% band")
        ax.plot(xs, fitted, color="tab:blue", lw=1.8, label=f"trend ({trend.selection} models)")
    ax.axhline(loop_minutes, color="tab:red", lw=1.2, ls="--")
    ax.text(xs[0], loop_minutes * 1.15, f"closed loop: {trend.loop_hours:,.0f} h", color="tab:red")
    if trend.crossing and trend.crossing <= end:
        ax.axvline(trend.crossing, color="tab:red", lw=0.8, ls=":")
    for p in trend.points:
        ax.errorbar(
            [p.release_date],
            [p.p50],
            yerr=_errors([(p.p50, _shown_ci(p))], floor, top),
            fmt="^" if p.lower_bound else "o",
            color="black",
            mfc="black" if p.used else "white",
            ms=6,
            capsize=2,
            lw=0.8,
        )
        ax.annotate(
            names.get(p.model, p.model),
            (p.release_date, p.p50),
            xytext=(5, -10),
            textcoords="offset points",
            fontsize="x-small",
        )
    _minutes_axis(ax, "y", floor, top)
    ax.set_xlim(first, end)
    ax.set_xlabel("release date")
    ax.set_ylabel("p50 horizon")
    ax.set_title("50% horizon against release date (filled: fitted; triangle: lower bound)")
    ax.grid(True, which="major", color="0.9")
    if trend.slope is not None:
        ax.legend(loc="lower right", fontsize="small")
    if trend.message:
        ax.text(0.01, 0.98, trend.message, transform=ax.transAxes, va="top", fontsize="small")
    return _png(fig)


def plot_categories(lb: Leaderboard) -> str:
    """p50 per category for every model, as points with interval bars: the jagged frontier.

    Categories are not a scale, so no line joins them. A p50 below the shortest task a model
    attempted in a category is no number the data can place: it shows as a hollow downward
    triangle at that task's length ("below range"), not as a point far off the axis.
    """
    fig = _figure()
    ax = fig.add_subplot()
    colour = _colours(lb)
    placed: dict[str, list[tuple[int, ModelHorizon]]] = {}
    below: dict[str, list[tuple[int, ModelHorizon]]] = {}
    for row in lb.rows:
        for j, c in enumerate(lb.categories):
            h = row.by_category.get(c)
            if h is None or h.p50 is None:
                continue
            if h.below_range:
                below.setdefault(row.model, []).append((j, h))
            elif _positive(h.p50):
                placed.setdefault(row.model, []).append((j, h))
    rows = [row for row in lb.rows if row.model in placed or row.model in below]
    if not rows:
        _note(ax, "No model has a p50 in any category.")
        return _png(fig)
    values = [v for pts in placed.values() for _, h in pts for v in _span(h)]
    values += [h.min_minutes for pts in below.values() for _, h in pts]
    floor, top = _limits(values, 2)
    for i, row in enumerate(rows):
        offset = (i - (len(rows) - 1) / 2) * min(0.1, 0.7 / len(rows))
        c = colour[row.model]
        points = placed.get(row.model, [])
        if points:
            ax.errorbar(
                [j + offset for j, _ in points],
                [h.p50 for _, h in points],
                yerr=_errors([(h.p50, _shown_ci(h)) for _, h in points], floor, top),
                fmt="o",  # markers and bars only: no line between categories
                color=c,
                ms=5,
                elinewidth=1.2,
                capsize=2,
                label=row.name,
            )
            bounds = [(j + offset, h.p50) for j, h in points if h.lower_bound]
            if bounds:  # a lower bound gets a triangle over its dot, as on the trend plot
                ax.plot(*zip(*bounds, strict=True), ls="none", marker="^", ms=7, color=c)
        if row.model in below:
            xs = [j + offset for j, _ in below[row.model]]
            ys = [h.min_minutes for _, h in below[row.model]]
            ax.plot(xs, ys, ls="none", marker="v", ms=7, mfc="white", mec=c, mew=1.2,
                    label=None if points else row.name)  # fmt: skip
    if below:
        ax.plot([], [], ls="none", marker="v", ms=7, mfc="white", mec="0.3",
                label="below range (p50 under the shortest task)")  # fmt: skip
    _minutes_axis(ax, "y", floor, top)
    ax.set_xticks(range(len(lb.categories)), lb.categories)
    ax.set_xlim(-0.5, len(lb.categories) - 0.5)
    ax.set_ylabel("p50 horizon")
    ax.set_title("50% horizon per category (the jagged frontier; triangle: lower bound)")
    ax.grid(True, which="major", axis="y", color="0.9")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize="small", frameon=False)
    return _png(fig)


# ---- HTML ---------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1400px; padding: 0 1rem;
       color: #1b1b1b; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; }
.sub { color: #555; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
th, td { padding: 0.35rem 0.45rem; border-bottom: 1px solid #ddd; text-align: right;
         white-space: nowrap; }
th { background: #f3f3f3; white-space: normal; vertical-align: bottom; }
td.left, th.left { text-align: left; white-space: normal; min-width: 11rem; }
.id, .ci { color: #666; font-size: 0.8rem; display: block; }
.wide { overflow-x: auto; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; }
figcaption, .note { color: #444; font-size: 0.9rem; }
code { background: #f3f3f3; padding: 0 0.2rem; }
table.matrix { width: auto; }
table.matrix td, table.matrix th { text-align: center; }
table.matrix td.left, table.matrix th.left { text-align: left; }
th.group { background: #fafafa; font-weight: 600; }
td.none { color: #aaa; }
"""


def _img(png: str, alt: str) -> str:
    return f'<img src="data:image/png;base64,{png}" alt="{html.escape(alt)}">'


def _html_cell(text: str) -> str:
    """A cell's text, escaped, with its interval (if any) on a smaller second line."""
    value, bracket, ci = text.partition(" [")
    return html.escape(value) + (f'<span class="ci">[{html.escape(ci)}</span>' if bracket else "")


def _html_table(lb: Leaderboard) -> str:
    esc = html.escape
    head = "".join(
        f'<th class="left">{esc(c)}</th>' if c in ("Model", "Suite") else f"<th>{esc(c)}</th>"
        for c in columns(lb)
    )
    body = []
    for row in lb.rows:
        text = cells(lb, row)
        model = f"<td class='left'>{esc(row.name)}"
        if row.info:
            org = f"{row.info.organisation} · " if row.info.organisation else ""
            model += f'<span class="id">{esc(org + row.model)}</span>'
        tds = [f"<td>{esc(text[0])}</td>", model + "</td>"]
        tds += [f"<td>{_html_cell(t)}</td>" for t in text[2:-1]]
        tds.append(f'<td class="left">{esc(text[-1])}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _matrix_html(lb: Leaderboard) -> str:
    """Tasks down, models across: successes/runs, shaded by the success rate."""
    if not lb.tasks:
        return '<p class="note">No scored runs.</p>'
    esc = html.escape
    head = "".join(f"<th>{esc(row.name)}</th>" for row in lb.rows)
    body = []
    category = None
    for task in lb.tasks:
        if task.category != category:
            category = task.category
            span = len(lb.rows) + 2
            body.append(
                f'<tr><th class="left group" colspan="{span}">{esc(category or "")}</th></tr>'
            )
        tds = [
            f'<td class="left">{esc(task.id)}</td>',
            f"<td>{esc(format_minutes(task.minutes))}</td>",
        ]
        for row in lb.rows:
            wins, runs = row.tasks.get(task.id, (0, 0))
            if not runs:
                tds.append('<td class="none">—</td>')
                continue
            shade = round(100 - 45 * wins / runs)  # more successes, deeper green
            tds.append(f'<td style="background: hsl(120, 45%, {shade}%)">{wins}/{runs}</td>')
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (
        f'<table class="matrix"><thead><tr><th class="left">task</th><th>human time</th>{head}'
        f"</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _download(name: str, mime: str, text: str) -> str:
    data = base64.b64encode(text.encode()).decode("ascii")
    return f'<a download="{name}" href="data:{mime};base64,{data}">{name}</a>'


def _provenance_html(lb: Leaderboard) -> str:
    p = lb.provenance
    if p is None:
        return ""
    esc = html.escape
    inputs = "".join(f"<li><code>{esc(f)}</code></li>" for f in p.inputs)
    extra = (
        f"<p>Model names and release dates: <code>{esc(p.models_file)}</code>.</p>"
        if p.models_file
        else ""
    )
    if p.skipped:
        extra += f"<p>{p.skipped} invalid line(s) were left out (--skip-invalid).</p>"
    return (
        f"<p>Generated {esc(p.generated)} by <code>{esc(p.command)}</code> from:</p>"
        f"<ul>{inputs}</ul>{extra}"
    )


def render_html(lb: Leaderboard) -> str:
    esc = html.escape
    trend_text = "".join(f"<li>{esc(line)}</li>" for line in summary_lines(lb.trend))
    gap_note = f"<p>{esc(GAP_MEANING)}</p>" if lb.has_gap else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rsibench leaderboard</title>
<style>{_CSS}</style>
</head>
<body>
<h1>rsibench leaderboard</h1>
<p class="sub">{esc(_subtitle(lb))}. Time horizons on AI-R&amp;D tasks: the length of task, in
minutes of a skilled human's work, that a model completes with 50% (p50) and 80% (p80)
probability.</p>

<section id="leaderboard">
<h2>Models</h2>
<div class="wide">{_html_table(lb)}</div>
<p class="note">Ranked by p50; models whose p50 is undefined come last, unranked.
Tokens and cost are means per run (cost over the runs that recorded one).
Download: {_download("leaderboard.csv", "text/csv", render_csv(lb))},
{_download("leaderboard.json", "application/json", render_json(lb))}.</p>
</section>

<section id="method">
<h2>What the numbers mean</h2>
<p>Each model's success is fitted as a logistic curve in log<sub>2</sub> of the task's human
length, with per-run weights (1 / (runs in the task &middot; &radic;tasks in the family),
normalised per model); p50 and p80 are where the curve crosses 50% and 80%.</p>
<p>{esc(CI_MEANING)}</p>
<p>{esc(LOWER_BOUND_MEANING)}</p>
<p>{esc(BELOW_RANGE_NOTE)}</p>
{gap_note}
<p>{esc(NO_DATE_NOTE)}</p>
</section>

<section id="success-curves">
<h2>Success against task length</h2>
<figure>{_img(plot_success(lb), "Success rate against task length with fitted curves")}
<figcaption>Dots: observed success rate of each model over tasks whose length rounds to the
same power of two (larger dots: more runs). Lines: the fitted curves. Dashed: 50%; dotted: 80%.
</figcaption></figure>
</section>

<section id="trend">
<h2>Trend over release dates and the closed loop</h2>
<ul>{trend_text}</ul>
<figure>{_img(plot_trend(lb), "p50 horizon against release date with trend")}
<figcaption>Log scale. Error bars: 95% intervals of each p50. Band: 95% bootstrap band of the
trend, clipped to the plot. Red dashed line: the closed-loop threshold,
{esc(loop_assumption(lb.trend.loop_hours))}; dotted: the date the trend reaches it.</figcaption>
</figure>
</section>

<section id="categories">
<h2>Horizons per category</h2>
<figure>{_img(plot_categories(lb), "p50 horizon per task category for each model")}
<figcaption>A model's p50 fitted on each category's tasks alone, with 95% intervals. Uneven
profiles are the jagged frontier: strength in one kind of AI-R&amp;D work does not carry over to
the others. Hollow downward triangles: below range. A category missing for a model has no
defined p50 there.</figcaption></figure>
</section>

<section id="tasks">
<h2>Success per task</h2>
<div class="wide">{_matrix_html(lb)}</div>
<p class="note">Successes / scored runs of each model on each task, by category and length.</p>
</section>

<footer class="note" id="provenance">{_provenance_html(lb)}</footer>
</body>
</html>
"""


# ---- CSV and JSON -------------------------------------------------------------------------------


def _num(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _records(lb: Leaderboard) -> list[dict[str, Any]]:
    """One flat record per model: the numbers behind every table."""
    out = []
    for row in lb.rows:
        h = row.horizon
        rec: dict[str, Any] = {
            "rank": row.rank,
            "model": row.model,
            "name": row.name,
            "p50": _num(h.p50),
            "p50_lo": _num(h.p50_ci[0]) if h.p50_ci else None,
            "p50_hi": _num(h.p50_ci[1]) if h.p50_ci else None,
            "p80": _num(h.p80),
            "p80_lo": _num(h.p80_ci[0]) if h.p80_ci else None,
            "p80_hi": _num(h.p80_ci[1]) if h.p80_ci else None,
            "lower_bound": h.lower_bound,
            "below_range": h.below_range,
        }
        for c in lb.categories:
            ch = row.by_category.get(c)
            rec[f"p50_{c}"] = _num(ch.p50) if ch else None
        if lb.has_gap:
            g = row.gap
            rec["judgement_gap"] = _num(g.ratio) if g else None
            rec["judgement_gap_lo"] = _num(g.ratio_ci[0]) if g and g.ratio_ci else None
            rec["judgement_gap_hi"] = _num(g.ratio_ci[1]) if g and g.ratio_ci else None
        rec.update(
            success_rate=h.success_rate,
            runs=h.runs,
            tasks=h.tasks,
            tokens_per_run=_num(row.tokens_per_run),
            cost_per_run=row.cost_per_run,
            release_date=row.release_date.isoformat() if row.release_date else None,
            suite_versions=";".join(row.suite_versions),
        )
        out.append(rec)
    return out


def render_csv(lb: Leaderboard) -> str:
    records = _records(lb)
    buf = io.StringIO()
    names = list(records[0]) if records else ["model"]
    writer = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buf.getvalue()


def render_json(lb: Leaderboard) -> str:
    p = lb.provenance
    doc = {
        "provenance": None
        if p is None
        else {
            "command": p.command,
            "inputs": p.inputs,
            "models_file": p.models_file,
            "skipped_lines": p.skipped,
            "generated": p.generated,
        },
        "models": _records(lb),
        "tasks": [
            {
                "task_id": t.id,
                "human_minutes": t.minutes,
                "category": t.category,
                "results": {
                    row.model: {"successes": row.tasks[t.id][0], "runs": row.tasks[t.id][1]}
                    for row in lb.rows
                    if t.id in row.tasks
                },
            }
            for t in lb.tasks
        ],
        "trend": lb.trend.to_json(),
    }
    return json.dumps(doc, indent=2, allow_nan=False)


def write_outputs(lb: Leaderboard, out_dir: Path) -> list[Path]:
    """Write leaderboard.md, .html, .csv and .json into ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs = {
        "leaderboard.md": render_markdown(lb),
        "leaderboard.html": render_html(lb),
        "leaderboard.csv": render_csv(lb),
        "leaderboard.json": render_json(lb),
    }
    for name, text in outputs.items():
        (out_dir / name).write_text(text)
    return [out_dir / name for name in outputs]
