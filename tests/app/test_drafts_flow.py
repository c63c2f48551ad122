"""Drafts page flow: draft the fired accounts offline, read totals, checks, packet and prompt, edit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No model configured: no .streamlit/secrets.toml [llm] (the tests' conftest already
    removes WORKBENCH_LLM_* variables)."""
    run_dir = tmp_path / "cwd"
    run_dir.mkdir()
    monkeypatch.chdir(run_dir)  # the secrets file is read relative to the working directory
    return tmp_path


@pytest.fixture
def drafts_page(offline, open_app):
    """drafts_page(workspace, sample=True) -> AppTest on the Drafts page after its first run."""

    def _open(workspace: Path, sample: bool = True) -> AppTest:
        return open_app(workspace, "drafts.py", sample=sample)

    return _open


def _markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _table(at: AppTest):
    return next(d.value for d in at.dataframe if "first_failing" in d.value.columns)


def _codes(at: AppTest) -> list[str]:
    return [c.value for c in at.code]


def _fired_on_preview(at: AppTest) -> int:
    at.switch_page("app_pages/preview.py").run()
    assert not at.exception, at.exception
    fired = int(_metrics(at)["Fires on"].replace(",", ""))
    at.switch_page("app_pages/drafts.py").run()
    assert not at.exception, at.exception
    return fired


def test_draft_the_sample_book_offline_then_inspect_and_edit(offline, drafts_page):
    at = drafts_page(offline / "ws")
    drafter = next(i.value for i in at.info if i.value.startswith("**Drafter:**"))
    assert "template drafter (no LLM configured)" in drafter
    assert "**Drafts are never sent**" in _markdown(at)
    assert any(i.value.startswith("**No drafts yet.**") for i in at.info)

    fired = _fired_on_preview(at)
    go = at.button(key="dr:go")
    assert go.label == f"Draft {fired} accounts"
    go.click().run()
    assert not at.exception, at.exception

    # Totals: every fired account drafted by the template drafter, no model calls.
    m = _metrics(at)
    assert m["Drafted"] == str(fired) and m["Template"] == str(fired)
    assert m["Requests"] == "0" and m["Tokens in"] == "0" and m["Latency p95"] == "–"
    assert any(t.value.startswith("Run 1: Drafted") for t in at.toast)
    assert f"#### Drafted {fired} of {fired} accounts" in _markdown(at)
    assert at.selectbox(key="dr:run:1").value == 1

    table = _table(at)
    assert len(table) == fired
    assert set(table["outcome"]) == {"template"}
    assert m["Held"] == str(int(table["held"].sum()))
    assert m["Needs a person"] == str(int(table["needs_human"].sum()))
    assert [d.label for d in at.download_button] == [
        ":material/download: CSV",
        ":material/download: XLSX",
    ]

    # The first account: its packet beside the prompt, the draft beside its checks.
    account = at.selectbox(key="dr:account:1")
    first_id, first_name = table["account_id"].iloc[0], table["account_name"].iloc[0]
    assert account.value == first_id
    codes = _codes(at)
    packet = next(c for c in codes if c.startswith("ACCOUNT "))
    assert packet.startswith(f"ACCOUNT {first_name} ({first_id})") and "WHY IT FIRED" in packet
    prompt = next(c for c in codes if c.startswith("[system]"))
    assert packet in prompt
    assert "##### Prompt: would be sent" in _markdown(at)
    assert any("The template drafter sends nothing" in c.value for c in at.caption)
    checks = next(x.value for x in at.markdown if "**Names the account**" in x.value)
    assert checks.count(":material/check_circle: pass") == 8

    assert at.success[0].value == "Every output policy check passes."

    # Edit the first account: without a name the edit is refused.
    original_body = next(c for c in _codes(at) if c.startswith("Hi "))
    subject = next(w for w in at.text_area if w.label == "Subject")
    body = next(w for w in at.text_area if w.label == "Body")
    subject.set_value(f"Renewal risk: {first_name}")
    body.set_value(f"{first_name} renews soon. We could offer a 20% discount to keep them.")
    at.button(key="dr:save").click().run()
    assert not at.exception, at.exception
    assert any("Write your name before saving an edit" in e.value for e in at.error)

    next(w for w in at.text_input if w.label == "Your name").set_value("Dana")
    at.button(key="dr:save").click().run()
    assert not at.exception, at.exception
    assert any(t.value.startswith(f"Saved your edit of {first_name}") for t in at.toast)
    md = _markdown(at)
    assert "##### Draft (edited)" in md and "##### Checks (on the edited text)" in md
    assert f"**Subject:** Renewal risk: {first_name}" in md
    assert any(c.value.startswith("Edited by Dana on ") for c in at.caption)
    # The original stays beside the edit; the re-run checks hold the discount offer.
    assert "##### Original" in md and original_body in _codes(at)
    banner = at.error[0].value
    assert banner.startswith("**Held for a person.**") and "20% discount" in banner
    assert ":red[:material/cancel: fail] **Offers no discount or credit**" in _markdown(at)
    assert _metrics(at)["Edited"] == "1"
    table = _table(at)
    assert table.loc[table["account_id"] == first_id, "edited"].item()
    assert table.loc[table["account_id"] == first_id, "held"].item()
    assert "discount" in table.loc[table["account_id"] == first_id, "first_failing"].item()
    assert _metrics(at)["Held"] == str(int(table["held"].sum()))

    # A second run becomes the one shown; the first stays in the picker.
    at.button(key="dr:go").click().run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="dr:run:2")
    assert picker.value == 2 and picker.options[1].startswith("Run 1 · ")
    assert _metrics(at)["Edited"] == "0"
    picker.set_value(1).run()
    assert not at.exception, at.exception
    assert _metrics(at)["Edited"] == "1"


