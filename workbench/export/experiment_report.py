"""The experiment report: a workbook and a printable page, and their part of the monthly pack.

Both are written from one ``ExperimentReport`` (``experiment.evaluate``): the experiment in
a sentence with its allocation, start, sample ratio check, guardrail breaches, problems and
next step; then the verdicts, comparisons, covariate-adjusted effects, power, sample ratio
checks, arm summaries, strata and the per-account outcomes. Rates stay numbers shown as
percentages, p-values keep four decimals; an experiment with nothing to show says, on every
sheet, what is missing.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from io import BytesIO

import pandas as pd
from openpyxl import Workbook

from workbench.experiment import wording
from workbench.experiment.analysis import Breach
from workbench.experiment.evaluate import ExperimentReport
from workbench.experiment.sentences import adjusted_sentence
from workbench.export.experiment_tables import (
    TABLES,
    WHAT,
    WORKBOOK_ONLY,
    cell_format,
    cell_text,
    metric_kinds,
    report_tables,
)
from workbench.export.html_page import bullets, document, html_pairs, html_table
from workbench.export.html_page import section as html_section
from workbench.export.sheets import fit, header, pairs, table
from workbench.review.governance import Figure
from workbench.review.pack_experiment import guardrail_words

SHEETS = (
    "Experiment", "Verdicts", "Comparisons", "Adjusted", "Power", "SRM", "By arm", "Strata",
    "Outcomes",
)  # fmt: skip
"""The sheets of the experiment report's workbook."""
PACK_SHEETS = (
    "Experiment", "Exp verdicts", "Exp comparisons", "Exp adjusted", "Exp power", "Exp SRM",
    "Exp by arm", "Exp strata", "Exp outcomes",
)  # fmt: skip
"""The same sheets in the monthly pack (whose own "Outcomes" sheet is another table)."""

# --- words -------------------------------------------------------------------------------


def srm_warnings(report: ExperimentReport | None) -> list[str]:
    """The sentences of every failed sample ratio check (all assigned accounts, then each
    metric's accounts with an outcome)."""
    return [] if report is None else report.srm_failures()


def breach_words(report: ExperimentReport, breach: Breach) -> str:
    """A breach's figures: both levels with their accounts, the change, its interval and p."""
    spec = next((s for s in report.specs if s.name == breach.metric), None)
    unit = "rate" if spec is None or spec.kind == "binary" else spec.unit
    c = breach.figures
    base = "control" if breach.baseline == "control" else wording.arm_label(breach.baseline)
    label = spec.label if spec is not None else breach.metric
    return (
        f"{label}: AI-handled {wording.value(c.value_t, unit)} ({c.n_t:,} accounts) vs {base} "
        f"{wording.value(c.value_b, unit)} ({c.n_b:,} accounts); change "
        f"{wording.diff(c.diff, unit)} ({wording.interval(c.ci_low, c.ci_high, unit, c.alpha)}),"
        f" {wording.p_value(c.p)}."
    )


def next_step_words(report: ExperimentReport | None) -> str:
    """What to do next with the experiment, in one sentence."""
    if report is None:
        return "Save a workflow and run it: its runs assign accounts to the experiment's arms."
    if report.next_step or report.analysis is None:
        return report.next_step
    if report.breaches and report.halt is not None:
        return (
            f"The workflow was {report.halt.words()}: find out why the AI-handled arm did "
            "worse on the guardrail metric before resuming shadow mode."
        )
    if report.breaches:
        return (
            "Pause the workflow (Governance page, or workbench mode paused --reason ...): "
            "the AI-handled arm is doing harm on a guardrail metric; find out why first."
        )
    if srm_warnings(report):
        return (
            "Find out why the split of accounts differs from the plan (see the sample ratio "
            "checks) before trusting any result: outcomes missing for one arm, or a changed "
            "assignment."
        )
    # A metric whose headline comparison is already significant needs no more accounts.
    short = [
        m.spec.label
        for m in report.analysis.metrics
        if m.code == "ok" and m.underpowered and not m.significant
    ]
    if short:
        return (
            "Keep the experiment running: more accounts are needed to detect the chosen effect "
            f"on {', '.join(short)} (see Power)."
        )
    return "Read the verdicts: the experiment has enough accounts for the chosen effects."


