"""A metric's card on the Outcomes page: the verdict, the pair comparisons and adjusted
effects as tables in words, each pair's difference with its interval, and the metric per
assignment week and arm.

Every figure comes from the analysis (``experiment.analysis``) and is written with
``experiment.wording``; the weekly levels are a plain grouping of the outcome frame. No
statistic is computed here.
"""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st

from workbench.experiment import wording
from workbench.experiment.analysis import MetricResult, PairResult
from workbench.experiment.evaluate import ExperimentReport
from workbench.experiment.sentences import too_few_for_test
from workbench.experiment.types import ARM_LABELS, ARMS, MetricSpec, Unit
from workbench.ui.text import md_safe

COVARIATE_WORDS = {"health_score": "health score", "arr": "ARR", "segment": "segment"}
SMALL_WEEK = 30
"""A weekly point resting on fewer accounts than this is drawn hollow: it moves a lot by chance."""
ARM_COLORS = {"AI-handled": "#1f77b4", "CSM-handled": "#ff7f0e", "Control": "#7f7f7f"}
UNTRUSTED = "not trusted (split differs from plan)"
TOO_FEW = "too few accounts"
FINDING_COLORS = {
    "better": "#2e7d32",
    "worse": "#c62828",
    "no clear difference": "#546e7a",
    TOO_FEW: "#f9a825",
    UNTRUSTED: "#ef6c00",
}


def _scale(spec: MetricSpec) -> tuple[float, str, str]:
    """(multiplier, tooltip format, unit word) for a metric's differences."""
    if spec.kind == "binary":
        return 100.0, ",.1f", "points"
    if spec.unit == "currency":
        return 1.0, "$,.0f", "$"
    return 1.0, ",.2~f", spec.unit if spec.unit in ("hours", "score") else ""


def finding(
    spec: MetricSpec, diff: float | None, p: float | None, alpha: float, trusted: bool = True
) -> str:
    """How a difference reads: better, worse, no clear difference (or not trusted)."""
    if not trusted:
        return UNTRUSTED
    if diff is None or p is None or p >= alpha or diff == 0:
        return "no clear difference"
    return "better" if (diff > 0) == spec.higher_is_better else "worse"


def difference_frame(m: MetricResult, trusted: bool = True) -> pd.DataFrame:
    """One row per compared pair: the difference and its interval (points for rates)."""
    factor, _, _ = _scale(m.spec)
    rows = []
    for pr in m.pairs:
        c = pr.comparison
        if c is None or c.diff is None:
            continue
        kind = finding(m.spec, c.diff, c.p, c.alpha, trusted)
        if kind in ("better", "worse") and too_few_for_test(c):
            kind = TOO_FEW
        rows.append(
            {
                "pair": pair_label(pr.treatment, pr.baseline),
                "diff": c.diff * factor,
                "low": None if c.ci_low is None else c.ci_low * factor,
                "high": None if c.ci_high is None else c.ci_high * factor,
                "p": c.p,
                "finding": kind,
            }
        )
    return pd.DataFrame(rows, columns=["pair", "diff", "low", "high", "p", "finding"])


def difference_chart(
    m: MetricResult, level: float, trusted: bool = True
) -> alt.LayerChart | alt.FacetChart | None:
    """Each pair's difference (treatment minus baseline) with its interval and a zero line."""
    data = difference_frame(m, trusted)
    if data.empty:
        return None
    _, fmt, word = _scale(m.spec)
    title = f"Difference ({word})" if word and word != "$" else "Difference"
    # Ticks without trailing zeros ("5", "2.5" rather than "5.0"); tooltips keep ``fmt``.
    x_axis = alt.Axis(format=",~f" if m.spec.kind == "binary" else fmt, title=title)
    y = alt.Y("pair:N", sort=None, title=None, axis=alt.Axis(labelLimit=220))
    shown = [f for f in FINDING_COLORS if f in set(data["finding"])]
    color = alt.Color(
        "finding:N",
        scale=alt.Scale(domain=shown, range=[FINDING_COLORS[f] for f in shown]),
        legend=alt.Legend(orient="bottom", title=None, labelLimit=320),
    )
    tips = [
        alt.Tooltip("pair:N", title="Pair"),
        alt.Tooltip("diff:Q", title="Difference", format=fmt),
        alt.Tooltip("low:Q", title=f"{level:.0%} low", format=fmt),
        alt.Tooltip("high:Q", title=f"{level:.0%} high", format=fmt),
        alt.Tooltip("p:Q", title="p", format=".3g"),
    ]
    base = alt.Chart(data)
    with_ci = data.dropna(subset=["low", "high"])
    layers: list[alt.Chart] = [
        alt.Chart(pd.DataFrame({"zero": [0.0]}))
        .mark_rule(strokeDash=[4, 4], color="#9e9e9e")
        .encode(x=alt.X("zero:Q", axis=x_axis)),
        alt.Chart(with_ci)
        .mark_rule(strokeWidth=3)
        .encode(x=alt.X("low:Q", axis=x_axis), x2="high:Q", y=y, color=color),
        base.mark_point(filled=True, size=110).encode(
            x=alt.X("diff:Q", axis=x_axis), y=y, color=color, tooltip=tips
        ),
    ]
    return alt.layer(*layers, height=52 * len(data) + 50)


