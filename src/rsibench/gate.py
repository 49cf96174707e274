"""The regression gate: is a candidate model's time horizon significantly below a baseline's?

Both sides are compared on the tasks both attempted, with the same horizon fit as
``rsibench horizon``. The difference in p50 gets a *paired* hierarchical-bootstrap interval: each
draw resamples families and tasks once and refits both sides on that same draw, so task-selection
noise common to both cancels out of the difference.

Policy (exit status): 1 when the candidate's p50 is lower, the upper end of the 95% interval of
the difference is below zero, and the relative drop exceeds ``max_drop``; also 1 when
``fail_on_improvement`` is set and the p50 rose by more than that fraction (an alert for safety
teams, deliberately on the point estimate alone so that it errs towards firing); 0 otherwise.
Input it cannot judge (unreadable records, no shared tasks, fewer than ``min_epochs`` attempts per
task, no defined horizon) raises GateError, exit status 2.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from rsibench import horizon as hz

ALPHA = 0.05


class GateError(hz.InputError):
    """The gate cannot judge these records; the message says why and what to do."""


@dataclass(frozen=True)
class Policy:
    max_drop: float = 0.10
    fail_on_improvement: float | None = None
    min_epochs: int = 3
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
class GateReport:
    verdict: str  # "pass" or "fail"
    reasons: list[str]
    policy: Policy
    baseline: hz.ModelHorizon
    candidate: hz.ModelHorizon
    difference: float  # candidate p50 - baseline p50, minutes
    difference_ci: tuple[float, float] | None
    relative_change: float  # candidate / baseline - 1 (inf when the baseline is 0)
    regressed: list[TaskChange] = field(default_factory=list)
    improved: list[TaskChange] = field(default_factory=list)
    unchanged: list[TaskChange] = field(default_factory=list)
    only_baseline: list[str] = field(default_factory=list)
    only_candidate: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict == "pass" else 1


def select_model(df: pd.DataFrame, wanted: str | None, side: str) -> tuple[pd.DataFrame, str]:
    """The runs of one model: ``wanted``, or the only model present."""
    models = sorted(df["model"].unique())
    if wanted is not None:
        if wanted not in models:
            raise GateError(
                f"{side}: no runs of model {wanted!r}; the records hold: {', '.join(models)}"
            )
        return df[df["model"] == wanted], wanted
    if len(models) != 1:
        raise GateError(
            f"{side}: records of {len(models)} models ({', '.join(models)}); choose one with "
            f"--{side}-model (or --model for both sides)"
        )
    return df, models[0]


def compare(
    baseline: pd.DataFrame,
    candidate: pd.DataFrame,
    policy: Policy | None = None,
    *,
    baseline_model: str | None = None,
    candidate_model: str | None = None,
) -> GateReport:
    """Judge ``candidate`` against ``baseline`` (runs frames as from ``horizon.read_inputs``)."""
    policy = policy or Policy()
    base, base_name = select_model(baseline, baseline_model, "baseline")
    cand, cand_name = select_model(candidate, candidate_model, "candidate")
    base_tasks, cand_tasks = set(base["task_id"]), set(cand["task_id"])
    shared = sorted(base_tasks & cand_tasks)
    if not shared:
        raise GateError(
            "no task was attempted by both sides; run the candidate on the baseline's suite "
            "version (or pass the matching baseline records)"
        )
    base = base[base["task_id"].isin(shared)]
    cand = cand[cand["task_id"].isin(shared)]
    _check_epochs(base, cand, policy.min_epochs)

    both = pd.concat([base.assign(model="baseline"), cand.assign(model="candidate")])
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

    changes = _task_changes(base, cand)
    report = GateReport(
        verdict="fail" if reasons else "pass",
        reasons=reasons,
        policy=policy,
        baseline=b_fit,
        candidate=c_fit,
        difference=diff,
        difference_ci=diff_ci,
        relative_change=relative,
        regressed=sorted((c for c in changes if c.change < 0), key=lambda c: c.change),
        improved=sorted((c for c in changes if c.change > 0), key=lambda c: -c.change),
        unchanged=[c for c in changes if c.change == 0],
        only_baseline=sorted(base_tasks - cand_tasks),
        only_candidate=sorted(cand_tasks - base_tasks),
    )
    if not reasons:
        report.reasons.append(_pass_reason(report))
    return report


def _defined_p50(fit: hz.ModelHorizon, side: str) -> float:
    if fit.p50 is None:
        raise GateError(
            f"{side} ({fit.model}): no horizon: its success does not fall with task length "
            f"(slope {fit.slope or 0:+.2f}); the shared tasks are too few or too alike in "
            "length to judge, add tasks or epochs"
        )
    return fit.p50


def _check_epochs(base: pd.DataFrame, cand: pd.DataFrame, min_epochs: int) -> None:
    for side, df in (("baseline", base), ("candidate", cand)):
        counts = df.groupby("task_id").size()
        short = counts[counts < min_epochs].sort_values()
        if len(short):
            listed = ", ".join(f"{t} ({n})" for t, n in short.head(5).items())
            more = f" and {len(short) - 5} more" if len(short) > 5 else ""
            raise GateError(
                f"{side}: too little data to judge: {len(short)} shared task(s) have fewer than "
                f"--min-epochs {min_epochs} attempts: {listed}{more}; run more epochs (or lower "
                "--min-epochs, accepting a noisier verdict)"
            )


def _task_changes(base: pd.DataFrame, cand: pd.DataFrame) -> list[TaskChange]:
    b = base.groupby("task_id").agg(wins=("success", "sum"), runs=("success", "size"))
    c = cand.groupby("task_id").agg(wins=("success", "sum"), runs=("success", "size"))
    minutes = base.groupby("task_id")["human_minutes"].first()
    changes = [
        TaskChange(
            task_id=str(t),
            human_minutes=float(minutes[t]),
            baseline=(int(b.at[t, "wins"]), int(b.at[t, "runs"])),
            candidate=(int(c.at[t, "wins"]), int(c.at[t, "runs"])),
        )
        for t in b.index
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
        if r.verdict == "fail":
            ET.SubElement(horizon, "failure", message="; ".join(r.reasons)).text = summary
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
    icon = "✅ pass" if r.verdict == "pass" else "❌ fail"
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
