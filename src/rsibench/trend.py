"""The trend of the 50% horizon over model release dates, and the closed-loop date.

A least-squares line of ln(p50) on release date over the frontier models (each at least as good
as every model released before it) gives the doubling time; where the line reaches the length of
a model-development cycle is the "closed-loop" date, when a model would complete, half the time,
tasks as long as the work of building its successor. Intervals come from refitting the line on
every bootstrap draw of the horizons (``HorizonResult.draws``), with the set of models fixed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rsibench.horizon import HorizonResult, JudgementGap
from rsibench.models import ModelInfo

LOOP_HOURS = 2000.0
LEVEL = 0.95
YEAR_DAYS = 365.25


def loop_assumption(loop_hours: float) -> str:
    """The closed-loop threshold and what it assumes, in words, for every place it is shown."""
    text = f"{loop_hours:,.0f} h of skilled human work"
    if loop_hours == LOOP_HOURS:
        text += " (about one working year of one engineer)"
    return (
        text + ", taken as the order of the length of a model-development cycle: "
        "an assumption, not a measurement"
    )


@dataclass
class TrendPoint:
    model: str
    release_date: dt.date
    p50: float
    p50_ci: tuple[float, float] | None
    lower_bound: bool
    frontier: bool  # at least as good as every model released strictly earlier
    used: bool = False  # in the fitted set (the frontier, or every point with --all)


@dataclass
class Trend:
    points: list[TrendPoint]  # every dated model with a defined p50, by release date
    selection: str  # "frontier" or "all"
    excluded: dict[str, str]  # model -> why it is not on the trend
    loop_hours: float
    slope: float | None = None  # d ln(p50 minutes) / d day
    intercept: float | None = None  # ln(p50 minutes) at date.toordinal() == 0
    doubling_days: float | None = None
    doubling_ci: tuple[float, float] | None = None  # math.inf: some draws do not grow
    crossing: dt.date | None = None  # None: no crossing, or after year 9999
    crossing_ci: tuple[dt.date | None, dt.date | None] | None = None
    draw_fits: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))  # slope, intercept
    draws_total: int = 0
    message: str | None = None  # why there is no doubling time or crossing date
    categories: list[str] = field(default_factory=list)  # what the horizons rest on
    gap: GapTrend | None = None

    @property
    def used(self) -> list[TrendPoint]:
        return [p for p in self.points if p.used]

    def p50_at(self, days: np.ndarray) -> np.ndarray:
        """The fitted p50 in minutes at the given ordinal days."""
        if self.slope is None or self.intercept is None:
            raise ValueError("no trend was fitted")
        return np.exp(self.intercept + self.slope * days)

    def band(self, days: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Pointwise interval of the fitted p50 over the bootstrap draws, or None without any."""
        if len(self.draw_fits) == 0:
            return None
        log_p50 = self.draw_fits[:, 1:2] + self.draw_fits[:, 0:1] * days[None, :]
        lo, hi = np.quantile(log_p50, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=0)
        return np.exp(lo), np.exp(hi)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary; infinite bounds and dates beyond year 9999 become null."""

        def num(x: float | None) -> float | None:
            return x if x is not None and math.isfinite(x) else None

        def day(d: dt.date | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "selection": self.selection,
            "loop_hours": self.loop_hours,
            "loop_assumption": loop_assumption(self.loop_hours),
            "points": [
                {
                    "model": p.model,
                    "release_date": p.release_date.isoformat(),
                    "p50_minutes": p.p50,
                    "p50_ci": list(p.p50_ci) if p.p50_ci else None,
                    "lower_bound": p.lower_bound,
                    "frontier": p.frontier,
                    "used": p.used,
                }
                for p in self.points
            ],
            "excluded": self.excluded,
            "slope_per_day": self.slope,
            "doubling_days": num(self.doubling_days),
            "doubling_days_ci": [num(x) for x in self.doubling_ci] if self.doubling_ci else None,
            "crossing_date": day(self.crossing),
            "crossing_date_ci": [day(d) for d in self.crossing_ci] if self.crossing_ci else None,
            "draws_used": len(self.draw_fits),
            "draws_total": self.draws_total,
            "message": self.message,
            "categories": self.categories,
            "judgement_gap": self.gap.to_json() if self.gap else None,
        }


@dataclass
class GapPoint:
    model: str
    release_date: dt.date
    ratio: float
    ratio_ci: tuple[float, float] | None


@dataclass
class GapTrend:
    """The judgement gap (research-judgement p50 / p50 on the other categories) over release
    dates: a least-squares line of ln(ratio) on date, with an interval from the paired draws."""

    points: list[GapPoint]
    slope: float | None = None  # d ln(ratio) / d day
    factor_per_year: float | None = None  # the ratio is multiplied by this each year
    factor_ci: tuple[float, float] | None = None
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "points": [
                {
                    "model": p.model,
                    "release_date": p.release_date.isoformat(),
                    "ratio": p.ratio,
                    "ratio_ci": list(p.ratio_ci) if p.ratio_ci else None,
                }
                for p in self.points
            ],
            "slope_per_day": self.slope,
            "factor_per_year": self.factor_per_year,
            "factor_per_year_ci": list(self.factor_ci) if self.factor_ci else None,
            "message": self.message,
        }


def fit_gap_trend(gaps: Sequence[JudgementGap], models: Mapping[str, ModelInfo]) -> GapTrend:
    """The trend of the judgement gap over the dated models that have one."""
    dated = [
        (g, models[g.model].release_date)
        for g in gaps
        if g.model in models and models[g.model].release_date and g.ratio and g.ratio > 0
    ]
    dated.sort(key=lambda pair: (pair[1], pair[0].model))
    trend = GapTrend([GapPoint(g.model, d, g.ratio, g.ratio_ci) for g, d in dated])  # type: ignore[arg-type]
    days = np.array([d.toordinal() for _, d in dated], dtype=float)
    if len(set(days)) < 2:
        trend.message = (
            f"{len(dated)} dated model(s) with a judgement gap; a trend needs at least 2, "
            "released on different days"
        )
        return trend
    trend.slope, _ = fit_line(days, np.array([g.ratio for g, _ in dated]))
    trend.factor_per_year = math.exp(trend.slope * YEAR_DAYS)
    slopes = []
    for column in np.array([g.draws for g, _ in dated], dtype=float).T:
        ok = np.isfinite(column) & (column > 0)
        if len(set(days[ok])) >= 2:
            slopes.append(fit_line(days[ok], column[ok])[0])
    if slopes:
        lo, hi = _interval(np.array(slopes))
        trend.factor_ci = (math.exp(lo * YEAR_DAYS), math.exp(hi * YEAR_DAYS))
    return trend


def gap_lines(gap: GapTrend | None) -> list[str]:
    """The judgement gap's trend in plain sentences."""
    if gap is None:
        return []
    lines = []
    if gap.factor_per_year is None:
        return [f"Judgement gap: no trend ({gap.message})."]
    line = (
        "Judgement gap (research-judgement p50 / p50 on the other categories): "
        f"×{gap.factor_per_year:.2g} per year"
    )
    if gap.factor_ci:
        line += f" (95% CI ×{gap.factor_ci[0]:.2g} to ×{gap.factor_ci[1]:.2g})"
    lines.append(line + f", over {len(gap.points)} dated models; above ×1 the gap is closing.")
    return lines


