"""The regression gate: is a candidate model's time horizon significantly below a baseline's?

Both sides are compared on the tasks both attempted, with the same horizon fit as
``rsibench horizon``. The difference in p50 gets a *paired* hierarchical-bootstrap interval: each
draw resamples families and tasks once and refits both sides on that same draw, so task-selection
noise common to both cancels out of the difference.

Policy (exit status): 1 when the candidate's p50 is lower, the upper end of the 95% interval of
the difference is below zero, and the relative drop exceeds ``max_drop``; also 1 when
``fail_on_improvement`` is set and the p50 rose by more than that fraction (an alert for safety
teams, deliberately on the point estimate alone so that it errs towards firing).

Otherwise the gate asks whether it could have seen a drop: from the spread of the paired
bootstrap it estimates the smallest relative drop this data would detect (80% power), and when
that exceeds ``detectable`` the verdict is "cannot judge" (exit 2), not a pass: a pass from an
underpowered comparison would look like a real one. Exit 0 only when the data could have caught
a drop of that size. Input it cannot judge at all (unreadable records, no shared tasks, fewer
than ``min_epochs`` attempts per task, no defined horizon) raises GateError, also exit 2.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rsibench import horizon as hz
from rsibench.records import Runs, as_runs

if TYPE_CHECKING:
    from rsibench.suite import Variant

ALPHA = 0.05
#: Normal quantiles of the power calculation: a two-sided 95% interval, and 80% power.
Z_INTERVAL = 1.959964
Z_POWER = 0.841621
IQR_PER_SD = 1.34898  # the interquartile range of a normal law, in standard deviations


class GateError(hz.InputError):
    """The gate cannot judge these records; the message says why and what to do."""


@dataclass(frozen=True)
class Policy:
    max_drop: float = 0.10
    fail_on_improvement: float | None = None
    min_epochs: int = 3
    detectable: float = 0.5
    bootstrap: int = hz.DEFAULT_BOOTSTRAP
    seed: int = 0
    weighting: str = "invsqrt"
    regularization: float = hz.DEFAULT_REGULARIZATION


@dataclass
class TaskChange:
    """One shared task's successes / attempts on each side.

    ``p_value`` is a one-sided Fisher exact test in the direction of the change; ``significant``
    means it survives Holm's correction over all shared tasks at a 5% family-wise error rate.
    """

    task_id: str
    human_minutes: float
    baseline: tuple[int, int]
    candidate: tuple[int, int]
    p_value: float = 1.0
    significant: bool = False

    @property
    def change(self) -> float:
        return self.candidate[0] / self.candidate[1] - self.baseline[0] / self.baseline[1]


@dataclass
class Power:
    """What the comparison could have seen.

    ``detectable`` is the smallest relative drop in p50 the gate would catch with 80%
    probability on data like this (1.0: none it could be sure of); ``epochs`` the attempts per
    task behind it; ``epochs_needed`` about how many would bring ``detectable`` down to the
    policy's threshold (None: no number of epochs would, the threshold is at or below
    ``--max-drop``).
    """

    detectable: float
    epochs: float
    epochs_needed: int | None


@dataclass
class GateReport:
    verdict: str  # "pass", "fail" or "inconclusive"
    reasons: list[str]
    policy: Policy
    baseline: hz.ModelHorizon
    candidate: hz.ModelHorizon
    difference: float  # candidate p50 - baseline p50, minutes
    difference_ci: tuple[float, float] | None
    relative_change: float  # candidate / baseline - 1 (inf when the baseline is 0)
    power: Power
    regressed: list[TaskChange] = field(default_factory=list)
    improved: list[TaskChange] = field(default_factory=list)
    unchanged: list[TaskChange] = field(default_factory=list)
    only_baseline: list[str] = field(default_factory=list)
    only_candidate: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return {"pass": 0, "fail": 1}.get(self.verdict, 2)


def select_model(runs: Runs, wanted: str | None, side: str) -> tuple[Runs, str]:
    """The runs of one model: ``wanted``, or the only model present."""
    models = sorted({str(m) for m in runs["model"]})
    if wanted is not None:
        if wanted not in models:
            raise GateError(
                f"{side}: no runs of model {wanted!r}; the records hold: {', '.join(models)}"
            )
        return runs[runs["model"] == wanted], wanted
    if len(models) != 1:
        raise GateError(
            f"{side}: records of {len(models)} models ({', '.join(models)}); choose one with "
            f"--{side}-model (or --model for both sides)"
        )
    return runs, models[0]


def compare(
    baseline: Any,
    candidate: Any,
    policy: Policy | None = None,
    *,
    baseline_model: str | None = None,
    candidate_model: str | None = None,
) -> GateReport:
    """Judge ``candidate`` against ``baseline`` (scored runs, as from ``records.scored``)."""
    policy = policy or Policy()
    base, base_name = select_model(as_runs(baseline), baseline_model, "baseline")
    cand, cand_name = select_model(as_runs(candidate), candidate_model, "candidate")
    base_tasks, cand_tasks = set(base["task_id"]), set(cand["task_id"])
    shared = sorted(base_tasks & cand_tasks)
    if not shared:
        raise GateError(
            "no task was attempted by both sides; run the candidate on the baseline's suite "
            "version (or pass the matching baseline records)"
        )
    base = base[np.isin(base["task_id"].astype(str), shared)]
    cand = cand[np.isin(cand["task_id"].astype(str), shared)]
    _check_epochs(base, cand, policy.min_epochs)

    both = Runs.concat(
        [base.assign(model=["baseline"] * len(base)), cand.assign(model=["candidate"] * len(cand))]
    )
    result = hz.estimate_horizons(
        both,
        weighting=policy.weighting,
        regularization=policy.regularization,
        bootstrap=policy.bootstrap,
        seed=policy.seed,
    )
    fits = {m.model: m for m in result.models}
    b_fit, c_fit = fits["baseline"], fits["candidate"]
    b_fit.model, c_fit.model = base_name, cand_name
    b50, c50 = _defined_p50(b_fit, "baseline"), _defined_p50(c_fit, "candidate")
    diff = c50 - b50
    relative = c50 / b50 - 1 if b50 > 0 else (0.0 if c50 == 0 else math.inf)
    diff_ci = hz.percentile_interval(result.draws["candidate"] - result.draws["baseline"])

    reasons: list[str] = []
    if diff < 0 and diff_ci is not None and diff_ci[1] < 0 and -relative > policy.max_drop:
        reasons.append(
            f"p50 fell {-relative:.0%} (more than the allowed {policy.max_drop:.0%}) and the 95% "
            f"interval of the change,{_signed_ci(diff_ci)}, is below 0"
        )
    rise_limit = policy.fail_on_improvement
    if rise_limit is not None and diff > 0 and relative > rise_limit:
        reasons.append(
            f"p50 rose {_percent(relative)} (alert set at {rise_limit:.0%} by "
            "--fail-on-improvement)"
        )

    epochs = min(len(base), len(cand)) / len(shared)
    power = detectable_drop(result.draws["baseline"], result.draws["candidate"], epochs, policy)
    verdict = "fail" if reasons else "pass"
    # A significant rise leaves no drop to miss; otherwise a pass needs the power to see one.
    rose = diff_ci is not None and diff_ci[0] > 0
    if not reasons and not rose and power.detectable > policy.detectable:
        verdict = "inconclusive"
        reasons.append(cannot_judge(power, policy))
    changes = _task_changes(base, cand)
    report = GateReport(
        verdict=verdict,
        reasons=reasons,
        policy=policy,
        baseline=b_fit,
        candidate=c_fit,
        difference=diff,
        difference_ci=diff_ci,
        relative_change=relative,
        power=power,
        regressed=sorted((c for c in changes if c.change < 0), key=lambda c: c.change),
        improved=sorted((c for c in changes if c.change > 0), key=lambda c: -c.change),
        unchanged=[c for c in changes if c.change == 0],
        only_baseline=sorted(base_tasks - cand_tasks),
        only_candidate=sorted(cand_tasks - base_tasks),
    )
    if verdict != "fail":
        report.reasons.append(_pass_reason(report))
    return report


def detectable_drop(
    base_draws: np.ndarray, cand_draws: np.ndarray, epochs: float, policy: Policy
) -> Power:
    """The smallest relative drop in p50 the gate would detect with 80% power on such data.

    The spread of the paired bootstrap's log ratio candidate/baseline gives its standard error
    ``se``, robustly from the interquartile range (/1.349): the tails of horizon draws are
    heavy, and the 95% interval's width overstates ``se`` (the simulations in docs/gate.md
    check the calibration). The gate fails when the observed
    log drop exceeds both ln(1/(1 - max_drop)) and the interval's half-width 1.96·se, so a true
    drop is caught 80% of the time when it is 0.84·se beyond that. Run noise shrinks like
    1/√epochs, which gives the epochs that would bring it to ``policy.detectable`` (about: the
    part of the noise due to which tasks the suite has does not shrink).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(cand_draws) - np.log(base_draws)
    usable = log_ratio[~np.isnan(log_ratio)]
    if usable.size < max(20, 0.5 * log_ratio.size):
        return Power(1.0, epochs, None)
    q25, q75 = np.quantile(usable, [0.25, 0.75], method="inverted_cdf")
    if not (math.isfinite(q25) and math.isfinite(q75)):
        return Power(1.0, epochs, None)
    se = (q75 - q25) / IQR_PER_SD
    floor = -math.log1p(-policy.max_drop) if policy.max_drop < 1 else math.inf
    detectable = -math.expm1(-(max(floor, Z_INTERVAL * se) + Z_POWER * se))
    return Power(detectable, epochs, _epochs_needed(se, epochs, floor, policy.detectable))


