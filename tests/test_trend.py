"""The trend of p50 over release dates: maths on hand-made horizons, then the `trend` command."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rsibench.cli_report import trend as trend_command
from rsibench.horizon import HorizonResult, ModelHorizon
from rsibench.models import ModelInfo
from rsibench.records import append_records
from rsibench.simulate import simulate_records, synthetic_suite
from rsibench.trend import fit_trend, frontier_mask, summary_lines

D0 = dt.date(2023, 1, 10)
LOOP_MINUTES = 2000 * 60


def horizon(model: str, p50: float | None, *, lower_bound: bool = False) -> ModelHorizon:
    return ModelHorizon(
        model=model,
        group=None,
        p50=p50,
        p80=None if p50 is None else p50 / 4,
        p50_ci=None,
        p80_ci=None,
        lower_bound=lower_bound,
        runs=30,
        tasks=10,
        success_rate=0.5,
        slope=-0.6,
        intercept=0.0,
    )


def dated(**dates: dt.date | None) -> dict[str, ModelInfo]:
    return {m: ModelInfo(m, m.upper(), "Org", d) for m, d in dates.items()}


def exponential(days: float, doubling: float, start: float = 5.0) -> float:
    """p50 in minutes after ``days``, growing from ``start`` with the given doubling time."""
    return start * 2 ** (days / doubling)


# Unevenly spaced release dates, so a fit that ignored the dates would not pass.
OFFSETS = {"a": 0, "b": 90, "c": 400, "d": 731}


def exact_result(doubling: float = 200.0, draws: dict[str, np.ndarray] | None = None):
    result = HorizonResult(
        models=[horizon(m, exponential(o, doubling)) for m, o in OFFSETS.items()],
        draws=draws or {},
    )
    models = dated(**{m: D0 + dt.timedelta(days=o) for m, o in OFFSETS.items()})
    return result, models


def test_exact_exponential_data_give_their_doubling_time_and_crossing_date() -> None:
    result, models = exact_result(doubling=200.0)
    trend = fit_trend(result, models)
    assert trend.message is None
    assert [p.model for p in trend.used] == ["a", "b", "c", "d"]
    assert trend.doubling_days == pytest.approx(200.0, rel=1e-9)
    # 5 min doubles every 200 days: 2,000 h is reached log2(120000 / 5) doublings after D0.
    expected = D0 + dt.timedelta(days=round(200 * math.log2(LOOP_MINUTES / 5)))
    assert trend.crossing == expected
    assert trend.p50_at(np.array([float(D0.toordinal())]))[0] == pytest.approx(5.0)


def test_the_closed_loop_threshold_moves_the_crossing_date_by_whole_doublings() -> None:
    result, models = exact_result(doubling=200.0)
    at_2000 = fit_trend(result, models, loop_hours=2000).crossing
    at_500 = fit_trend(result, models, loop_hours=500).crossing
    assert at_2000 is not None and at_500 is not None
    assert (at_2000 - at_500).days == 400  # 2,000 h is two doublings above 500 h


def test_bootstrap_intervals_come_from_refitting_each_draw() -> None:
    # Draw j is exact exponential data with doubling time doublings[j], so the interval of the
    # doubling time must be the middle 95% of those doubling times.
    doublings = np.linspace(100.0, 300.0, 1001)
    draws = {m: exponential(o, doublings) for m, o in OFFSETS.items()}
    result, models = exact_result(doubling=200.0, draws=draws)
    trend = fit_trend(result, models)
    assert len(trend.draw_fits) == 1001
    lo, hi = trend.doubling_ci
    assert lo == pytest.approx(105.0, abs=0.5)
    assert hi == pytest.approx(295.0, abs=0.5)
    c_lo, c_hi = trend.crossing_ci
    assert c_lo < trend.crossing < c_hi
    # The crossing of the fastest draws: 5 min grows to 2,000 h in log2(24000) doublings.
    assert abs((c_lo - D0).days - 105 * math.log2(LOOP_MINUTES / 5)) < 10


def test_a_draw_with_an_undefined_p50_is_fitted_on_the_other_models() -> None:
    draws = {m: np.full(4, exponential(o, 200.0)) for m, o in OFFSETS.items()}
    draws["a"][0] = np.nan
    draws["b"][1] = 0.0  # never succeeded in this draw: no logarithm
    result, models = exact_result(doubling=200.0, draws=draws)
    trend = fit_trend(result, models)
    assert len(trend.draw_fits) == 4
    assert trend.draw_fits[:, 0] == pytest.approx(math.log(2) / 200.0)


def test_draws_left_with_fewer_than_two_models_are_counted_out() -> None:
    result = HorizonResult(
        models=[horizon("a", 5.0), horizon("b", 20.0)],
        draws={"a": np.array([5.0, np.nan, 5.0]), "b": np.array([20.0, 20.0, 40.0])},
    )
    trend = fit_trend(result, dated(a=D0, b=D0 + dt.timedelta(days=400)))
    assert len(trend.draw_fits) == 2
    assert trend.draws_total == 3
    assert any("2 of 3 bootstrap draws" in line for line in summary_lines(trend))


def test_too_few_dated_models_say_so() -> None:
    result = HorizonResult(models=[horizon("a", 5.0), horizon("oracle", 960.0)], draws={})
    trend = fit_trend(result, dated(a=D0, oracle=None))
    assert trend.message is not None and trend.message.startswith("too few data")
    assert trend.doubling_days is None and trend.crossing is None
    assert trend.excluded == {"oracle": "no release date in the models file"}
    text = "\n".join(summary_lines(trend))
    assert "Too few data" in text
    assert "Doubling time" not in text


def test_models_released_the_same_day_cannot_make_a_trend() -> None:
    result = HorizonResult(models=[horizon("a", 5.0), horizon("b", 9.0)], draws={})
    trend = fit_trend(result, dated(a=D0, b=D0), frontier_only=False)
    assert trend.message is not None and trend.message.startswith("too few data")


def test_a_shrinking_horizon_is_not_growing_and_has_no_crossing_date() -> None:
    result = HorizonResult(models=[horizon("a", 20.0), horizon("b", 5.0)], draws={})
    models = dated(a=D0, b=D0 + dt.timedelta(days=300))
    over_all = fit_trend(result, models, frontier_only=False)
    assert over_all.message == "not growing (slope <= 0): no doubling time, no crossing date"
    assert over_all.slope < 0
    assert over_all.doubling_days is None and over_all.crossing is None
    # On the frontier the later, worse model drops out, leaving one point.
    frontier = fit_trend(result, models)
    assert frontier.message.startswith("too few data")
    assert "all dated models" in frontier.message


def test_frontier_keeps_models_at_least_as_good_as_every_earlier_one() -> None:
    dates = [D0, D0 + dt.timedelta(days=100), D0 + dt.timedelta(days=200)]
    dates += [dates[2], D0 + dt.timedelta(days=300)]
    # a=10; b=5 is worse than a; c=20 beats a and b; d=8, same day as c, is judged only against
    # strictly earlier models (a=10) and is worse; e=20 equals the best so far and stays.
    assert frontier_mask(dates, [10, 5, 20, 8, 20]) == [True, False, True, False, True]
    # A model released the same day as a better one is still on the frontier.
    assert frontier_mask([D0, D0], [10, 3]) == [True, True]


def test_fit_uses_the_frontier_unless_all_is_asked_for() -> None:
    p50 = {"a": 10.0, "b": 5.0, "c": 40.0}
    days = {"a": 0, "b": 50, "c": 200}
    result = HorizonResult(models=[horizon(m, v) for m, v in p50.items()], draws={})
    models = dated(**{m: D0 + dt.timedelta(days=d) for m, d in days.items()})
    frontier = fit_trend(result, models)
    assert [p.model for p in frontier.used] == ["a", "c"]
    assert frontier.doubling_days == pytest.approx(100.0)  # 10 -> 40 min in 200 days
    everything = fit_trend(result, models, frontier_only=False)
    assert [p.model for p in everything.used] == ["a", "b", "c"]
    assert everything.doubling_days != pytest.approx(100.0)


def test_models_without_a_usable_p50_are_excluded_with_the_reason() -> None:
    result = HorizonResult(
        models=[
            horizon("a", 5.0),
            horizon("b", 20.0, lower_bound=True),
            horizon("flat", None),
            horizon("never", 0.0),
            horizon("unknown", 30.0),
            ModelHorizon("a", "debugging", 7.0, 2.0, None, None, False, 3, 1, 0.5, -1.0, 1.0),
        ],
        draws={},
    )
    models = dated(a=D0, b=D0 + dt.timedelta(days=200), flat=D0, never=D0)
    trend = fit_trend(result, models)
    assert [p.model for p in trend.points] == ["a", "b"]  # per-category entries are ignored
    assert trend.excluded["flat"].startswith("p50 undefined")
    assert trend.excluded["never"] == "p50 is 0: never succeeded"
    assert trend.excluded["unknown"] == "no release date in the models file"
    assert any(line.startswith("Lower bounds") and "b" in line for line in summary_lines(trend))


def test_json_has_no_infinities_and_iso_dates() -> None:
    doublings = np.array([200.0] * 10 + [-200.0] * 2)  # some draws shrink: no upper bound
    draws = {m: exponential(o, doublings) for m, o in OFFSETS.items()}
    result, models = exact_result(doubling=200.0, draws=draws)
    data = fit_trend(result, models).to_json()
    text = json.dumps(data, allow_nan=False)
    assert data["doubling_days_ci"][1] is None
    assert data["crossing_date_ci"][1] is None
    assert data["crossing_date"] == dt.date.fromisoformat(data["crossing_date"]).isoformat()
    assert "2,000 h" in json.loads(text)["loop_assumption"]


# ---- the command ---------------------------------------------------------------------------


def write_runs(path: Path, horizons: dict[str, float]) -> None:
    variants = synthetic_suite(n_tasks=24, family_size=3).variants
    for i, (model, p50) in enumerate(horizons.items()):
        records = simulate_records(
            variants, horizon=p50, suite_version="synthetic", model=model, seed=i, epochs=4
        )
        append_records(path, records)


MODELS_YAML = """
early/model: {name: Early, organisation: Org, release_date: 2023-01-01}
late/model: {name: Late, organisation: Org, release_date: 2024-01-01}
undated/model: {name: Undated, organisation: Org, release_date: null}
"""


def test_trend_command_reports_doubling_time_crossing_and_assumption(tmp_path: Path) -> None:
    runs = tmp_path / "runs.jsonl"
    write_runs(runs, {"early/model": 4.0, "late/model": 60.0, "undated/model": 30.0})
    models = tmp_path / "models.yaml"
    models.write_text(MODELS_YAML)
    args = [str(runs), "--models", str(models), "--bootstrap", "50"]
    out = CliRunner().invoke(trend_command, args)
    assert out.exit_code == 0, out.output
    assert "Doubling time:" in out.output
    assert "Closed loop: the p50 trend reaches 2,000 h in " in out.output
    assert "one working year of one engineer" in out.output
    assert "undated/model (no release date in the models file)" in out.output

    data = json.loads(CliRunner().invoke(trend_command, [*args, "--json"]).output)
    assert [p["model"] for p in data["points"]] == ["early/model", "late/model"]
    assert data["doubling_days"] > 0
    lo, hi = data["doubling_days_ci"]
    assert lo <= data["doubling_days"] <= (hi if hi is not None else math.inf)
    assert data["draws_total"] == 50


def test_trend_command_with_one_dated_model_says_too_few(tmp_path: Path) -> None:
    runs = tmp_path / "runs.jsonl"
    write_runs(runs, {"early/model": 4.0, "undated/model": 30.0})
    models = tmp_path / "models.yaml"
    models.write_text(MODELS_YAML)
    out = CliRunner().invoke(
        trend_command, [str(runs), "--models", str(models), "--bootstrap", "0"]
    )
    assert out.exit_code == 0, out.output
    assert "Too few data: 1 dated model(s)" in out.output
    assert "Doubling time" not in out.output