def report_figures(report: ExperimentReport | None) -> tuple[Figure, ...]:
    """The Experiment sheet: label/value rows, in reading order."""
    if report is None:
        return (Figure("Experiment", "none: no workflow saved yet"),
                Figure("Next step", next_step_words(None)))  # fmt: skip
    e, a = report.experiment, report.analysis
    srm = a.srm if a is not None else report.assignment_srm()
    rows = [
        Figure("Workflow", report.workflow_name),
        Figure("Experiment", report.sentence()),
        Figure("Experiment id", None if e is None else e.experiment_id),
        Figure("Allocation", None if e is None else e.allocation_words()),
        Figure("Started", None if e is None else e.started_at),
        Figure("Started by", None if e is None else e.started_by),
        Figure("Started with version", None if e is None else e.started_version),
        Figure("Accounts assigned", len(report.frame)),
        Figure("Split of accounts (SRM)", "no experiment yet" if srm is None else srm.sentence),
    ]
    if e is not None and e.ended_at is not None:
        rows.append(Figure("Ended", f"{e.ended_at:%Y-%m-%d %H:%M}: {e.reason}"))
    for m in a.metrics if a is not None else ():
        if m.srm.failed:
            rows.append(Figure(f"Split of {m.spec.label} outcomes (SRM)", m.srm.sentence))
    rows.append(Figure("Guardrails", guardrail_words(report)))
    rows += [Figure("Guardrail breach", breach_words(report, b)) for b in report.breaches]
    rows += [Figure("Problem", p) for p in report.problems]
    rows += [
        Figure("Next step", next_step_words(report) or "none"),
        Figure("Metrics", ", ".join(s.label for s in report.specs) or "none"),
        Figure("Guardrail metrics", ", ".join(s.label for s in report.specs if s.guardrail)),
        Figure("Covariates", None if a is None else ", ".join(a.covariates)),
        Figure("Significance level", None if a is None else a.alpha, True),
        Figure("Power", None if a is None else a.power, True),
        Figure("Outcome window (days)", report.window_days),
        Figure("Experiments of the workflow", len(report.experiments)),
        Figure("Data version", report.data_version),
    ]
    return tuple(rows)


def _missing(report: ExperimentReport | None, key: str, missing: str | None) -> str:
    what = WHAT[key]
    if report is None:
        return f"No {what}: {missing or 'there is no workflow, so no experiment.'}"
    return f"No {what} yet: {report.next_step or 'nothing to show.'}"


# --- the workbook ------------------------------------------------------------------------


def experiment_sheets(
    wb: Workbook,
    report: ExperimentReport | None,
    *,
    titles: Sequence[str] = SHEETS,
    missing: str | None = None,
) -> None:
    """Add the experiment's sheets to ``wb`` (named ``titles``, in ``SHEETS`` order).

    Args:
        wb: The workbook.
        report: ``evaluate(con, wf)``, or None when there is no workflow.
        titles: The sheet names (``PACK_SHEETS`` inside the monthly pack).
        missing: What to say when ``report`` is None.
    """
    ws = wb.create_sheet(titles[0])
    header(ws, ["item", "value"])
    pairs(ws, report_figures(report))
    if report is None and missing:
        pairs(ws, [Figure("Note", missing)])
    fit(ws)
    tables, kinds = report_tables(report), metric_kinds(report)
    for title, key in zip(titles[1:], TABLES, strict=True):
        df = tables[key]
        table(wb, title, df, _missing(report, key, missing), formats=cell_format(key, df, kinds))


def experiment_report_xlsx(report: ExperimentReport) -> bytes:
    """The experiment report as a workbook with the sheets in ``SHEETS``."""
    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    experiment_sheets(wb, report)
    buffer = BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- the page ----------------------------------------------------------------------------