def _epochs_needed(se: float, epochs: float, floor: float, target: float) -> int | None:
    """Epochs at which the detectable drop would be ``target``, if se shrinks like 1/√epochs."""
    goal = -math.log1p(-target) if target < 1 else math.inf
    if not goal > floor or se <= 0:
        return None
    # The largest se that still detects `goal`: both branches of max(floor, 1.96 se) + 0.84 se.
    wanted = goal / (Z_INTERVAL + Z_POWER)
    if Z_INTERVAL * wanted < floor:
        wanted = (goal - floor) / Z_POWER
    return max(1, math.ceil(epochs * (se / wanted) ** 2))


def cannot_judge(power: Power, policy: Policy) -> str:
    text = (
        f"cannot judge: this data can only detect drops larger than {power.detectable:.0%} "
        f"(--detectable {policy.detectable:.0%})"
    )
    if power.epochs_needed is None:
        return text + "; lower --max-drop below --detectable, or add tasks near the horizons"
    return (
        text + f"; about {power.epochs_needed} epochs (now {power.epochs:.3g}) would detect "
        f"{policy.detectable:.0%}; `rsibench plan --drop {policy.detectable:g}` estimates it "
        "from simulated runs"
    )


def power_line(r: GateReport) -> str:
    """The detectable drop, shown with every verdict."""
    return (
        f"Smallest drop this data can detect: {r.power.detectable:.0%} (80% power; "
        f"{r.power.epochs:.3g} attempts per task; --detectable {r.policy.detectable:.0%})"
    )