def weekly_frame(frame: pd.DataFrame, name: str, segment: str | None = None) -> pd.DataFrame:
    """Per assignment week (starting Monday) and arm: accounts with an outcome and their
    mean (the rate for a binary metric)."""
    columns = ["week", "arm", "mean", "accounts", "small"]
    if frame.empty or name not in frame.columns:
        return pd.DataFrame(columns=columns)
    rows = frame if segment is None else frame[frame["segment"] == segment]
    seen = rows.loc[rows[name].notna(), ["assigned_on", "arm", name]]
    if seen.empty:
        return pd.DataFrame(columns=columns)
    day = pd.to_datetime(seen["assigned_on"])
    week = (day - pd.to_timedelta(day.dt.day_of_week, unit="D")).dt.normalize()
    grouped = (
        seen.assign(week=week)
        .groupby(["week", "arm"], as_index=False)[name]
        .agg(mean="mean", accounts="count")
    )
    grouped["arm"] = grouped["arm"].map(lambda a: ARM_LABELS.get(str(a), str(a)))
    grouped["small"] = grouped["accounts"] < SMALL_WEEK
    return pd.DataFrame(grouped[columns])


def one_week_words(frame: pd.DataFrame, data: pd.DataFrame) -> str:
    """Why the weekly chart has no lines yet: every account was assigned in one week, or only
    one week's accounts have an outcome so far (``data`` is ``weekly_frame``'s, one week)."""
    days = pd.to_datetime(frame["assigned_on"]).dropna()
    mondays = (days - pd.to_timedelta(days.dt.day_of_week, unit="D")).dt.normalize().unique()
    week = pd.Timestamp(data["week"].iloc[0])
    if days.nunique() == 1:
        return (
            f"Every account so far was assigned on {pd.Timestamp(days.iloc[0]):%Y-%m-%d}; the "
            "lines appear once a second week of assignments has outcomes."
        )
    if len(mondays) == 1:
        return (
            f"Every account so far was assigned in the week of {week:%Y-%m-%d}; the lines "
            "appear once a second week of assignments has outcomes."
        )
    return (
        f"Only accounts assigned in the week of {week:%Y-%m-%d} have an outcome so far "
        f"(accounts were assigned in {len(mondays)} weeks); the lines appear once a second "
        "week of assignments has outcomes."
    )