def test_chosen_accounts_only(offline, drafts_page):
    at = drafts_page(offline / "ws")
    at.radio(key="dr:which").set_value("chosen").run()
    assert at.button(key="dr:go").disabled
    options = at.multiselect(key="dr:chosen").options
    at.multiselect(key="dr:chosen").select(options[0]).select(options[2]).run()
    go = at.button(key="dr:go")
    assert go.label == "Draft 2 accounts"
    go.click().run()
    assert not at.exception, at.exception
    assert _metrics(at)["Drafted"] == "2"
    assert len(_table(at)) == 2


def test_a_stopped_run_keeps_its_drafts_and_says_it_stopped(offline, drafts_page):
    from workbench.drafting.run import draft_workflow
    from workbench.drafting.settings import LLMSettings
    from workbench.ingest.sample import reset_to_sample
    from workbench.storage.workspace import Workspace, connect
    from workbench.workflow.facts import default_as_of
    from workbench.workflow.loader import default_workflow_text, parse_workflow
    from workbench.workflow.preview import preview

    class Stopped(BaseException):
        """What Streamlit raises in the progress update when Stop is clicked."""

    def stop_after_four(result, done, total):
        if done == 4:
            raise Stopped

    ws = Workspace(offline / "ws")
    con = connect(ws)
    reset_to_sample(con)
    wf = parse_workflow(default_workflow_text())
    pv = preview(con, wf, default_as_of(con))
    with pytest.raises(Stopped):
        draft_workflow(con, wf, pv, LLMSettings(), workflow_version=1, on_result=stop_after_four)
    con.close()

    at = drafts_page(ws.root)
    warning = at.warning[0].value
    assert re.match(
        rf"Run 1 was stopped before it finished: 4 of {len(pv.fired)} accounts", warning
    )
    assert _metrics(at)["Drafted"] == "4" and len(_table(at)) == 4
    assert at.selectbox(key="dr:run:1").options[0].endswith("stopped early")


def test_a_workflow_that_fires_on_nothing_points_to_thresholds_and_preview(offline, drafts_page):
    at = drafts_page(offline / "ws")
    at.switch_page("app_pages/workflow.py").run()
    editor = next(w for w in at.text_area if w.label == "Workflow YAML")
    editor.set_value(editor.value.replace("value: 60", "value: 0"))
    next(w for w in at.text_input if w.label == "Your name").set_value("Dana")
    next(w for w in at.text_input if w.label == "Reason for this change").set_value("Nothing")
    at.button(key="wf:save").click().run()
    assert not at.exception, at.exception

    at.switch_page("app_pages/drafts.py").run()
    assert not at.exception, at.exception
    assert any("fires on no account" in i.value and "Thresholds" in i.value for i in at.info)
    assert not [b for b in at.button if b.key == "dr:go"]


def test_an_empty_workspace_points_to_data(offline, drafts_page):
    at = drafts_page(offline / "ws", sample=False)
    assert any("no `accounts` table yet" in i.value for i in at.info)


def test_a_broken_secrets_file_is_explained(offline, drafts_page):
    secrets = Path(".streamlit")
    secrets.mkdir()
    (secrets / "secrets.toml").write_text("[llm]\nmodel = \n")
    at = drafts_page(offline / "ws")
    assert at.error and "secrets.toml" in at.error[0].value
    assert not [b for b in at.button if b.key == "dr:go"]


def test_a_run_whose_model_is_down_says_the_template_drafter_stood_in(offline, drafts_page):
    import socket

    from workbench.drafting.settings import LLMSettings

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    at = drafts_page(offline / "ws")
    at.session_state["llm:settings"] = LLMSettings(
        model="openai/fake", api_base=f"http://127.0.0.1:{port}/v1", max_attempts=1
    )
    at.run()
    fired = _fired_on_preview(at)
    at.button(key="dr:go").click().run()
    assert not at.exception, at.exception
    m = _metrics(at)
    assert m["Drafted"] == str(fired) and m["Fallback"] == str(fired)
    warning = next(w.value for w in at.warning if "template drafter" in w.value)
    assert warning.startswith(f"**{fired} of {fired} drafts were written by the template drafter")
    assert "circuit breaker opened once" in warning
    assert set(_table(at)["outcome"]) == {"fallback"}
