"""The experiment report: the workbook's sheets and figures, the printable page, an empty
workspace, a planted sample ratio mismatch and a breached guardrail."""

from __future__ import annotations

import html
import shutil
from datetime import date, datetime
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from tests.experiment_scenarios import build_broad
from workbench.experiment.evaluate import ExperimentReport, evaluate
from workbench.export.experiment_report import (
    PACK_SHEETS,
    SHEETS,
    experiment_report_html,
    experiment_report_xlsx,
    experiment_section_html,
    experiment_sheets,
    next_step_words,
)
from workbench.export.experiment_tables import P_FORMAT
from workbench.export.monthly_pack import monthly_pack_html, monthly_pack_xlsx
from workbench.export.sheets import PERCENT_FORMAT
from workbench.review.control import change_mode
from workbench.review.governance import build_pack, month_of
from workbench.storage.workspace import Workspace, connect
from workbench.workflow.store import latest

WORSE = {"control": 0.9, "csm": 0.9, "ai": 0.5}


def _root(sample_root: Path, dest: Path, **scenario) -> Path:
    """A copy of the sample workspace with the broad scenario (unless ``empty``)."""
    ws = Workspace(shutil.copytree(sample_root, dest / "ws"))
    if not scenario.pop("empty", False):
        build_broad(ws, **scenario)
    return ws.root


def _report(sample_root: Path, dest: Path, **scenario) -> ExperimentReport:
    """The report of ``_root(...)``."""
    return _evaluate(_root(sample_root, dest, **scenario))


def _evaluate(root: Path) -> ExperimentReport:
    con = connect(Workspace(root))
    try:
        v = latest(con)
        assert v is not None
        return evaluate(con, v.workflow)
    finally:
        con.close()


@pytest.fixture(scope="module")
def adequate(sample_root, tmp_path_factory) -> ExperimentReport:
    return _report(sample_root, tmp_path_factory.mktemp("adequate"))


@pytest.fixture(scope="module")
def srm_root(sample_root, tmp_path_factory) -> Path:
    return _root(sample_root, tmp_path_factory.mktemp("srm"), drop_control_share=0.6)


@pytest.fixture(scope="module")
def srm(srm_root) -> ExperimentReport:
    return _evaluate(srm_root)


@pytest.fixture(scope="module")
def breach_root(sample_root, tmp_path_factory) -> Path:
    return _root(sample_root, tmp_path_factory.mktemp("breach"), renew_rate=WORSE)


@pytest.fixture(scope="module")
def breach(breach_root) -> ExperimentReport:
    return _evaluate(breach_root)


@pytest.fixture(scope="module")
def empty(sample_root, tmp_path_factory) -> ExperimentReport:
    return _report(sample_root, tmp_path_factory.mktemp("empty"), empty=True)


def _load(report: ExperimentReport) -> Workbook:
    return load_workbook(BytesIO(experiment_report_xlsx(report)))


def _items(ws: Worksheet) -> dict[str, list]:
    """Label -> its value cells (a label can repeat: one row per breach, per problem)."""
    out: dict[str, list] = {}
    for label, value in ws.iter_rows(min_row=2, max_col=2):
        if label.value is not None:
            out.setdefault(label.value, []).append(value)
    return out


def _rows(ws: Worksheet) -> list[dict]:
    """A table sheet as dicts of cells by header."""
    headers = [c.value for c in ws[1]]
    return [dict(zip(headers, row, strict=False)) for row in ws.iter_rows(min_row=2)]


class _Tags(HTMLParser):
    """Start and end tags of a page, checked for balance (void elements aside)."""

    VOID = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.seen: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.seen.add(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> after {self.stack[-3:]}")
        else:
            self.stack.pop()


def _check_page(page: str) -> _Tags:
    tags = _Tags()
    tags.feed(page)
    tags.close()
    assert not tags.errors and not tags.stack, (tags.errors, tags.stack)
    assert page.startswith("<!DOCTYPE html>")
    lowered = page.lower()
    for forbidden in ("<script", "http://", "https://", "src=", "<link", "@import", "url("):
        assert forbidden not in lowered, forbidden
    assert "@media print" in page and "@page" in page
    return tags


# --- the workbook ------------------------------------------------------------------------


def test_sheet_names_fit_excel_and_the_workbook_has_them_all(adequate):
    assert all(len(t) <= 31 for t in SHEETS + PACK_SHEETS)
    assert len(set(PACK_SHEETS)) == len(SHEETS)
    wb = _load(adequate)
    assert wb.sheetnames == list(SHEETS)
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert all(c.font.bold for c in ws[1] if c.value is not None), ws.title
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate}"


