"""The experiment report's tables and the number format of each of their cells.

``report_tables`` turns an ``ExperimentReport`` into tidy frames with human column names
(the analysis tables, the verdicts, the strata and the per-account outcomes);
``cell_format`` says how each cell is shown: rates of binary metrics as percentages,
p-values to four decimals, test statistics to three. The workbook applies the formats and
the printable page writes the values the same way (``cell_text``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import pandas as pd

from workbench.experiment import wording
from workbench.experiment.analysis import analysis_tables, analyze
from workbench.experiment.evaluate import ExperimentReport
from workbench.experiment.types import ARMS
from workbench.export.html_page import html_value
from workbench.export.sheets import PERCENT_FORMAT

P_FORMAT = "0.0000"
STAT_FORMAT = "0.000"
ONE_DECIMAL = "#,##0.0"
WHOLE = "0"

TABLES = ("verdicts", "comparisons", "adjusted", "power", "srm", "summary", "strata", "outcomes")
WHAT = {
    "verdicts": "verdicts",
    "comparisons": "comparisons",
    "adjusted": "covariate-adjusted effects",
    "power": "power figures",
    "srm": "sample ratio checks",
    "summary": "arm summaries",
    "strata": "strata",
    "outcomes": "outcomes",
}
_VERDICTS = [
    "Metric", "Verdict", "Underpowered", "Guardrail metric", "Guardrail breached",
    "Accounts with an outcome", "Missing outcome", "Result", "Explanation", "Skew note",
]  # fmt: skip
_STRATA: dict[str, str] = {
    "stratum": "Stratum",
    **{a: wording.arm_label(a) for a in ARMS},
    "total": "Total",
}
_FRAME_NAMES = {
    "account_id": "Account", "arm": "Arm", "stratum": "Stratum", "segment": "Segment",
    "arr": "ARR", "health_score": "Health score", "assigned_on": "Assigned on", "run_id": "Run",
}  # fmt: skip
# Columns that hold a rate (a fraction of 1) when the row's metric is binary, per table.
_BINARY_RATES = {
    "summary": {"Rate / mean"},
    "comparisons": {"Treatment value", "Baseline value", "Difference", "CI low", "CI high"},
    "adjusted": {
        "Average effect (probability)", "Average effect SE", "Average effect CI low",
        "Average effect CI high",
    },
    "power": {"Baseline rate", "Detectable effect", "Chosen effect"},
}  # fmt: skip
_BINARY_STATS = {"adjusted": {"Coefficient", "SE", "CI low", "CI high"}}
_ALWAYS = {
    "Relative lift": PERCENT_FORMAT, "Planned share": PERCENT_FORMAT, "p-value": P_FORMAT,
    "Average effect p": P_FORMAT, "Statistic": STAT_FORMAT, "Chi-square": STAT_FORMAT,
    "Skewness": STAT_FORMAT, "Odds ratio": STAT_FORMAT, "Odds ratio CI low": STAT_FORMAT,
    "Odds ratio CI high": STAT_FORMAT, "df": ONE_DECIMAL, "Expected accounts": ONE_DECIMAL,
    "Equivalent accounts per arm": ONE_DECIMAL,
}  # fmt: skip
# In the workbook only: sentences are listed above the page's tables, which stay narrow.
WORKBOOK_ONLY = ("Sentence", "Notes", "Sum", "Sum of squares", "SE", "Average effect SE")


# --- the tables --------------------------------------------------------------------------


@cache
def _empty_tables() -> dict[str, pd.DataFrame]:
    """Every table's columns, without rows (from the analysis of nothing)."""
    out = {k: v.iloc[0:0] for k, v in analysis_tables(analyze(pd.DataFrame(), (), {})).items()}
    out["verdicts"] = pd.DataFrame(columns=_VERDICTS)
    out["strata"] = pd.DataFrame(columns=list(_STRATA.values()))
    out["outcomes"] = pd.DataFrame(columns=list(_FRAME_NAMES.values()))
    return out


def report_tables(report: ExperimentReport | None) -> dict[str, pd.DataFrame]:
    """The report's tables with human column names, keyed as in ``TABLES``.

    ``summary``, ``comparisons``, ``adjusted``, ``power`` and ``srm`` are
    ``experiment.analysis_tables``; ``verdicts`` has one row per metric, ``strata`` the
    assigned accounts per stratum and arm, ``outcomes`` one row per assigned account. All
    are empty (with their columns) when there is no experiment or no assigned account.
    """
    if report is None or report.empty or report.analysis is None:
        return {k: v.copy() for k, v in _empty_tables().items()}
    out = analysis_tables(report.analysis)
    breached = {b.metric for b in report.breaches}
    out["verdicts"] = pd.DataFrame(
        [
            [m.spec.label, m.verdict, m.underpowered, m.spec.guardrail, m.spec.name in breached]
            + [m.n_observed, m.n_missing, m.code, m.message, m.skew_note]
            for m in report.analysis.metrics
        ],
        columns=_VERDICTS,
    )
    strata = report.by_stratum()
    out["strata"] = strata.rename(columns=_STRATA)
    frame = report.frame.copy()
    frame["arm"] = frame["arm"].map(wording.arm_label)
    for s in report.specs:
        if s.kind == "binary" and s.name in frame.columns:
            frame[s.name] = pd.to_numeric(frame[s.name], errors="coerce").astype("Int64")
    labels = {s.name: s.label for s in report.specs}
    out["outcomes"] = frame.rename(columns={**_FRAME_NAMES, **labels})
    return out


def metric_kinds(report: ExperimentReport | None) -> dict[str, str]:
    return {} if report is None else {s.label: s.kind for s in report.specs}


def cell_format(
    key: str, df: pd.DataFrame, kinds: dict[str, str]
) -> Callable[[int, str], str | None]:
    """The number format of each cell of table ``key``: rates of binary metrics in percent,
    p-values to four decimals, test statistics to three."""
    metric = list(df["Metric"]) if "Metric" in df.columns else []
    scale = list(df["Scale"]) if "Scale" in df.columns else []
    binary_columns = {k for k, v in kinds.items() if v == "binary"}

    def fmt(row: int, column: str) -> str | None:
        binary = row < len(metric) and kinds.get(str(metric[row])) == "binary"
        if scale and scale[row] != "as measured":
            binary = False
        if binary and column in _BINARY_RATES.get(key, ()):
            return PERCENT_FORMAT
        if binary and column in _BINARY_STATS.get(key, ()):
            return STAT_FORMAT
        if key == "outcomes":
            return WHOLE if column in binary_columns else None
        if column == "df" and key != "comparisons":
            return None  # whole degrees of freedom of a chi-square
        return _ALWAYS.get(column)

    return fmt


def cell_text(value: Any, number_format: str | None) -> str:
    """A cell's value as the workbook shows it, escaped, for the HTML page."""
    if number_format is None or not isinstance(value, int | float) or isinstance(value, bool):
        return html_value(value)
    if pd.isna(value):
        return ""
    if number_format == PERCENT_FORMAT:
        return f"{value * 100:.1f}%"
    if number_format == P_FORMAT:
        return "&lt; 0.0001" if value < 0.0001 else f"{value:.4f}"
    if number_format == STAT_FORMAT:
        return f"{value:.3f}"
    if number_format == ONE_DECIMAL:
        return f"{value:,.1f}"
    return f"{value:,.0f}"
