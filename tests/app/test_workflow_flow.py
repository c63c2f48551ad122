"""Workflow page flow: read the workflow in words, edit the YAML, save, compare and restore."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _widget(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def _editor(at: AppTest):
    return _widget(at.text_area, "Workflow YAML")


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _save(at: AppTest, text: str, reason: str, author: str = "Dana") -> AppTest:
    _editor(at).set_value(text)
    _widget(at.text_input, "Your name").set_value(author)
    _widget(at.text_input, "Reason for this change").set_value(reason)
    at.button(key="wf:save").click().run()
    assert not at.exception, at.exception
    return at


def test_page_shows_the_workflow_in_words(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "workflow.py", sample=True)
    assert at.subheader[0].value == "Senior CSM for at-risk renewals · v1"
    assert any("by **sample**" in c.value for c in at.caption)
    words = _markdown(at)
    assert "Runs after each data refresh" in words
    assert "segment is one of SMB, Mid-Market, Enterprise" in words
    assert "health score below 60" in words
    assert "renewal date within the next 90 days" in words
    # Escalation rules in order, with their routes and conditions.
    assert words.index("**High ARR**") < words.index("**Enterprise tier**")
    assert "ARR at least 250,000" in words
    assert "**Open P1 ticket** → :orange[**manager**]" in words
    assert "Assign a CSM, taking turns among Daniel Kim, Olivia Grant, Jonas Weber" in words
    assert "At most 8 tasks per CSM per week." in words
    assert "left out and the other inputs' weights are scaled up" in words
    health = next(d.value for d in at.dataframe if "how it is scored" in d.value.columns)
    assert list(health["fact"])[0] == "active_users_change_pct"
    assert "linear: -40 or worse scores 0, 5 or better scores 100" in set(
        health["how it is scored"]
    )
    assert health["weight"].sum() == 100
    # The facts list helps writing conditions.
    facts = next(d.value for d in at.dataframe if "description" in d.value.columns)
    assert "days_since_touch" in set(facts["fact"])


def test_editing_the_threshold_saves_v2_and_the_diff_shows_it(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "workflow.py", sample=True)
    text = _editor(at).value
    assert "value: 60" in text
    # Validate first: it names the change against v1.
    _editor(at).set_value(text.replace("value: 60", "value: 55"))
    at.button(key="wf:validate").click().run()
    assert any("Valid: every field fits" in s.value for s in at.success)
    assert "conditions.all[0] (health_below).value: 60 → 55" in _markdown(at)

    # A save without a reason is refused and saves nothing.
    _widget(at.text_input, "Your name").set_value("Dana")
    at.button(key="wf:save").click().run()
    assert any("needs a reason" in e.value for e in at.error)
    assert at.subheader[0].value.endswith("· v1")

    _save(at, text.replace("value: 60", "value: 55"), "Threshold 55 after the Q3 review")
    assert at.subheader[0].value == "Senior CSM for at-risk renewals · v2"
    assert any(t.value == "Saved Senior CSM for at-risk renewals v2" for t in at.toast)
    assert any("by **Dana**" in c.value for c in at.caption)
    # The editor now shows the new version, and the author is remembered.
    assert "value: 55" in _editor(at).value
    assert _widget(at.text_input, "Your name").value == "Dana"
    assert _widget(at.text_input, "Reason for this change").value == ""
    # The history lists both versions, newest first, with who and why.
    history = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert list(history["version"]) == ["v2", "v1"]
    assert list(history["author"]) == ["Dana", "sample"]
    assert history["reason"].iloc[0] == "Threshold 55 after the Q3 review"
    # Comparing v1 with v2 (the default pair) names the change; the diff is line by line.
    assert "`conditions.all[0] (health_below).value: 60 → 55`" in _markdown(at)
    diff = next(c.value for c in at.code if c.language == "diff")
    assert "-      value: 60" in diff and "+      value: 55" in diff

    # Saving the same content again is "No change", not a v3.
    _save(at, _editor(at).value, "again")
    assert at.subheader[0].value.endswith("· v2")
    assert any(t.value.startswith("No change") for t in at.toast)


def test_bad_yaml_shows_the_line_and_saves_nothing(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "workflow.py", sample=True)
    text = _editor(at).value.replace("  type: on_refresh", "  type: on_refresh\n bad: [1")
    _save(at, text, "broken on purpose")
    error = at.error[0].value
    assert "is not valid YAML" in error and "line 8, column 2" in error
    assert any("bad: [1" in c.value for c in at.code)  # the line itself, with a caret
    assert any("Nothing was saved" in c.value for c in at.caption)
    assert at.subheader[0].value.endswith("· v1")


def test_every_shape_problem_is_listed(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "workflow.py", sample=True)
    text = _editor(at).value.replace("weight: 30", "weight: 35").replace("op: lt", "op: less")
    _editor(at).set_value(text)
    at.button(key="wf:validate").click().run()
    error = at.error[0].value
    assert "- `health.inputs`: weights sum to 105; they must sum to 100" in error
    assert "- `conditions.all[0].op`: unknown op 'less'" in error


def test_a_condition_on_a_missing_column_lists_the_facts_that_exist(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "workflow.py", sample=True)
    text = _editor(at).value.replace("fact: arr, op: ge", "fact: no_such_column, op: ge")
    assert "no_such_column" in text
    _editor(at).set_value(text)
    at.button(key="wf:validate").click().run()
    assert not at.exception, at.exception
    error = at.error[0].value
    assert "'no_such_column', which this workspace does not have" in error
    assert "Use one of the facts:" in error and "days_since_touch" in error and "nps_score" in error
    # Saving it is refused too.
    _save(at, text, "try it anyway")
    assert at.subheader[0].value.endswith("· v1")


def test_restore_needs_confirmation_and_saves_a_new_version(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "workflow.py", sample=True)
    _save(at, _editor(at).value.replace("value: 60", "value: 55"), "Threshold 55")
    restore = at.button(key="wf:restore:2")
    assert restore.label == "Restore v1" and restore.disabled
    _widget(at.text_input, "Reason for restoring").set_value("55 sent too many accounts")
    at.checkbox(key="wf:restore-sure:2").check().run()
    at.button(key="wf:restore:2").click().run()
    assert not at.exception, at.exception
    assert at.subheader[0].value.endswith("· v3")
    assert any(t.value == "Restored v1 as Senior CSM for at-risk renewals v3" for t in at.toast)
    assert "value: 60" in _editor(at).value
    history = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert list(history["version"]) == ["v3", "v2", "v1"]
    assert history["reason"].iloc[0] == "55 sent too many accounts"
    # The confirmation is for one restore only.
    assert not at.checkbox(key="wf:restore-sure:3").value


def test_empty_workspace_offers_the_playbook_example(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "workflow.py")
    assert any("No workflow yet" in i.value for i in at.info)
    at.button(key="wf:install-default").click().run()
    assert not at.exception, at.exception
    assert at.subheader[0].value == "Senior CSM for at-risk renewals · v1"
    # Without accounts the words wait for data, but the editor works.
    assert any("no accounts table yet" in i.value for i in at.info)
    assert "health_score" in _editor(at).value