def test_the_experiment_sheet_reads_as_a_summary(adequate):
    items = _items(_load(adequate)["Experiment"])
    info = adequate.experiment
    assert info is not None and adequate.analysis is not None
    assert items["Experiment"][0].value == adequate.sentence()
    assert items["Experiment id"][0].value == info.experiment_id
    assert items["Allocation"][0].value == "ai 40% / csm 30% / control 30%"
    assert isinstance(items["Started"][0].value, datetime)
    assert items["Accounts assigned"][0].value == len(adequate.frame) > 1000
    assert items["Split of accounts (SRM)"][0].value == adequate.analysis.srm.sentence
    assert items["Guardrails"][0].value.startswith("clear")
    assert "Guardrail breach" not in items
    assert items["Next step"][0].value == next_step_words(adequate)
    assert items["Significance level"][0].value == pytest.approx(0.05)
    assert items["Significance level"][0].number_format == PERCENT_FORMAT
    assert items["Data version"][0].value == adequate.data_version


def test_comparisons_hold_the_analysis_figures(adequate):
    assert adequate.analysis is not None
    renewed = adequate.analysis.metric("renewed")
    assert renewed is not None
    pair = renewed.pair("ai", "control")
    assert pair is not None and pair.comparison is not None
    c = pair.comparison
    rows = _rows(_load(adequate)["Comparisons"])
    row = next(
        r
        for r in rows
        if (r["Metric"].value, r["Treatment"].value, r["Baseline"].value, r["Scale"].value)
        == ("Renewed", "AI-handled", "Control", "as measured")
    )
    for header, value in (
        ("Treatment value", c.value_t), ("Baseline value", c.value_b), ("Difference", c.diff),
        ("CI low", c.ci_low), ("CI high", c.ci_high), ("Statistic", c.statistic), ("p-value", c.p),
    ):  # fmt: skip
        assert row[header].value == pytest.approx(value, rel=1e-12, abs=1e-300), header
    assert (row["Treatment accounts"].value, row["Baseline accounts"].value) == (c.n_t, c.n_b)
    # ... and an independent count of the outcome frame.
    frame = adequate.frame
    rate = frame.groupby("arm")["renewed"].mean()
    assert row["Difference"].value == pytest.approx(rate["ai"] - rate["control"], rel=1e-9)
    assert row["Difference"].number_format == PERCENT_FORMAT
    assert row["p-value"].number_format == P_FORMAT
    assert row["Sentence"].value == pair.sentence
    # A continuous metric keeps its currency figures as numbers, not percentages.
    money = next(r for r in rows if r["Metric"].value == "Expansion ARR")
    assert money["Difference"].number_format != PERCENT_FORMAT
    assert money["Relative lift"].number_format == PERCENT_FORMAT


def test_adjusted_power_srm_and_arm_sheets_hold_the_analysis_figures(adequate):
    assert adequate.analysis is not None
    renewed = adequate.analysis.metric("renewed")
    assert renewed is not None
    pair = renewed.pair("ai", "control")
    assert pair is not None and pair.adjusted is not None and pair.power is not None
    wb = _load(adequate)

    def first(sheet: str, **match: str) -> dict:
        return next(r for r in _rows(wb[sheet]) if all(r[k].value == v for k, v in match.items()))

    key = {"Metric": "Renewed", "Treatment": "AI-handled", "Baseline": "Control"}
    adjusted = first("Adjusted", **key)
    assert adjusted["Odds ratio"].value == pytest.approx(pair.adjusted.odds_ratio, rel=1e-12)
    assert adjusted["Average effect (probability)"].value == pytest.approx(pair.adjusted.ame)
    assert adjusted["Average effect (probability)"].number_format == PERCENT_FORMAT
    power = first("Power", **key)
    assert pair.power.required is not None
    assert power["Required per arm"].value == pair.power.required.n
    assert power["Sentence"].value == pair.power.sentence
    srm = first("SRM", Scope="All assigned accounts", Arm="Control")
    assert srm["Chi-square"].value == pytest.approx(adequate.analysis.srm.chi2, rel=1e-12)
    assert srm["Planned share"].value == pytest.approx(0.3)
    assert srm["Planned share"].number_format == PERCENT_FORMAT
    arm = first("By arm", Metric="Renewed", Arm="AI-handled")
    ai = adequate.frame[adequate.frame["arm"] == "ai"]["renewed"]
    assert arm["Rate / mean"].value == pytest.approx(ai.mean(), rel=1e-12)
    assert arm["Accounts with an outcome"].value == ai.notna().sum()
    verdicts = {r["Metric"].value: r for r in _rows(wb["Verdicts"])}
    assert verdicts["Renewed"]["Verdict"].value == renewed.verdict
    assert verdicts["Renewed"]["Guardrail metric"].value is True
    assert verdicts["Renewed"]["Guardrail breached"].value is False