def _defined_p50(fit: hz.ModelHorizon, side: str) -> float:
    if fit.p50 is None:
        raise GateError(
            f"{side} ({fit.model}): no horizon: its success does not fall with task length "
            f"(slope {fit.slope or 0:+.2f}); the shared tasks are too few or too alike in "
            "length to judge, add tasks or epochs"
        )
    return fit.p50


def _counts(runs: Runs) -> dict[str, tuple[int, int]]:
    """Per task: (successes, attempts)."""
    tasks, idx = np.unique(runs["task_id"].astype(str), return_inverse=True)
    wins = np.bincount(idx, weights=runs["success"].astype(float), minlength=tasks.size)
    tries = np.bincount(idx, minlength=tasks.size)
    return {str(t): (int(w), int(n)) for t, w, n in zip(tasks, wins, tries, strict=True)}


def _check_epochs(base: Runs, cand: Runs, min_epochs: int) -> None:
    for side, runs in (("baseline", base), ("candidate", cand)):
        counts = {t: n for t, (_, n) in _counts(runs).items()}
        short = sorted(((n, t) for t, n in counts.items() if n < min_epochs))
        if len(short):
            listed = ", ".join(f"{t} ({n})" for n, t in short[:5])
            more = f" and {len(short) - 5} more" if len(short) > 5 else ""
            raise GateError(
                f"{side}: too little data to judge: {len(short)} shared task(s) have fewer than "
                f"--min-epochs {min_epochs} attempts: {listed}{more}; run more epochs (or lower "
                "--min-epochs, accepting a noisier verdict)"
            )


