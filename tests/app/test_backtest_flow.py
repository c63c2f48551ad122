"""Backtest page flow: run it on the sample book, come back to it, and the empty states."""

from __future__ import annotations

import re

from workbench.storage.workspace import Workspace, connect
from workbench.workflow.store import install_default


def test_run_backtest_on_the_sample_book(tmp_path, open_app):
    at = open_app(tmp_path / "ws", page="backtest.py", sample=True)
    assert at.title[0].value == "Backtest"
    assert not at.metric  # nothing runs until asked
    run = next(b for b in at.button if b.label == "Run backtest")
    run.click().run()
    assert not at.exception, at.exception
    assert any(re.match(r"Over \d+ monthly runs the workflow", m.value) for m in at.markdown)
    metrics = {m.label: m.value for m in at.metric}
    assert set(metrics) == {
        "Recall",
        "Precision",
        "Median lead time",
        "Actions per week",
        "Health score AUC",
    }
    assert metrics["Recall"].endswith("%") and metrics["Median lead time"].endswith("days")
    assert 0.5 < float(metrics["Health score AUC"]) <= 1
    recall = next(m for m in at.metric if m.label == "Recall")
    assert "× random (" in recall.proto.delta
    assert len(at.get("vega_lite_chart")) == 3
    assert len(at.dataframe) == 3
    (download,) = at.get("download_button")
    assert download.proto.label == "Download the backtest (XLSX)"

    # Another page and back: the result is shown again without clicking Run.
    at.switch_page("app_pages/thresholds.py").run()
    at.switch_page("app_pages/backtest.py").run()
    assert not at.exception, at.exception
    assert {m.label for m in at.metric} == set(metrics)

    # Weekly runs: a new result.
    at.radio(key="backtest:every").set_value("week")
    next(b for b in at.button if b.label == "Run backtest").click().run()
    assert not at.exception, at.exception
    assert any("weekly runs" in m.value for m in at.markdown)


def test_without_outcomes_the_page_says_what_to_import(accounts_workspace, open_app):
    con = connect(Workspace(accounts_workspace))
    install_default(con)
    con.close()
    at = open_app(accounts_workspace, page="backtest.py")
    assert not at.exception, at.exception
    info = " ".join(i.value for i in at.info)
    assert "No renewal outcomes yet" in info
    assert "account id" in info and "renewal date" in info and "outcome" in info
    assert any(link.proto.label == "Go to Data" for link in at.get("page_link"))
    assert not at.button  # no Run button without outcomes


def test_without_a_workflow_the_page_offers_the_example(tmp_path, open_app):
    at = open_app(tmp_path / "empty", page="backtest.py")
    assert not at.exception, at.exception
    assert any("No workflow yet" in i.value for i in at.info)