def test_strata_and_outcomes_cover_every_assigned_account(adequate):
    wb = _load(adequate)
    strata = _rows(wb["Strata"])
    assert sum(r["Total"].value for r in strata) == len(adequate.frame)
    assert sum(r["Control"].value for r in strata) == adequate.arm_counts()["control"]
    outcomes = wb["Outcomes"]
    headers = [c.value for c in outcomes[1]]
    assert headers[:3] == ["Account", "Arm", "Stratum"]
    assert {"Segment", "ARR", "Health score", "Assigned on", "Renewed", "Expansion ARR"} <= set(
        headers
    )
    rows = _rows(outcomes)
    assert len(rows) == len(adequate.frame)
    assert {r["Account"].value for r in rows} == set(adequate.frame["account_id"])
    assert {r["Renewed"].value for r in rows} == {0, 1}
    assert {r["Arm"].value for r in rows} == {"AI-handled", "CSM-handled", "Control"}
    got = {r["Account"].value: r["Renewed"].value for r in rows}
    expected = dict(zip(adequate.frame["account_id"], adequate.frame["renewed"], strict=True))
    assert got == {k: int(v) for k, v in expected.items()}


# --- the page ----------------------------------------------------------------------------


def test_the_page_is_self_contained_and_holds_the_verdicts(adequate):
    page = experiment_report_html(adequate)
    tags = _check_page(page)
    assert {"table", "h1", "h2"} <= tags.seen
    title = f"Experiment report: {adequate.workflow_name}"
    assert f"<title>{title}</title>" in page and f"<h1>{title}</h1>" in page
    assert adequate.analysis is not None
    for m in adequate.analysis.metrics:
        assert html.escape(m.verdict) in page
    assert 'class="alarm"' not in page and 'class="guard clear"' in page
    assert "Next step:" in page and "Power" in page and "Strata" in page


def test_an_empty_workspace_says_what_to_do_on_every_sheet_and_the_page(empty):
    assert empty.experiment is None and empty.next_step
    wb = _load(empty)
    assert wb.sheetnames == list(SHEETS)
    items = _items(wb["Experiment"])
    assert items["Next step"][0].value == empty.next_step
    assert "no experiment yet" in items["Experiment"][0].value
    for title in SHEETS[1:]:
        note = str(wb[title]["A2"].value)
        assert note.startswith("No ") and empty.next_step in note, title
    page = experiment_report_html(empty)
    _check_page(page)
    assert "has no experiment yet" in page and "Start shadow mode" in page


def test_a_planted_sample_ratio_mismatch_is_loud_in_both(srm):
    assert srm.analysis is not None
    renewed = srm.analysis.metric("renewed")
    assert renewed is not None and renewed.srm.failed
    items = _items(_load(srm)["Experiment"])
    warning = items["Split of Renewed outcomes (SRM)"][0].value
    assert warning.startswith("WARNING — SAMPLE RATIO MISMATCH")
    assert items["Next step"][0].value.startswith("Find out why the split")
    page = experiment_report_html(srm)
    _check_page(page)
    assert '<div class="alarm">WARNING — SAMPLE RATIO MISMATCH' in page
    assert "Do not trust this yet" in page
    # No green "clear" on a split that cannot be trusted.
    assert not srm.breaches
    assert items["Guardrails"][0].value.startswith("not trustworthy yet: the split of accounts")


def test_the_monthly_pack_leads_with_a_sample_ratio_mismatch(srm_root):
    con = connect(Workspace(srm_root))
    try:
        pack = build_pack(con, None, month_of(date.today()))
    finally:
        con.close()
    assert pack.next_steps[0].startswith("Sample ratio mismatch: the experiment's split")
    assert pack.guardrail_sentence.startswith("not trustworthy yet")