def _task_changes(base: Runs, cand: Runs) -> list[TaskChange]:
    b, c = _counts(base), _counts(cand)
    minutes = dict(zip(base["task_id"].astype(str), base["human_minutes"], strict=True))
    changes = [
        TaskChange(task_id=t, human_minutes=float(minutes[t]), baseline=b[t], candidate=c[t])
        for t in sorted(b)
    ]
    for ch in changes:
        if ch.change != 0:
            ch.p_value = fisher_one_sided(*ch.baseline, *ch.candidate, worse=ch.change < 0)
    # Holm's step-down correction over every shared task.
    ordered = sorted(changes, key=lambda ch: ch.p_value)
    for rank, ch in enumerate(ordered):
        if ch.p_value > ALPHA / (len(ordered) - rank):
            break
        ch.significant = True
    return changes


def fisher_one_sided(
    base_wins: int, base_runs: int, cand_wins: int, cand_runs: int, *, worse: bool
) -> float:
    """One-sided Fisher exact p-value that the candidate's success rate is lower (``worse``)
    or higher than the baseline's, from the hypergeometric law of the baseline's successes."""
    total, wins = base_runs + cand_runs, base_wins + cand_wins
    lo, hi = max(0, wins - cand_runs), min(wins, base_runs)
    ks = range(base_wins, hi + 1) if worse else range(lo, base_wins + 1)
    denom = math.comb(total, base_runs)
    return sum(math.comb(wins, k) * math.comb(total - wins, base_runs - k) for k in ks) / denom


def _signed(minutes: float) -> str:
    return ("+" if minutes >= 0 else "-") + hz.format_minutes(abs(minutes))


def _percent(relative: float) -> str:
    return "from 0" if math.isinf(relative) else f"{relative:+.0%}"


def _pass_reason(r: GateReport) -> str:
    if r.difference >= 0:
        return f"p50 did not fall ({_percent(r.relative_change)})"
    if r.difference_ci is None or r.difference_ci[1] >= 0:
        return (
            f"p50 fell {-r.relative_change:.0%}, but the 95% interval of the change includes 0 "
            "(not significant)"
        )
    return (
        f"p50 fell {-r.relative_change:.0%}, significantly, but within the allowed "
        f"{r.policy.max_drop:.0%}"
    )


# ---------------------------------------------------------------------------------------------
# Outputs


def _change_json(c: TaskChange) -> dict[str, Any]:
    return {
        "task_id": c.task_id,
        "human_minutes": c.human_minutes,
        "baseline": {"successes": c.baseline[0], "runs": c.baseline[1]},
        "candidate": {"successes": c.candidate[0], "runs": c.candidate[1]},
        "p_value": c.p_value,
        "significant": c.significant,
    }


def change_summary(r: GateReport) -> str:
    """One line: the change in p50 with its paired interval."""
    return (
        f"Change in p50: {_signed(r.difference)} ({_percent(r.relative_change)}), "
        f"95% paired-bootstrap interval{_signed_ci(r.difference_ci)}"
    )


def report_to_json(r: GateReport) -> dict[str, Any]:
    """The ``--json`` object."""
    finite = math.isfinite(r.relative_change)
    return {
        "verdict": r.verdict,
        "exit_code": r.exit_code,
        "reasons": r.reasons,
        "baseline": hz.model_to_json(r.baseline),
        "candidate": hz.model_to_json(r.candidate),
        "difference": {
            "p50": r.difference,
            "p50_ci": list(r.difference_ci) if r.difference_ci else None,
            "relative": r.relative_change if finite else None,
        },
        "power": {
            "detectable_drop": r.power.detectable,
            "epochs": r.power.epochs,
            "epochs_needed": r.power.epochs_needed,
        },
        "tasks": {
            "compared": len(r.regressed) + len(r.improved) + len(r.unchanged),
            "regressed": [_change_json(c) for c in r.regressed],
            "improved": [_change_json(c) for c in r.improved],
            "unchanged": len(r.unchanged),
            "only_baseline": r.only_baseline,
            "only_candidate": r.only_candidate,
        },
        "policy": asdict(r.policy),
    }