def frontier_mask(dates: Sequence[dt.date], p50s: Sequence[float]) -> list[bool]:
    """True for each model at least as good as every model released strictly before it."""
    return [
        all(p >= q for e, q in zip(dates, p50s, strict=True) if e < d)
        for d, p in zip(dates, p50s, strict=True)
    ]


def fit_line(days: np.ndarray, p50: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept of ln(p50) on days (needs two distinct days)."""
    y = np.log(p50)
    dx = days - days.mean()
    slope = float(np.sum(dx * (y - y.mean())) / np.sum(dx * dx))
    return slope, float(y.mean() - slope * days.mean())


def _crossing_day(slope: float, intercept: float, loop_minutes: float) -> float:
    return (math.log(loop_minutes) - intercept) / slope if slope > 0 else math.inf


def _to_date(day: float) -> dt.date | None:
    if not math.isfinite(day) or not 1 <= round(day) <= dt.date.max.toordinal():
        return None
    return dt.date.fromordinal(round(day))


def _interval(values: np.ndarray) -> tuple[float, float]:
    # inverted_cdf never interpolates, so infinite values (no crossing) stay usable.
    lo, hi = np.quantile(values, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], method="inverted_cdf")
    return float(lo), float(hi)


def fit_trend(
    result: HorizonResult,
    models: Mapping[str, ModelInfo],
    *,
    frontier_only: bool = True,
    loop_hours: float = LOOP_HOURS,
    categories: Sequence[str] = (),
    gaps: Sequence[JudgementGap] = (),
) -> Trend:
    """Fit the horizon trend over the dated models of ``result`` (overall horizons only).

    ``categories``: the task categories the horizons rest on, stated beside the closed-loop
    date; ``gaps``: the models' judgement gaps, whose trend is fitted too when given.
    """
    points: list[TrendPoint] = []
    excluded: dict[str, str] = {}
    for h in result.models:
        if h.group is not None:
            continue
        info = models.get(h.model)
        if info is None or info.release_date is None:
            excluded[h.model] = "no release date in the models file"
        elif h.p50 is None:
            excluded[h.model] = "p50 undefined: success does not fall with task length"
        elif h.p50 == 0:
            excluded[h.model] = "p50 is 0: never succeeded"
        elif not math.isfinite(h.p50):
            excluded[h.model] = "p50 infinite"
        else:
            points.append(
                TrendPoint(h.model, info.release_date, h.p50, h.p50_ci, h.lower_bound, False)
            )
    points.sort(key=lambda p: (p.release_date, p.model))
    for p, on in zip(
        points,
        frontier_mask([p.release_date for p in points], [p.p50 for p in points]),
        strict=True,
    ):
        p.frontier = on
        p.used = on or not frontier_only
    trend = Trend(points, "frontier" if frontier_only else "all", excluded, loop_hours)
    trend.categories = list(categories)
    if gaps:
        trend.gap = fit_gap_trend(gaps, models)

    used = trend.used
    days = np.array([p.release_date.toordinal() for p in used], dtype=float)
    if len(set(days)) < 2:
        trend.message = (
            f"too few data: {len(used)} dated model(s) with a defined p50 in the "
            f"{trend.selection} set; a trend needs at least 2, released on different days"
        )
        if frontier_only and len({p.release_date for p in points}) >= 2:
            trend.message += " (the trend over all dated models is available)"
        return trend
    trend.slope, trend.intercept = fit_line(days, np.array([p.p50 for p in used]))
    if trend.slope <= 0:
        trend.message = "not growing (slope <= 0): no doubling time, no crossing date"
        return trend
    loop_minutes = loop_hours * 60
    trend.doubling_days = math.log(2) / trend.slope
    trend.crossing = _to_date(_crossing_day(trend.slope, trend.intercept, loop_minutes))

    if not all(p.model in result.draws for p in used):
        return trend
    draws = np.array([result.draws[p.model] for p in used], dtype=float)
    trend.draws_total = draws.shape[1]
    fits = []
    for column in draws.T:
        # A draw where a model's p50 is undefined (or 0) is fitted on the others, if enough
        # remain; ln(p50) needs a positive, finite p50.
        ok = np.isfinite(column) & (column > 0)
        if len(set(days[ok])) >= 2:
            fits.append(fit_line(days[ok], column[ok]))
    if not fits:
        return trend
    trend.draw_fits = np.array(fits)
    slopes = trend.draw_fits[:, 0]
    lo, hi = _interval(slopes)
    trend.doubling_ci = (
        math.log(2) / hi if hi > 0 else math.inf,
        math.log(2) / lo if lo > 0 else math.inf,
    )
    crossings = np.array([_crossing_day(s, i, loop_minutes) for s, i in trend.draw_fits])
    c_lo, c_hi = _interval(crossings)
    trend.crossing_ci = (_to_date(c_lo), _to_date(c_hi))
    return trend


def _fmt_days(days: float) -> str:
    return f"{days:,.0f}" if math.isfinite(days) else "∞"


def _fmt_month(d: dt.date | None) -> str:
    return d.strftime("%Y-%m") if d else "never (or after 9999)"


def summary_lines(trend: Trend) -> list[str]:
    """The trend in plain sentences, shared by the terminal, Markdown and HTML outputs."""
    which = (
        "frontier models (each at least as good as every model released before it)"
        if trend.selection == "frontier"
        else "all dated models"
    )
    lines = [f"Trend of ln(p50) on release date, least squares over {len(trend.used)} {which}."]
    if trend.message:
        lines.append(trend.message.capitalize() + ".")
    if trend.doubling_days is not None:
        line = f"Doubling time: {_fmt_days(trend.doubling_days)} days"
        if trend.doubling_ci:
            lo, hi = trend.doubling_ci
            line += f" (95% CI {_fmt_days(lo)} to {_fmt_days(hi)})"
        lines.append(line + ".")
        line = f"Closed loop: the p50 trend reaches {trend.loop_hours:,.0f} h"
        line += f" in {_fmt_month(trend.crossing)}"
        if trend.crossing_ci:
            lo_d, hi_d = trend.crossing_ci
            line += f" (95% CI {_fmt_month(lo_d)} to {_fmt_month(hi_d)})"
        lines.append(line + ".")
        if trend.draw_fits.size and len(trend.draw_fits) < trend.draws_total:
            lines.append(
                f"Intervals use {len(trend.draw_fits)} of {trend.draws_total} bootstrap draws; "
                "the others had too few models with a defined p50."
            )
        elif not trend.draw_fits.size:
            lines.append("No interval: no bootstrap draws of the horizons were available.")
    lines.append(f"Closed-loop threshold: {loop_assumption(trend.loop_hours)}.")
    if trend.categories:
        judged = "research-judgement" in trend.categories
        lines.append(
            f"The horizons, and so the closed-loop estimate, rest on the tasks of: "
            f"{', '.join(trend.categories)}"
            + ("." if judged else "; no research-judgement tasks, so not on judging research.")
        )
    lines += gap_lines(trend.gap)
    bounds = [p.model for p in trend.used if p.lower_bound]
    if bounds:
        lines.append(
            f"Lower bounds (every run succeeded, p50 is the longest task): {', '.join(bounds)}; "
            "the trend through them understates growth."
        )
    if trend.excluded:
        lines.append(
            "Not on the trend: "
            + "; ".join(f"{m} ({why})" for m, why in sorted(trend.excluded.items()))
            + "."
        )
    return lines