def test_a_breached_guardrail_is_flagged_for_pause_in_both(breach):
    assert breach.breaches and {b.baseline for b in breach.breaches} == {"control", "csm"}
    items = _items(_load(breach)["Experiment"])
    assert items["Guardrails"][0].value.startswith("Flagged for pause: Guardrail breached")
    assert len(items["Guardrail breach"]) == 2
    assert "AI-handled" in items["Guardrail breach"][0].value
    assert items["Next step"][0].value.startswith("Pause the workflow")
    verdicts = {r["Metric"].value: r for r in _rows(_load(breach)["Verdicts"])}
    assert verdicts["Renewed"]["Guardrail breached"].value is True
    page = experiment_report_html(breach)
    _check_page(page)
    assert '<div class="guard breach"><strong>Flagged for pause.</strong>' in page
    assert all(html.escape(b.sentence) in page for b in breach.breaches)


def test_the_next_step_does_not_ask_for_more_accounts_for_an_effect_already_found(adequate):
    assert adequate.analysis is not None
    renewed = adequate.analysis.metric("renewed")
    # +15 points is found (p < 0.001) although 5 points could not be detected reliably.
    assert renewed is not None and renewed.significant and renewed.underpowered
    step = next_step_words(adequate)
    for m in adequate.analysis.metrics:
        if m.significant:
            assert m.spec.label not in step, step


def test_the_experiment_starts_on_the_data_date_of_its_first_assignment(adequate):
    first = adequate.frame["assigned_on"].min()
    assert f"since {first:%Y-%m-%d}:" in adequate.sentence()


def test_after_a_pause_the_flag_says_who_paused_and_the_next_step_moves_on(breach_root, tmp_path):
    root = Path(shutil.copytree(breach_root, tmp_path / "ws"))
    con = connect(Workspace(root))
    try:
        wf = latest(con).workflow
        change_mode(con, wf, "paused", actor="Ana", reason="AI arm renews less often")
        report = evaluate(con, wf)
        pack = build_pack(con, None, month_of(date.today()))
    finally:
        con.close()
    assert report.halt is not None and report.halt.actor == "Ana"
    assert report.halt.words().startswith("paused by Ana on ")
    assert next_step_words(report).startswith("The workflow was paused by Ana on ")
    items = _items(_load(report)["Experiment"])
    assert "The workflow was paused by Ana on " in items["Guardrails"][0].value
    assert not any(s.startswith("Flagged for pause") for s in pack.next_steps)
    assert pack.next_steps[0].startswith("The workflow is paused")


def test_the_sheets_and_section_for_the_monthly_pack(adequate):
    wb = Workbook()
    experiment_sheets(wb, adequate, titles=PACK_SHEETS)
    assert wb.sheetnames[1:] == list(PACK_SHEETS)
    wb = Workbook()
    experiment_sheets(wb, None, titles=PACK_SHEETS, missing="No workflow saved yet.")
    assert str(wb["Exp comparisons"]["A2"].value) == "No comparisons: No workflow saved yet."
    section = experiment_section_html(adequate)
    assert section.startswith("<section><h2>Experiment</h2>") and "<h3>Verdicts</h3>" in section
    assert "No workflow" in experiment_section_html(None, missing="No workflow saved yet.")


def test_the_monthly_pack_of_a_breached_experiment_flags_it_for_pause(breach_root):
    con = connect(Workspace(breach_root))
    try:
        pack = build_pack(con, None, month_of(date.today()))
    finally:
        con.close()
    assert pack.flagged
    wb = load_workbook(BytesIO(monthly_pack_xlsx(pack)))
    summary = _items(wb["Summary"])
    assert summary["Guardrails"][0].value.startswith("Flagged for pause: Guardrail breached")
    assert summary["What to do next"][0].value.startswith("Flagged for pause")
    assert _items(wb["Experiment"])["Guardrails"][0].value.startswith("Flagged for pause")
    assert len(_items(wb["Experiment"])["Guardrail breach"]) == 2
    page = monthly_pack_html(pack)
    _check_page(page)
    steps = page[page.index("<h2>What to do next</h2>") :]
    assert steps.startswith("<h2>What to do next</h2><ol><li>Flagged for pause")
    assert '<div class="guard breach">' in page