def error_to_json(reason: str) -> dict[str, Any]:
    return {"verdict": "error", "exit_code": 2, "reasons": [reason]}


def rate(pair: tuple[int, int]) -> str:
    return f"{pair[0]}/{pair[1]}"


def _ci(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f" [{hz.format_minutes(ci[0])}, {hz.format_minutes(ci[1])}]"


def _signed_ci(ci: tuple[float, float] | None) -> str:
    return " n/a" if ci is None else f" [{_signed(ci[0])}, {_signed(ci[1])}]"


def _p50(m: hz.ModelHorizon) -> str:
    return (">= " if m.lower_bound else "") + hz.format_minutes(m.p50) + _ci(m.p50_ci)


def report_to_junit(r: GateReport | None, error: str | None = None) -> ET.ElementTree:
    """JUnit XML: one test case for the horizon and one per task.

    Shared tasks fail when they regressed significantly (Holm-corrected Fisher test; also when
    they improved significantly under --fail-on-improvement); tasks only one side attempted are
    skipped. With ``error`` (the gate could not judge) the horizon case carries an <error>.
    """
    suite = ET.Element("testsuite", name="rsibench gate")
    horizon = ET.SubElement(suite, "testcase", classname="rsibench.gate", name="horizon p50")
    cases = [horizon]
    if r is None:
        ET.SubElement(horizon, "error", message=error or "could not judge").text = error
    else:
        summary = (
            f"baseline {r.baseline.model}: {_p50(r.baseline)}\n"
            f"candidate {r.candidate.model}: {_p50(r.candidate)}\n"
            f"change: {_signed(r.difference)}{_signed_ci(r.difference_ci)} "
            f"({_percent(r.relative_change)})"
        )
        summary += "\n" + power_line(r)
        if r.verdict == "fail":
            ET.SubElement(horizon, "failure", message="; ".join(r.reasons)).text = summary
        elif r.verdict == "inconclusive":
            ET.SubElement(horizon, "error", message="; ".join(r.reasons)).text = summary
        ET.SubElement(horizon, "system-out").text = summary + "\n" + "; ".join(r.reasons)
        alert_up = r.policy.fail_on_improvement is not None
        for c in sorted(r.regressed + r.improved + r.unchanged, key=lambda c: c.task_id):
            case = ET.SubElement(suite, "testcase", classname="rsibench.gate.task", name=c.task_id)
            test = "unchanged" if c.change == 0 else f"one-sided p = {c.p_value:.3g}"
            text = (
                f"{c.human_minutes:g} human minutes: {rate(c.baseline)} -> {rate(c.candidate)} "
                f"({test})"
            )
            if c.significant and (c.change < 0 or alert_up):
                kind = "regressed" if c.change < 0 else "improved"
                ET.SubElement(case, "failure", message=f"{kind} significantly").text = text
            ET.SubElement(case, "system-out").text = text
            cases.append(case)
        for side, tasks in (("baseline", r.only_baseline), ("candidate", r.only_candidate)):
            for t in tasks:
                case = ET.SubElement(suite, "testcase", classname="rsibench.gate.task", name=t)
                ET.SubElement(case, "skipped", message=f"only the {side} attempted this task")
                cases.append(case)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(c.find("failure") is not None for c in cases)))
    suite.set("errors", str(sum(c.find("error") is not None for c in cases)))
    suite.set("skipped", str(sum(c.find("skipped") is not None for c in cases)))
    ET.indent(suite)
    return ET.ElementTree(suite)