def _html_table(
    report: ExperimentReport | None, key: str, df: pd.DataFrame, missing: str | None
) -> str:
    keep = [c for c in df.columns if c not in WORKBOOK_ONLY and not df[c].isna().all()]
    shown = df[keep] if len(df) else df
    fmt = cell_format(key, df, metric_kinds(report))
    return html_table(
        shown, _missing(report, key, missing), render=lambda i, c, v: cell_text(v, fmt(i, c))
    )


def _boxes(report: ExperimentReport | None) -> str:
    alarms = "".join(f'<div class="alarm">{html.escape(s)}</div>' for s in srm_warnings(report))
    if report is None:
        return alarms
    if report.breaches:
        items = "".join(f"<li>{html.escape(breach_words(report, b))}</li>" for b in report.breaches)
        head = "Flagged for pause."
        if report.halt is not None:
            head = f"Flagged for pause, and {html.escape(report.halt.words())}."
        return alarms + (
            f'<div class="guard breach"><strong>{head}</strong> '
            "A guardrail metric is significantly worse in the AI-handled arm:"
            f"<ul>{items}</ul></div>"
        )
    words = guardrail_words(report)
    cls = "clear" if words.startswith("clear") else ""
    return alarms + f'<div class="guard {cls}">Guardrails: {html.escape(words)}</div>'


def _adjusted_sentences(report: ExperimentReport | None) -> list[str]:
    if report is None or report.analysis is None:
        return []
    return [
        f"{m.spec.label}, {wording.arm_label(p.treatment)} vs {wording.arm_label(p.baseline)}: "
        + adjusted_sentence(m.spec, p.adjusted)
        for m in report.analysis.metrics
        for p in m.pairs
        if p.adjusted is not None
    ]


def _parts(report: ExperimentReport | None, missing: str | None, level: int) -> list[str]:
    tables = report_tables(report)
    step = next_step_words(report)
    intro = (
        f"<p>{html.escape(report.sentence())}</p>"
        if report is not None
        else f'<p class="note">{html.escape(missing or step)}</p>'
    )
    parts = [intro, _boxes(report)]
    if step:
        parts.append(f"<p><strong>Next step:</strong> {html.escape(step)}</p>")
    if report is not None and report.problems:
        parts.append("<p><strong>Problems:</strong></p>" + bullets(report.problems))

    def sub(title: str, *body: str) -> str:
        return html_section(title, *body, level=level)

    def tab(key: str) -> str:
        return _html_table(report, key, tables[key], missing)

    def sentences(key: str) -> str:
        df = tables[key]
        return bullets(dict.fromkeys(df["Sentence"].dropna())) if "Sentence" in df else ""

    if report is not None and not report.empty:
        outcomes = html_table(report.outcome_counts()) + (
            f'<p class="note">The outcome of each of the {len(report.frame):,} assigned '
            "accounts is in the workbook's Outcomes sheet.</p>"
        )
    else:
        outcomes = f'<p class="note">{html.escape(_missing(report, "outcomes", missing))}</p>'
    parts += [
        sub("The experiment", html_pairs(report_figures(report))),
        sub("Verdicts", tab("verdicts")),
        sub("Comparisons", sentences("comparisons"), tab("comparisons")),
        sub("Adjusted for covariates", bullets(_adjusted_sentences(report)), tab("adjusted")),
        sub("Power", sentences("power"), tab("power")),
        sub("Sample ratio checks", tab("srm")),
        sub("By arm", tab("summary")),
        sub("Strata", tab("strata")),
        sub("Outcomes", outcomes),
    ]
    return parts


def experiment_section_html(report: ExperimentReport | None, *, missing: str | None = None) -> str:
    """The experiment as one section of a page (the monthly pack's "Experiment")."""
    return html_section("Experiment", *_parts(report, missing, level=3))


def experiment_report_html(report: ExperimentReport) -> str:
    """The experiment report as one printable, self-contained HTML page."""
    title = f"Experiment report: {report.workflow_name}"
    note = (
        f'<p class="note">Data version {html.escape(report.data_version)}; outcomes count '
        f"within {report.window_days} days of assignment.</p>"
    )
    return document(
        title, f"<h1>{html.escape(title)}</h1>{note}" + "".join(_parts(report, None, 2))
    )
