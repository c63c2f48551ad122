"""Review page flow: start shadow mode, run, approve, edit, reject, bulk-approve a filtered set;
a decision that pauses an autonomous workflow; the empty workspace."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from workbench.review.decide import draft_text
from workbench.review.stats import edit_distance
from workbench.storage.workspace import Workspace, connect


@pytest.fixture
def book(sample_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh copy of the sample workspace; no model configured (no secrets.toml here)."""
    run_dir = tmp_path / "cwd"
    run_dir.mkdir()
    monkeypatch.chdir(run_dir)
    root = tmp_path / "ws"
    shutil.copytree(sample_root, root)
    return root


def _ok(at: AppTest) -> None:
    assert not at.exception, at.exception


def _texts(elements) -> list[str]:
    return [e.value for e in elements]


def _has(elements, text: str) -> bool:
    return any(text in v for v in _texts(elements))


def _submit(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click().run()
    _ok(at)


def _queue(at: AppTest):
    return next(d.value for d in at.dataframe if (d.key or "").startswith("rv:table:"))


def _reviews(root: Path) -> dict[str, dict[str, object]]:
    con = connect(Workspace(root))
    try:
        frame = con.execute("SELECT * FROM wb.reviews").df()
        actions = con.execute("SELECT action_key, subject, body, route FROM wb.actions").df()
    finally:
        con.close()
    drafts = {r.action_key: r for r in actions.itertuples()}
    out = {}
    for row in frame.to_dict("records"):
        row["draft"] = drafts[row["action_key"]]
        out[str(row["action_key"])] = row
    return out


def test_shadow_run_then_approve_edit_reject_and_bulk(book, open_app):
    at = open_app(book, page="review.py", sample=True)
    assert _has(at.info, "mode: draft")
    assert at.button(key="rv:run").disabled  # runs are refused in draft mode
    assert _has(at.info, "**No runs yet.** Start shadow mode above")

    # Starting shadow mode needs a name and a reason.
    at.text_input(key="rv:start-reason").set_value("Two-week shadow period")
    _submit(at, "Start shadow mode")
    assert _has(at.error, "Say who is changing the mode.")
    at.text_input(key="rv:name").set_value("Dana")
    _submit(at, "Start shadow mode")
    assert _has(at.toast, "Dana moved the workflow from draft to shadow")
    assert _has(at.info, "mode: shadow") and not at.button(key="rv:run").disabled

    # Run now: the outcome in a sentence, the queue filled.
    at.button(key="rv:run").click().run()
    _ok(at)
    ran = next(s for s in _texts(at.success) if s.startswith("Run 1 (shadow, as of "))
    assert "to review." in ran
    waiting = next(m for m in _texts(at.markdown) if "waiting for review" in m)
    total = int(waiting.split("**")[1].split()[0])
    assert total > 20
    keys = list(_queue(at)["action_key"])
    assert len(keys) == total

    # A decision needs the reviewer's name (attribution, not a login).
    at.text_input(key="rv:name").set_value("").run()
    assert _has(at.warning, "Fill in your name at the top of the page to decide")
    at.button(key="rv:approve").click().run()
    _ok(at)
    assert _has(at.error, "Say who is reviewing.")
    at.text_input(key="rv:name").set_value("Dana").run()

    # Move through the queue: Next, Previous, or pick an action.
    assert at.selectbox(key="rv:current").value == keys[0]
    at.button(key="rv:skip").click().run()
    assert at.selectbox(key="rv:current").value == keys[1]
    at.button(key="rv:prev").click().run()
    assert at.selectbox(key="rv:current").value == keys[0]
    at.selectbox(key="rv:current").set_value(keys[5]).run()
    _ok(at)
    assert _has(at.caption, f"6 of {total} shown.")

    # Approve and next: the sixth action is approved, the seventh opens.
    keys = keys[5:]
    at.text_input(key=f"rv:approve-comment:{keys[0]}").set_value("fine")
    at.button(key="rv:approve").click().run()
    _ok(at)
    assert _has(at.success, "Recorded 1 decision (1 approved as-is).")
    assert at.selectbox(key="rv:current").value == keys[1]

    # Edit the second: preview the diff, then save; the stored diff and distance are shown.
    new_subject = "Renewal at risk: please call this week"
    at.text_area(key=f"rv:subject:{keys[1]}").set_value(new_subject)
    at.button(key="rv:edit-preview").click().run()
    _ok(at)
    preview = next(m for m in _texts(at.markdown) if m.startswith("Edit distance "))
    at.button(key="rv:edit-save").click().run()
    _ok(at)
    assert _has(at.success, "Recorded 1 decision (1 approved after edit).")
    stored = next(m for m in _texts(at.markdown) if m.startswith("Stored edit: edit distance"))
    assert any(f"+Subject: {new_subject}" in c.value for c in at.code)
    assert at.selectbox(key="rv:current").value == keys[2]

    # Reject the third: a reason is required.
    at.button(key="rv:reject").click().run()
    _ok(at)
    assert _has(at.error, "Choose a reason for the rejection")
    at.selectbox(key=f"rv:reason:{keys[2]}").set_value("tone")
    at.text_input(key=f"rv:reject-comment:{keys[2]}").set_value("too pushy")
    at.button(key="rv:reject").click().run()
    _ok(at)
    assert _has(at.success, "Recorded 1 decision (1 rejected).")
    assert at.selectbox(key="rv:current").value == keys[3]

    # Bulk: the automated route only; rejecting needs a reason; approving asks to confirm.
    at.multiselect(key="rv:f-route").select("automated").run()
    _ok(at)
    shown = _queue(at)
    assert set(shown["route"]) == {"automated"}
    assert _has(at.caption, f"Showing {len(shown)} of {total - 3} pending actions.")
    at.radio(key="rv:bulk-decision").set_value("rejected").run()
    at.button(key="rv:bulk-go").click().run()
    _ok(at)
    assert _has(at.error, "Choose a reason for the rejections.")
    at.radio(key="rv:bulk-decision").set_value("approved").run()
    at.button(key="rv:bulk-go").click().run()
    _ok(at)
    n = len(shown)
    assert _has(at.warning, f"Approve {n} actions as Dana?")
    assert _has(at.markdown, "waiting for review")  # nothing recorded before the confirmation
    at.button(key="rv:bulk-confirm").click().run()
    _ok(at)
    assert _has(at.success, f"Recorded {n} decisions ({n} approved as-is).")

    reviews = _reviews(book)
    assert len(reviews) == 3 + n
    first = reviews[keys[0]]
    assert (first["decision"], first["reviewer"], first["source"], first["comment"]) == (
        "approved",
        "Dana",
        "app",
        "fine",
    )
    edited = reviews[keys[1]]
    draft = edited["draft"]
    before = draft_text(draft.subject, draft.body)
    after = draft_text(new_subject, draft.body)
    assert edited["decision"] == "edited" and edited["edited_subject"] == new_subject
    assert edited["edit_distance"] == edit_distance(before, after)
    assert f"-Subject: {draft.subject}\n+Subject: {new_subject}" in edited["diff"]
    assert preview.startswith(f"Edit distance {edited['edit_distance']} characters")
    assert f"**{edited['edit_distance']}**" in stored
    rejected = reviews[keys[2]]
    assert (rejected["decision"], rejected["reason"], rejected["comment"]) == (
        "rejected",
        "tone",
        "too pushy",
    )
    bulk = [r for k, r in reviews.items() if k not in keys[:3]]
    assert len(bulk) == n
    assert {r["draft"].route for r in bulk} == {"automated"}
    assert {r["decision"] for r in bulk} == {"approved"}

    # The Approval & gate page sees the reviews.
    at.switch_page("app_pages/approval.py").run()
    _ok(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Reviewed (all routes)"] == str(3 + n)
    assert metrics["Rejected"] == "1" and metrics["Approved after edit"] == "1"


def test_all_caught_up_after_approving_everything(book, open_app):
    at = open_app(book, page="review.py", sample=True)
    at.text_input(key="rv:name").set_value("Dana")
    at.text_input(key="rv:start-reason").set_value("Shadow")
    _submit(at, "Start shadow mode")
    at.button(key="rv:run").click().run()
    # The queue as a workbook: its download is an export in the audit log.
    queue_file = next(d for d in at.download_button if d.key == "rs:download")
    queue_file.click().run()
    con = connect(Workspace(book))
    try:
        (export,) = con.execute("SELECT subject FROM wb.audit_log WHERE kind = 'export'").fetchall()
    finally:
        con.close()
    assert export[0].startswith("review queue of ") and ": review-queue-" in export[0]
    at.button(key="rv:bulk-go").click().run()
    at.button(key="rv:bulk-confirm").click().run()
    _ok(at)
    assert _has(at.success, "**All caught up.**")
    assert any(p.label == "Go to Approval & gate" for p in at.get("page_link"))
    # Running the same window again proposes nothing new.
    at.button(key="rv:run").click().run()
    _ok(at)
    assert _has(at.success, "Run 2 (shadow, as of ")
    assert _has(at.success, "0 new actions proposed")


@pytest.fixture
def autonomous_book(book: Path) -> Path:
    """The sample book in autonomous mode (gate overridden) where every automated action is
    sampled for review, after one run."""
    from workbench.review.control import change_mode
    from workbench.review.runs import run_workflow
    from workbench.workflow.facts import default_as_of
    from workbench.workflow.store import latest, save_version

    con = connect(Workspace(book))
    try:
        current = latest(con)
        assert current is not None
        wf = current.workflow
        watched = wf.autonomy.model_copy(update={"sample_pct": 100, "min_sampled_reviews": 5})
        saved = save_version(
            con, wf.model_copy(update={"autonomy": watched}), "Lee", "Sample everything"
        )
        wf = saved.workflow
        change_mode(con, wf, "shadow", actor="Lee", reason="shadow", version=saved.version)
        change_mode(
            con, wf, "autonomous", actor="Lee", reason="demo", version=saved.version, override=True
        )
        run_workflow(con, wf, saved.version, default_as_of(con), actor="Lee")
    finally:
        con.close()
    return book


def test_rejecting_sampled_actions_pauses_the_workflow_loudly(autonomous_book, open_app):
    at = open_app(autonomous_book, page="review.py", sample=True)
    assert _has(at.success, "mode: autonomous")
    at.text_input(key="rv:name").set_value("Dana")
    at.multiselect(key="rv:f-route").select("automated").run()
    at.radio(key="rv:bulk-decision").set_value("rejected")
    at.selectbox(key="rv:bulk-reason").set_value("wrong_account")
    at.button(key="rv:bulk-go").click().run()
    _ok(at)
    assert _has(at.warning, "Reason: wrong account")
    at.button(key="rv:bulk-confirm").click().run()
    _ok(at)
    paused = next(e for e in _texts(at.error) if "The workflow is now PAUSED" in e)
    assert "rejected" in paused
    assert _has(at.warning, "mode: paused")
    assert at.button(key="rv:run").disabled
    assert any(b.label == "Resume in shadow mode" for b in at.button)


def test_review_page_on_an_empty_workspace(tmp_path, open_app):
    at = open_app(tmp_path / "empty", page="review.py")
    assert _has(at.info, "There is no `accounts` table yet")