def weekly_chart(data: pd.DataFrame, spec: MetricSpec) -> alt.LayerChart | alt.FacetChart:
    """The metric per assignment week and arm: lines with points, hollow where small."""
    rate = spec.kind == "binary"
    fmt = ".0%" if rate else ("$,.0f" if spec.unit == "currency" else ",.2~f")
    title = "Rate" if rate else "Mean per account"
    order = [ARM_LABELS[a] for a in ARMS]
    weeks = sorted(pd.to_datetime(data["week"]).unique()) if len(data) else []
    # Ticks on the plotted weeks (Mondays): Vega's own weekly ticks fall on Sundays, which
    # put a week's point beside the wrong date.
    axis = alt.Axis(
        format="%d %b %Y",
        values=[pd.Timestamp(w).isoformat() for w in weeks] if len(weeks) <= 12 else alt.Undefined,
    )
    x = alt.X("week:T", title="Assignment week (from Monday)", axis=axis)
    y = alt.Y("mean:Q", title=title, axis=alt.Axis(format=fmt))
    scale = alt.Scale(domain=order, range=[ARM_COLORS[a] for a in order])
    color = alt.Color("arm:N", scale=scale, legend=alt.Legend(orient="bottom", title=None))
    fill = (
        alt.when(alt.datum.small)
        .then(alt.value("white"))
        .otherwise(alt.Fill("arm:N", scale=scale, legend=None))
    )
    tips = [
        alt.Tooltip("week:T", title="Week of", format="%Y-%m-%d"),
        alt.Tooltip("arm:N", title="Arm"),
        alt.Tooltip("mean:Q", title=title, format=fmt),
        alt.Tooltip("accounts:Q", title="Accounts with an outcome"),
    ]
    base = alt.Chart(data)
    return alt.layer(
        base.mark_line(opacity=0.6).encode(x=x, y=y, color=color),
        base.mark_point(size=70, strokeWidth=2).encode(
            x=x,
            y=y,
            color=color,
            fill=fill,
            tooltip=tips,
        ),
        height=240,
    )


# --- tables -------------------------------------------------------------------------


def pair_label(treatment: str, baseline: str) -> str:
    """ "AI-handled vs control", "AI-handled vs CSM-handled"."""
    against = "control" if baseline == "control" else ARM_LABELS.get(baseline, baseline)
    return f"{ARM_LABELS.get(treatment, treatment)} vs {against}"


def _unit(m: MetricResult) -> Unit:
    return "rate" if m.spec.kind == "binary" else m.spec.unit


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:+.1f}%"


def _p(p: float | None) -> str:
    """ "0.004", "< 0.001", "n/a" (``wording.p_value`` without its "p =")."""
    return wording.p_value(p).removeprefix("p ").removeprefix("= ")


def _ci(low: float | None, high: float | None, unit: Unit) -> str:
    if low is None or high is None:
        return "–"
    return f"{wording.diff(low, unit, bare=True)} to {wording.diff(high, unit, bare=True)}"


