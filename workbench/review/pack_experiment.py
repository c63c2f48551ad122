"""The monthly pack's experiment in words: its guardrails, its note and the flagged step.

A guardrail breach (``experiment.evaluate``'s ``breaches``: the AI arm significantly worse
on a guardrail metric) flags the workflow for pause; while the workflow still acts (shadow or
autonomous) the flag leads the pack's next steps.
"""

from __future__ import annotations

from workbench.experiment import wording
from workbench.experiment.evaluate import ExperimentReport
from workbench.review.modes import Mode


def flagged_words(report: ExperimentReport) -> str:
    """ "Flagged for pause: " and every breach's sentence ("" without a breach)."""
    if not report.breaches:
        return ""
    return "Flagged for pause: " + " ".join(b.sentence for b in report.breaches)


def guardrail_words(report: ExperimentReport | None) -> str:
    """An experiment's guardrails in one line: flagged for pause, clear, or not checked yet."""
    if report is None:
        return "no experiment: there is no workflow"
    if report.breaches:
        halted = f" The workflow was {report.halt.words()}." if report.halt is not None else ""
        return flagged_words(report) + halted
    if report.srm_failures():
        return (
            "not trustworthy yet: the split of accounts differs from the plan (sample ratio "
            "mismatch), so no guardrail can be judged until that is explained"
        )
    guarded = {s.name for s in report.specs if s.guardrail}
    if not guarded:
        return "none: the experiment has no guardrail metric"
    results = report.analysis.metrics if report.analysis is not None else ()
    if not any(m.code == "ok" for m in results if m.spec.name in guarded):
        return "not checked yet: no outcomes of the experiment's accounts so far"
    return "clear: no guardrail metric is significantly worse in the AI-handled arm"


def experiment_note(report: ExperimentReport | None, name: str | None) -> dict[str, str]:
    """The pack's note on the experiment: what is missing, or nothing when it has results."""
    if name is None or report is None:
        return {
            "experiment": "No experiment yet: there is no workflow, so no accounts are assigned."
        }
    if report.next_step:
        return {"experiment": report.next_step}
    return {}


def flag_step(report: ExperimentReport | None, mode: Mode) -> tuple[str, ...]:
    """The guardrail flag (or a sample ratio mismatch) as the first next step, while the
    workflow still acts."""
    if report is None or mode not in ("shadow", "autonomous"):
        return ()
    if not report.breaches:
        if not report.srm_failures():
            return ()
        return (
            "Sample ratio mismatch: the experiment's split of accounts differs from the plan "
            "(see the Outcomes page). Find out why (outcomes missing for one arm, or a changed "
            "assignment) before trusting any of its results.",
        )
    labels = {s.name: s.label for s in report.specs}
    metrics = ", ".join(dict.fromkeys(labels.get(b.metric, b.metric) for b in report.breaches))
    against = " and ".join(
        dict.fromkeys(wording.ARM_AS_BASELINE.get(b.baseline, b.baseline) for b in report.breaches)
    )
    return (
        f"Flagged for pause: the AI-handled arm is significantly worse than {against} on "
        f"{metrics}. Pause the workflow on the Governance page (or `workbench mode paused "
        "--reason ...`) and find out why before it acts again.",
    )