def report_to_markdown(r: GateReport | None, error: str | None = None) -> str:
    """A pull-request comment."""
    if r is None:
        return f"## rsibench gate: could not judge\n\n{error}\n"
    icon = {"pass": "✅ pass", "fail": "❌ fail"}.get(r.verdict, "⚠️ cannot judge")
    lines = [
        f"## rsibench gate: {icon}",
        "",
        *(f"- {reason}" for reason in r.reasons),
        "",
        "| | model | p50 [95% CI] | p80 | success | runs | tasks |",
        "|---|---|---|---|---|---|---|",
    ]
    for side, m in (("baseline", r.baseline), ("candidate", r.candidate)):
        p80 = (">= " if m.lower_bound else "") + hz.format_minutes(m.p80)
        lines.append(
            f"| {side} | `{m.model}` | {_p50(m)} | {p80} | {m.success_rate:.0%} | {m.runs} | "
            f"{m.tasks} |"
        )
    lines += [
        "",
        f"**{change_summary(r)}**",
        "",
        power_line(r) + ".",
        "",
        f"Policy: fail on a significant drop of more than {r.policy.max_drop:.0%}"
        + (
            f"; alert on a rise of more than {r.policy.fail_on_improvement:.0%}"
            if r.policy.fail_on_improvement is not None
            else ""
        )
        + f"; {r.policy.bootstrap} bootstrap draws (seed {r.policy.seed}).",
    ]
    for title, changes in (("regressed", r.regressed), ("improved", r.improved)):
        if not changes:
            continue
        n_significant = sum(c.significant for c in changes)
        # Collapsed: a large suite would otherwise bury the verdict in the PR thread.
        lines += [
            "",
            f"<details><summary>Tasks that {title}: {len(changes)} "
            f"({n_significant} significant)</summary>",
            "",
            "| task | human minutes | baseline | candidate | one-sided p |",
            "|---|---|---|---|---|",
        ]
        for c in changes:
            mark = " **(significant)**" if c.significant else ""
            lines.append(
                f"| `{c.task_id}` | {c.human_minutes:g} | {rate(c.baseline)} | "
                f"{rate(c.candidate)} | {c.p_value:.3g}{mark} |"
            )
        lines += ["", "</details>"]
    for side, tasks in (("baseline", r.only_baseline), ("candidate", r.only_candidate)):
        if tasks:
            lines += ["", f"Not compared, only the {side} attempted: " + ", ".join(tasks)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Planning: how many epochs a lab needs


EPOCH_STEPS = (3, 4, 6, 8, 12, 16, 24, 32, 48, 64)


@dataclass
class PlanStep:
    epochs: int
    detected: int  # simulated comparisons that failed the gate (exit 1)
    inconclusive: int  # exit 2
    passed: int  # exit 0: the drop was missed

    @property
    def power(self) -> float:
        return self.detected / (self.detected + self.inconclusive + self.passed)


@dataclass
class Plan:
    horizon: float
    drop: float
    power: float
    seeds: int
    steps: list[PlanStep]

    @property
    def epochs(self) -> int | None:
        """The fewest epochs that reach the wanted power; None if none tried did."""
        return next((s.epochs for s in self.steps if s.power >= self.power), None)


def plan(
    variants: Sequence[Variant],
    suite_version: str,
    *,
    drop: float,
    power: float = 0.8,
    horizon: float,
    policy: Policy,
    seeds: int = 20,
    slope: float | None = None,
    progress: Callable[[PlanStep], None] | None = None,
) -> Plan:
    """Simulate a baseline at ``horizon`` and a candidate ``drop`` below it on ``variants``, at
    growing epochs, and run the gate on each pair; stop at the first epochs where at least
    ``power`` of the ``seeds`` comparisons fail the gate."""
    from rsibench.simulate import DEFAULT_SLOPE, simulate_records

    def runs(h: float, epochs: int, seed: int, model: str) -> Runs:
        records = simulate_records(
            variants,
            horizon=h,
            suite_version=suite_version,
            slope=slope or DEFAULT_SLOPE,
            epochs=epochs,
            seed=seed,
            model=model,
        )
        return Runs.from_rows(records)

    result = Plan(horizon, drop, power, seeds, [])
    for epochs in (e for e in EPOCH_STEPS if e >= policy.min_epochs):
        counts = {"fail": 0, "inconclusive": 0, "pass": 0}
        for seed in range(seeds):
            base = runs(horizon, epochs, 2 * seed, "baseline")
            cand = runs(horizon * (1 - drop), epochs, 2 * seed + 1, "candidate")
            try:
                verdict = compare(base, cand, policy).verdict
            except GateError:  # no defined horizon on a side: the gate could not judge
                verdict = "inconclusive"
            counts[verdict] += 1
        step = PlanStep(epochs, counts["fail"], counts["inconclusive"], counts["pass"])
        result.steps.append(step)
        if progress:
            progress(step)
        if step.power >= power:
            break
    return result
