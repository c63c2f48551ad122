"""Thresholds page flow on the sample book: sweep, slider, another condition, precision and
recall, the suggestion, applying a threshold as a new version, and a workflow that does not fit."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.storage.workspace import Workspace, connect
from workbench.workflow.edit import replace_condition
from workbench.workflow.model import Compare, iter_conditions
from workbench.workflow.store import latest, list_versions, save_version


@pytest.fixture(scope="module")
def sample_template(tmp_path_factory) -> Path:
    """The sample book loaded once; each test works on its own copy."""
    from workbench.ingest.sample import reset_to_sample

    ws = Workspace(tmp_path_factory.mktemp("thresholds") / "ws")
    con = connect(ws)
    reset_to_sample(con)
    con.close()
    return ws.root


@pytest.fixture
def sample_ws(sample_template, tmp_path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(sample_template, root)
    return root


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _charts(at: AppTest) -> list:
    return list(at.get("vega_lite_chart"))


def test_sweep_draws_charts_and_the_slider_moves_the_counts(sample_ws, open_app):
    at = open_app(sample_ws, page="thresholds.py", sample=True)
    assert at.title[0].value == "Thresholds"
    assert at.selectbox(key="thresholds:cid").value == "health_below"
    slider = at.slider(key="threshold_pick")
    assert slider.value == 60
    charts = _charts(at)
    assert len(charts) == 3  # accounts by route, ARR, precision/recall
    assert all('"strokeDash"' in c.proto.spec for c in charts)  # the current threshold
    before = _metrics(at)
    assert before["Accounts firing"] != "0"
    assert not any(m.proto.delta for m in at.metric)  # no change at the current threshold

    at.slider(key="threshold_pick").set_value(70.0).run()
    assert not at.exception, at.exception
    after = _metrics(at)
    assert int(after["Accounts firing"]) > int(before["Accounts firing"])
    assert after["ARR covered"] != before["ARR covered"]
    delta = next(m for m in at.metric if m.label == "Accounts firing").proto.delta
    assert delta == f"+{int(after['Accounts firing']) - int(before['Accounts firing'])}"
    assert any("health score below 70" in m.value for m in at.markdown)
    assert any('"threshold": 70.0' in c.proto.spec for c in _charts(at))


def test_another_condition_can_be_swept(sample_ws, open_app):
    at = open_app(sample_ws, page="thresholds.py", sample=True)
    box = at.selectbox(key="thresholds:cid")
    assert set(box.options) >= {
        "health score below 60",
        "renewal date within the next 90 days",
    }
    box.set_value("renews_soon").run()
    assert not at.exception, at.exception
    assert at.slider(key="threshold_pick").value == 90
    assert any("renewal date within the next 90 days" in m.value for m in at.markdown)
    at.slider(key="threshold_pick").set_value(30.0).run()
    assert not at.exception, at.exception
    assert any("renewal date within the next 30 days" in m.value for m in at.markdown)


def test_precision_and_recall_on_the_sample_book(sample_ws, open_app):
    at = open_app(sample_ws, page="thresholds.py", sample=True)
    metrics = _metrics(at)
    assert metrics["Precision at the picked threshold"].endswith("%")
    assert metrics["Recall at the picked threshold"].endswith("%")
    assert any(
        "Pooled over" in c.value and "monthly as-of dates" in c.value and "90 days" in c.value
        for c in at.caption
    )
    recall = int(metrics["Recall at the picked threshold"].rstrip("%"))
    at.slider(key="threshold_pick").set_value(90.0).run()
    assert int(_metrics(at)["Recall at the picked threshold"].rstrip("%")) > recall


def test_the_suggestion_moves_the_slider(sample_ws, open_app):
    at = open_app(sample_ws, page="thresholds.py", sample=True)
    (tip,) = [m.value for m in at.markdown if "loosest threshold" in m.value]
    suggested = re.search(r"“(health score below [\d.]+)”", tip)
    assert suggested, tip
    at.slider(key="threshold_pick").set_value(1.0).run()
    at.button(key="thresholds:use_suggestion").click().run()
    assert not at.exception, at.exception
    assert at.slider(key="threshold_pick").value != 1
    assert any(m.value.startswith(f"**{suggested.group(1)}**") for m in at.markdown)


def test_apply_saves_a_new_version(sample_ws, open_app):
    at = open_app(sample_ws, page="thresholds.py", sample=True)
    assert not at.get("form")  # nothing to apply at the current threshold
    at.slider(key="threshold_pick").set_value(55.0).run()
    assert any("“health score below 55”" in m.value for m in at.markdown)
    at.text_input(key="wf:author-input").input("Ada")
    at.text_input(key="thresholds:reason").input("Fewer false alarms")
    save = next(b for b in at.button if b.label == "Save new version")
    save.click().run()
    assert not at.exception, at.exception
    assert any("Tick the box" in w.value for w in at.warning)  # not confirmed: nothing saved

    at.checkbox(key="thresholds:confirm").check()
    next(b for b in at.button if b.label == "Save new version").click().run()
    assert not at.exception, at.exception
    assert any("Saved v2" in t.value for t in at.toast)
    assert any("v2" in c.value for c in at.caption)
    assert at.slider(key="threshold_pick").value == 55  # now the current threshold
    picker = at.selectbox(key="thresholds:cid")
    assert picker.value == "health_below"
    assert picker.proto.raw_value == "health score below 55"  # the new sentence is shown

    con = connect(Workspace(sample_ws))
    try:
        saved = latest(con)
        assert saved is not None and saved.version == 2
        assert (saved.author, saved.reason) == ("Ada", "Fewer false alarms")
        first = iter_conditions(saved.workflow.conditions)[0]
        assert (first.id, first.value) == ("health_below", 55)
        assert len(list_versions(con, saved.name)) == 2
    finally:
        con.close()


def test_a_condition_on_a_missing_column_shows_what_exists(sample_ws, open_app):
    con = connect(Workspace(sample_ws))
    current = latest(con)
    assert current is not None
    typo = Compare(id="health_below", op="lt", fact="helth_score", value=60)
    save_version(con, replace_condition(current.workflow, "health_below", typo), "t", "a typo")
    con.close()
    at = open_app(sample_ws, page="thresholds.py", sample=True)
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any(
        "'helth_score', which this workspace does not have" in e and "health_score" in e
        for e in errors
    ), errors
    assert not _charts(at)


def test_without_outcomes_precision_and_recall_ask_for_them(sample_ws, open_app):
    from workbench.storage.tables import drop_table

    con = connect(Workspace(sample_ws))
    drop_table(con, "outcomes")
    con.close()
    at = open_app(sample_ws, page="thresholds.py", sample=True)
    assert not at.exception, at.exception
    assert any("Import renewal outcomes" in i.value for i in at.info)
    assert len(_charts(at)) == 2  # accounts and ARR still drawn
    assert "Precision at the picked threshold" not in _metrics(at)
