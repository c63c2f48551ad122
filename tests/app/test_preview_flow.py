"""Preview page flow: headline, firing table, why an account scores what it does, changes."""

from __future__ import annotations

import re
from datetime import date

from streamlit.testing.v1 import AppTest


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def _frame(at: AppTest, column: str):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_preview_shows_headline_table_breakdown_and_near_misses(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "preview.py", sample=True)
    headline = next(m.value for m in at.markdown if "the workflow fires on" in m.value)
    found = re.search(r"fires on ([\d,]+) of ([\d,]+) accounts in scope", headline)
    assert found, headline
    fired = int(found.group(1).replace(",", ""))
    assert 0 < fired < int(found.group(2).replace(",", ""))
    assert at.metric[0].label == "Fires on" and at.metric[0].value == f"{fired:,}"
    assert "**Actions per run**" in _markdown(at)

    table = _frame(at, "reasons")
    assert len(table) == fired
    assert set(table["route"]) <= {"automated", "human", "manager"}
    assert table["reasons"].str.contains("health score below 60").all()

    # The first account (lowest health) is explained; picking another explains that one.
    account = at.selectbox(key="pv:account")
    assert account.value == table["account_id"].iloc[0]
    name = table["account_name"].iloc[0]
    assert any(m.value.startswith(f"##### Why is {name} ") for m in at.markdown)
    breakdown = _frame(at, "points")
    score = table["health_score"].iloc[0]
    assert abs(breakdown["points"].sum() - score) < 0.5
    assert "- health score below 60:" in _markdown(at)

    second = table["account_id"].iloc[1]
    account.set_value(second).run()
    assert not at.exception, at.exception
    assert any(
        m.value.startswith(f"##### Why is {table['account_name'].iloc[1]} ") for m in at.markdown
    )

    near = _frame(at, "missed by")
    assert len(near) > 0
    assert near["reason"].str.contains(", but ").all()
    assert "within 6" in _captions(at)  # the margin of "health score below 60"

    # Reruns are served from the cache: nothing changes on a second run.
    at.run()
    assert len(_frame(at, "reasons")) == fired


def test_an_earlier_date_previews_on_older_data(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "preview.py", sample=True)
    at.date_input[0].set_value(date(2026, 9, 1)).run()
    assert not at.exception, at.exception
    assert any(m.value.startswith("#### As of 2026-09-01") for m in at.markdown)
    assert "Earlier date" in _captions(at)
    assert "Shown for the latest date" in _captions(at)


def test_after_saving_v2_the_preview_compares_with_the_previous_version(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "preview.py", sample=True)
    assert "This is v1, the first version" in _captions(at)
    assert "No preview on earlier data yet" in _captions(at)

    at.switch_page("app_pages/workflow.py").run()
    editor = next(w for w in at.text_area if w.label == "Workflow YAML")
    editor.set_value(editor.value.replace("value: 60", "value: 55"))
    next(w for w in at.text_input if w.label == "Your name").set_value("Dana")
    next(w for w in at.text_input if w.label == "Reason for this change").set_value("Lower")
    at.button(key="wf:save").click().run()
    assert not at.exception, at.exception

    at.switch_page("app_pages/preview.py").run()
    assert not at.exception, at.exception
    line = next(
        m.value for m in at.markdown if "compared with the previous version (v1)" in m.value
    )
    # A lower threshold only removes accounts.
    assert re.match(r"\+0 accounts, -\d+ compared", line), line
    assert any(e.label.startswith("Removed (") for e in at.expander)


def test_after_a_data_refresh_the_preview_compares_with_the_previous_data(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "preview.py", sample=True)
    assert "No preview on earlier data yet" in _captions(at)
    # Refresh the data: reload the sample book (a new data version with the same accounts).
    at.switch_page("app_pages/data.py").run()
    at.checkbox(key="reset:sure").check().run()
    at.button(key="reset:go").click().run()
    assert not at.exception, at.exception

    at.switch_page("app_pages/preview.py").run()
    assert not at.exception, at.exception
    line = next(m.value for m in at.markdown if "the previous data (previewed" in m.value)
    assert line.startswith("Same accounts as the previous data"), line


def test_empty_workspace_says_to_import_first(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "preview.py")
    assert any("no `accounts` table yet" in i.value for i in at.info)


def test_accounts_without_a_workflow_offer_the_example_then_explain_what_is_missing(
    accounts_workspace, open_app
):
    at = open_app(accounts_workspace, "preview.py")
    assert any("No workflow yet" in i.value for i in at.info)
    at.button(key="wf:install-default").click().run()
    assert not at.exception, at.exception
    # The example's health score needs usage, tickets, surveys and activity facts.
    error = at.error[0].value
    assert "does not exist in this workspace" in error
    assert "Use one of the number facts: arr" in error