def _without_empty(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """The frame without ``column`` when it holds no text at all."""
    if column in frame.columns and (frame[column].fillna("").astype(str) == "").all():
        return frame.drop(columns=column)
    return frame


def pair_table(m: MetricResult, alpha: float) -> pd.DataFrame:
    """The pair comparisons in words and figures (a row on the log scale where made)."""
    unit = _unit(m)
    level = f"{wording.percent(1 - alpha)} CI"
    rows: list[dict[str, object]] = []
    for pr in m.pairs:
        label = pair_label(pr.treatment, pr.baseline)
        if pr.comparison is None:
            rows.append({"Pair": label, "Note": pr.skipped})
            continue
        log: Unit = "number"
        for c, on, scale in (
            (pr.comparison, unit, ""),
            (pr.log_comparison, log, " on log(1 + value)"),
        ):
            if c is None:
                continue
            rows.append(
                {
                    "Pair": label + scale,
                    "Accounts": f"{c.n_t:,} vs {c.n_b:,}",
                    "Treatment": wording.value(c.value_t, on),
                    "Baseline": wording.value(c.value_b, on),
                    "Difference": wording.diff(c.diff, on),
                    level: _ci(c.ci_low, c.ci_high, on),
                    "p": _p(c.p),
                    "Lift": "–" if scale else _pct(c.lift),
                    "Test": c.test,
                    "Note": c.message or "",
                }
            )
    return _without_empty(pd.DataFrame(rows), "Note")


def adjusted_table(m: MetricResult) -> pd.DataFrame:
    """The covariate-adjusted effect per pair: odds ratio and average effect, or coefficient."""
    unit = _unit(m)
    rows = []
    for pr in m.pairs:
        a = pr.adjusted
        if a is None:
            continue
        row: dict[str, object] = {
            "Pair": pair_label(pr.treatment, pr.baseline),
            "Accounts used": a.n_used,
        }
        if m.spec.kind == "binary":
            row["Odds ratio"] = (
                "–"
                if a.odds_ratio is None
                else f"{a.odds_ratio:.2f} ({a.or_low or 0:.2f} to {a.or_high or 0:.2f})"
            )
            row["Average effect"] = (
                f"{wording.diff(a.ame, 'rate')} ({_ci(a.ame_low, a.ame_high, 'rate')})"
            )
            row["p"] = _p(a.ame_p)
        else:
            row["Coefficient"] = f"{wording.diff(a.coef, unit)} ({_ci(a.ci_low, a.ci_high, unit)})"
            row["p"] = _p(a.p)
        row["Notes"] = "; ".join([*([a.message] if a.message else []), *a.notes]) or ""
        rows.append(row)
    return _without_empty(pd.DataFrame(rows), "Notes")


# --- one card per metric ----------------------------------------------------------------


def _primary(m: MetricResult) -> PairResult | None:
    return next((p for p in m.pairs if p.skipped is None), None)


def _alert(m: MetricResult, trusted: bool) -> Callable[..., object]:
    pr = _primary(m)
    c = pr.comparison if pr is not None else None
    if m.code != "ok" or c is None:
        return st.info
    if not trusted:
        return st.warning
    if too_few_for_test(c):
        return st.warning if c.p is not None and c.p < c.alpha else st.info
    return {"better": st.success, "worse": st.error}.get(
        finding(m.spec, c.diff, c.p, c.alpha), st.info
    )


def metric_card(report: ExperimentReport, m: MetricResult, segment: str | None) -> None:
    """One metric: the verdict, the pairs, the adjusted effect, the"""
    assert report.analysis is not None
    trusted = not (m.srm.failed or report.analysis.srm.failed)
    with st.container(border=True):
        kind = "yes/no, shown as a rate" if m.spec.kind == "binary" else f"{m.spec.unit} value"
        guard = " · **guardrail**" if m.spec.guardrail else ""
        better = "higher is better" if m.spec.higher_is_better else "lower is better"
        st.markdown(f"#### {m.spec.label}")
        st.caption(
            f"{kind}, {better}{guard} · {md_safe(m.spec.source)} · "
            f"{m.n_observed:,} accounts with an outcome, {m.n_missing:,} without yet"
        )
        _alert(m, trusted)(md_safe(m.verdict))
        pr = _primary(m)
        if m.code != "ok":
            return
        if pr is not None and pr.power is not None:
            st.caption(md_safe(pr.power.sentence))
        st.dataframe(
            pair_table(m, report.analysis.alpha),
            hide_index=True,
            width="stretch",
            key=f"oc:pairs:{m.spec.name}",
        )
        left, right = st.columns(2, gap="large")
        with left:
            st.markdown("##### Difference vs baseline")
            chart = difference_chart(m, 1 - report.analysis.alpha, trusted)
            if chart is None:
                st.caption("No pair could be compared yet.")
            else:
                st.altair_chart(chart, width="stretch")
                st.caption(
                    "Point: the difference; bar: its 95% interval. Crossing the dashed zero line means no clear difference."
                )
        with right:
            st.markdown("##### By assignment week")
            weekly(report, m, segment)
        adjusted = adjusted_table(m)
        if len(adjusted):
            st.markdown(
                "##### Adjusted for "
                + ", ".join(COVARIATE_WORDS.get(c, c) for c in report.analysis.covariates)
            )
            st.dataframe(adjusted, hide_index=True, width="stretch", key=f"oc:adj:{m.spec.name}")
            st.caption(
                "Logistic regression: the odds ratio, and the average effect on the probability "
                "of the outcome in points."
                if m.spec.kind == "binary"
                else "Linear regression (robust standard errors): the difference in means after "
                "accounting for the covariates."
            )
        if m.skew_note:
            st.info(md_safe(m.skew_note), icon=":material/insights:")


def weekly(report: ExperimentReport, m: MetricResult, segment: str | None) -> None:
    data = weekly_frame(report.frame, m.spec.name, segment)
    if data.empty:
        st.caption("No outcomes yet.")
        return
    st.altair_chart(weekly_chart(data, m.spec), width="stretch")
    weeks = data["week"].nunique()
    if weeks < 2:
        rows = report.frame if segment is None else report.frame[report.frame["segment"] == segment]
        st.caption(one_week_words(rows, data))
    else:
        st.caption(
            f"Accounts with an outcome per assignment week and arm. Hollow points rest on fewer "
            f"than {SMALL_WEEK} accounts and move a lot by chance; read the whole-"
            "experiment figures above, not single weeks."
        )
