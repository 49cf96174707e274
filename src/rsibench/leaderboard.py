"""The leaderboard: horizons per model in the terminal (rich), as Markdown and as a static page.

``build`` gathers everything the outputs show from the run records, the fitted horizons (overall
and per category), the model metadata and the trend; the renderers only format it. The HTML page
is self-contained: inline CSS and plots as base64 PNG, so it opens without a network.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from rsibench.horizon import HorizonResult, ModelHorizon, format_minutes, logistic_curve
from rsibench.models import ModelInfo
from rsibench.spec import CATEGORIES
from rsibench.trend import Trend, TrendPoint, loop_assumption, summary_lines

# matplotlib is imported inside the plotting functions: every `rsibench` command imports this
# module, and only the HTML page needs it.
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
REGENERATE = "rsibench leaderboard results/runs --out-dir results"
YEAR = dt.timedelta(days=365.25)


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

    @property
    def name(self) -> str:
        return self.info.name if self.info else self.model

    @property
    def release_date(self) -> dt.date | None:
        return self.info.release_date if self.info else None


@dataclass
class Leaderboard:
    rows: list[Row]  # ranked
    categories: list[str]  # those with a per-category fit, in the suite's order
    trend: Trend
    runs: int
    unscored: int  # runs with an error: no score, left out of the horizons
    last_run: str | None  # latest completed_at over all runs


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
    per_category: HorizonResult,
    models: Mapping[str, ModelInfo],
    trend: Trend,
) -> Leaderboard:
    """Collect one row per model of ``overall``, ranked by p50 (undefined last)."""
    categories: dict[str, dict[str, ModelHorizon]] = {}
    for h in per_category.models:
        if h.category is not None:
            categories.setdefault(h.model, {})[h.category] = h
    rows = []
    for h in overall.models:
        if h.category is not None:
            continue
        mine = runs[runs["model"] == h.model]
        costs = mine["cost_usd"].dropna()
        rows.append(
            Row(
                rank=None,
                model=h.model,
                info=models.get(h.model),
                horizon=h,
                by_category=categories.get(h.model, {}),
                tokens_per_run=float(mine["total_tokens"].mean()) if len(mine) else 0.0,
                cost_per_run=float(costs.mean()) if len(costs) else None,
                suite_versions=sorted(mine["suite_version"].unique()),
                observed=_observed(mine),
            )
        )
    rows.sort(key=lambda r: (r.horizon.p50 is None, -(r.horizon.p50 or 0.0), r.model))
    for rank, row in enumerate((r for r in rows if r.horizon.p50 is not None), start=1):
        row.rank = rank
    present = {c for cats in categories.values() for c in cats}
    completed = runs["completed_at"].dropna()
    return Leaderboard(
        rows=rows,
        categories=[c for c in CATEGORIES if c in present],
        trend=trend,
        runs=len(runs),
        unscored=int(runs["error"].notna().sum()),
        last_run=str(completed.max()) if len(completed) else None,
    )


# ---- cells shared by the three renderers --------------------------------------------------------


def _horizon(value: float | None, lower_bound: bool) -> str:
    if value is None:
        return "—"
    return ("≥ " if lower_bound else "") + format_minutes(value)


def horizon_text(value: float | None, ci: tuple[float, float] | None, lower_bound: bool) -> str:
    """'41 min [29–57 min]', '≥ 16 h' for a lower bound, '—' when undefined."""
    text = _horizon(value, lower_bound)
    # An interval around a lower bound would suggest a precision the data do not have, and one
    # of zero width (a model that never succeeded) says nothing.
    if value is not None and ci is not None and not lower_bound and ci[0] < ci[1]:
        text += f" [{interval_text(*ci)}]"
    return text


def interval_text(lo: float, hi: float) -> str:
    """'8.2–16 min' when both ends share a unit, '30 min – 1.5 h' otherwise."""
    a, b = format_minutes(lo), format_minutes(hi)
    a_number, _, a_unit = a.rpartition(" ")
    return f"{a_number}–{b}" if a_number and a_unit == b.rpartition(" ")[2] else f"{a} – {b}"


def columns(lb: Leaderboard) -> list[str]:
    return [
        "Rank",
        "Model",
        "p50 [95% CI]",
        "p80 [95% CI]",
        *(f"p50 {c}" for c in lb.categories),
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
        per_cat.append(_horizon(ch.p50, ch.lower_bound) if ch else "—")
    return [
        str(row.rank) if row.rank else "—",
        row.name,
        horizon_text(h.p50, h.p50_ci, h.lower_bound),
        horizon_text(h.p80, h.p80_ci, h.lower_bound),
        *per_cat,
        f"{h.success_rate:.0%}",
        f"{h.runs:,}",
        f"{row.tokens_per_run:,.0f}",
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
    """The leaderboard as two rich tables: every column at once would not fit a terminal."""
    head, rows = columns(lb), [cells(lb, row) for row in lb.rows]
    per_cat = [f"p50 {c}" for c in lb.categories]
    main = [i for i, name in enumerate(head) if name not in per_cat]
    split = [0, 1] + [head.index(name) for name in per_cat]
    titles = [f"rsibench leaderboard ({_subtitle(lb)})", "p50 per category"]
    for title, keep in zip(titles, (main, split), strict=True):
        if len(keep) == 2:  # no categories
            continue
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
        for i in keep:
            left = head[i] in ("Model", "Suite")
            # Numbers never wrap; the names give way on a narrow terminal, down to a minimum.
            table.add_column(
                head[i],
                justify="left" if left else "right",
                no_wrap=not left,
                overflow="fold",
                min_width=12 if head[i] == "Model" else None,
            )
        for text in rows:
            # Intervals on their own line keep the columns narrow.
            table.add_row(*(text[i].replace(" [", "\n[") for i in keep))
        if not console.is_terminal:
            # Piped output (a log, CI) has no screen width to respect: print whole rows.
            table.width = Measurement.get(
                console, console.options.update_width(1000), table
            ).maximum
        console.print(table, crop=console.is_terminal)
    console.print(
        CI_MEANING, LOWER_BOUND_MEANING, sep="\n", markup=False, highlight=False, soft_wrap=True
    )
    console.print(*summary_lines(lb.trend), sep="\n", markup=False, highlight=False, soft_wrap=True)


# ---- Markdown -----------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def render_markdown(lb: Leaderboard) -> str:
    head = columns(lb)
    lines = [
        "# rsibench leaderboard",
        "",
        f"{_subtitle(lb)}. Generated by `{REGENERATE}`; the HTML page beside this file has the "
        "plots.",
        "",
        "| " + " | ".join(head) + " |",
        "| " + " | ".join("---" if h in ("Model", "Suite") else "---:" for h in head) + " |",
    ]
    for row in lb.rows:
        text = cells(lb, row)
        if row.info:  # the display name alone would hide which snapshot was run
            text[1] = f"{row.name} ({row.model})"
        lines.append("| " + " | ".join(_md(t) for t in text) + " |")
    lines += ["", _md(CI_MEANING), "", _md(LOWER_BOUND_MEANING), "", _md(NO_DATE_NOTE), ""]
    lines += ["## Trend", ""] + [f"- {_md(line)}" for line in summary_lines(lb.trend)] + [""]
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

    first, last = trend.points[0].release_date, trend.points[-1].release_date
    end = last + dt.timedelta(days=90)
    if trend.crossing:  # show the extrapolation, but not beyond 15 years out
        end = min(max(end, trend.crossing + dt.timedelta(days=180)), last + 15 * YEAR)
    days = np.linspace(first.toordinal(), end.toordinal(), 300)
    xs = [dt.date.fromordinal(round(d)) for d in days]
    values = [v for p in trend.points for v in _span(p)] + [loop_minutes]
    if trend.slope is not None:
        fitted = trend.p50_at(days)
        band = trend.band(days)
        if band:
            ax.fill_between(xs, *band, color="tab:blue", alpha=0.15, lw=0, label="95% band")
        ax.plot(xs, fitted, color="tab:blue", lw=1.8, label=f"trend ({trend.selection} models)")
        values += [float(fitted.min()), float(fitted.max())]
    ax.axhline(loop_minutes, color="tab:red", lw=1.2, ls="--")
    ax.text(xs[0], loop_minutes * 1.15, f"closed loop: {trend.loop_hours:,.0f} h", color="tab:red")
    if trend.crossing and trend.crossing <= end:
        ax.axvline(trend.crossing, color="tab:red", lw=0.8, ls=":")
    floor, top = _limits(values, 2.5)
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
    ax.set_xlim(first - dt.timedelta(days=60), end)
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
    """p50 per category for every model: the jagged frontier."""
    fig = _figure()
    ax = fig.add_subplot()
    colour = _colours(lb)
    # Per model, its (category index, horizon) pairs that a log axis can show.
    shown = {
        row.model: [
            (j, h)
            for j, h in ((j, row.by_category.get(c)) for j, c in enumerate(lb.categories))
            if h is not None and _positive(h.p50)
        ]
        for row in lb.rows
    }
    rows = [row for row in lb.rows if shown[row.model]]
    if not rows:
        _note(ax, "No model has a positive p50 in any category.")
        return _png(fig)
    floor, top = _limits([v for pts in shown.values() for _, h in pts for v in _span(h)], 2)
    for i, row in enumerate(rows):
        points = shown[row.model]
        offset = (i - (len(rows) - 1) / 2) * min(0.08, 0.6 / len(rows))
        xs = [j + offset for j, _ in points]
        ys = [h.p50 for _, h in points]
        errors = _errors([(h.p50, _shown_ci(h)) for _, h in points], floor, top)
        c = colour[row.model]
        ax.errorbar(
            xs, ys, yerr=errors, color=c, marker="o", ms=5, lw=1.2, capsize=2, label=row.name
        )
        bounds = [(x, h.p50) for x, (_, h) in zip(xs, points, strict=True) if h.lower_bound]
        if bounds:  # a lower bound gets a triangle over its dot, as on the trend plot
            ax.plot(*zip(*bounds, strict=True), ls="none", marker="^", ms=7, color=c)
    _minutes_axis(ax, "y", floor, top)
    ax.set_xticks(range(len(lb.categories)), lb.categories)
    ax.set_xlim(-0.5, len(lb.categories) - 0.5)
    ax.set_ylabel("p50 horizon")
    ax.set_title("50% horizon per category (the jagged frontier; triangle: lower bound)")
    ax.grid(True, which="major", color="0.9")
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


def render_html(lb: Leaderboard) -> str:
    esc = html.escape
    trend_text = "".join(f"<li>{esc(line)}</li>" for line in summary_lines(lb.trend))
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
Tokens and cost are means per run (cost over the runs that recorded one).</p>
</section>

<section id="method">
<h2>What the numbers mean</h2>
<p>Each model's success is fitted as a logistic curve in log<sub>2</sub> of the task's human
length, with per-run weights (1 / (runs in the task &middot; &radic;tasks in the family),
normalised per model); p50 and p80 are where the curve crosses 50% and 80%.</p>
<p>{esc(CI_MEANING)}</p>
<p>{esc(LOWER_BOUND_MEANING)}</p>
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
trend. Red dashed line: the closed-loop threshold, {esc(loop_assumption(lb.trend.loop_hours))};
dotted: the date the trend reaches it.</figcaption></figure>
</section>

<section id="categories">
<h2>Horizons per category</h2>
<figure>{_img(plot_categories(lb), "p50 horizon per task category for each model")}
<figcaption>A model's p50 fitted on each category's tasks alone, with 95% intervals. Uneven
profiles are the jagged frontier: strength in one kind of AI-R&amp;D work does not carry over to
the others. A category missing for a model has no defined p50 there.</figcaption></figure>
</section>

<footer class="note"><p>Regenerate with <code>{esc(REGENERATE)}</code>.</p></footer>
</body>
</html>
"""


def write_outputs(lb: Leaderboard, out_dir: Path) -> list[Path]:
    """Write leaderboard.md and leaderboard.html into ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md, page = out_dir / "leaderboard.md", out_dir / "leaderboard.html"
    md.write_text(render_markdown(lb))
    page.write_text(render_html(lb))
    return [md, page]
