"""Workflow versions: numbering, no-op saves, atomicity, restore, diffs, default install."""

from __future__ import annotations

import json

import pytest

from workbench.errors import NotFound, WorkbenchError, WorkflowInvalid
from workbench.ingest.sample import reset_to_sample
from workbench.workflow import store
from workbench.workflow.loader import default_workflow_text, dump_workflow, parse_workflow
from workbench.workflow.store import (
    change_summary,
    diff_versions,
    get_version,
    install_default,
    latest,
    list_versions,
    restore_version,
    save_version,
    workflow_names,
)

DEFAULT = default_workflow_text()
NAME = "Senior CSM for at-risk renewals"


def _edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


def _count(con) -> int:
    return con.execute("SELECT count(*) FROM wb.workflow_versions").fetchall()[0][0]


def test_versions_increment_and_identical_content_is_a_no_op(con):
    v1 = save_version(con, DEFAULT, "alice", "first")
    assert (v1.name, v1.version, v1.author, v1.reason) == (NAME, 1, "alice", "first")
    # Same content, other comments and layout: no new version, the latest comes back.
    again = save_version(con, "# tweaked comment only\n" + DEFAULT, "bob", "again")
    assert again == v1
    v2 = save_version(con, _edit(DEFAULT, "value: 60}", "value: 55}"), "bob", "lower")
    assert v2.version == 2 and v2.sha256 != v1.sha256
    v3 = save_version(con, v1.workflow, "carol", "back to 60")
    assert v3.version == 3 and v3.sha256 == v1.sha256
    assert [v.version for v in list_versions(con, NAME)] == [3, 2, 1]
    assert _count(con) == 3


def test_text_is_stored_as_written_and_models_as_normalised_yaml(con):
    text = "# why: the playbook's example\n" + DEFAULT
    v1 = save_version(con, text, "alice", "first")
    assert get_version(con, NAME, 1).yaml == text
    wf = parse_workflow(_edit(DEFAULT, "cooldown_days: 30", "cooldown_days: 45"))
    v2 = save_version(con, wf, "alice", "longer cooldown")
    assert v2.yaml == dump_workflow(wf) and v2.workflow == wf
    assert v1.workflow == parse_workflow(DEFAULT)


@pytest.mark.parametrize(
    ("author", "reason", "words"),
    [
        ("", "why", "needs an author"),
        ("  ", "why", "needs an author"),
        ("me", " ", "needs a reason"),
    ],
)
def test_author_and_reason_required(con, author, reason, words):
    with pytest.raises(WorkbenchError, match=words) as info:
        save_version(con, DEFAULT, author, reason)
    assert info.value.hint
    assert _count(con) == 0


def test_invalid_text_saves_nothing(con):
    with pytest.raises(WorkflowInvalid, match="mine.yaml"):
        save_version(con, "name: [", "alice", "broken", source="mine.yaml")
    assert _count(con) == 0


def test_failure_after_insert_leaves_no_row(con, monkeypatch):
    save_version(con, DEFAULT, "alice", "first")

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "_fetch", boom)
    with pytest.raises(RuntimeError, match="disk on fire"):
        save_version(con, _edit(DEFAULT, "value: 60}", "value: 55}"), "bob", "lower")
    monkeypatch.undo()
    assert _count(con) == 1
    # The connection is usable again (the transaction was rolled back, not left open).
    assert (
        save_version(con, _edit(DEFAULT, "value: 60}", "value: 55}"), "bob", "lower").version == 2
    )


def test_restore_saves_old_content_as_a_new_version(con):
    save_version(con, DEFAULT, "alice", "first")
    save_version(con, _edit(DEFAULT, "value: 60}", "value: 55}"), "bob", "lower")
    v3 = restore_version(con, NAME, 1, "carol", "55 fired too often")
    assert (v3.version, v3.author, v3.reason) == (3, "carol", "55 fired too often")
    assert v3.yaml == DEFAULT and v3.sha256 == get_version(con, NAME, 1).sha256
    assert [v.version for v in list_versions(con, NAME)] == [3, 2, 1]
    # Restoring the content the latest already has changes nothing.
    assert restore_version(con, NAME, 1, "carol", "again").version == 3


def test_latest_list_and_names_across_workflows(con):
    assert latest(con) is None and list_versions(con) == [] and workflow_names(con) == []
    save_version(con, DEFAULT, "alice", "first")
    other = save_version(con, _edit(DEFAULT, f"name: {NAME}", "name: Churn watch"), "bob", "new")
    assert other.version == 1
    assert latest(con) == other
    assert latest(con, NAME).version == 1
    assert [(v.name, v.version) for v in list_versions(con)] == [("Churn watch", 1), (NAME, 1)]
    assert workflow_names(con) == ["Churn watch", NAME]


def test_get_version_not_found_hints(con):
    save_version(con, DEFAULT, "alice", "first")
    save_version(con, _edit(DEFAULT, "value: 60}", "value: 55}"), "bob", "lower")
    with pytest.raises(NotFound, match="has no version 7") as info:
        get_version(con, NAME, 7)
    assert info.value.hint == "Versions: v1, v2."
    with pytest.raises(NotFound, match="No workflow named 'Nope'") as info:
        get_version(con, "Nope", 1)
    assert NAME in info.value.hint


def test_diff_versions_headers_and_body(con):
    v1 = save_version(con, DEFAULT, "alice", "first")
    v2 = save_version(con, _edit(DEFAULT, "value: 60}", "value: 55}  # lower"), "bob", "lower")
    diff = diff_versions(v1, v2)
    lines = diff.splitlines()
    assert lines[0] == f"--- v1 ({v1.saved_at:%Y-%m-%d %H:%M}, alice: first)"
    assert lines[1] == f"+++ v2 ({v2.saved_at:%Y-%m-%d %H:%M}, bob: lower)"
    assert "-      value: 60" in lines and "+      value: 55" in lines
    assert "# lower" not in diff  # the normalised YAML: comments are not content
    assert diff_versions(v1, v1) == ""


ESCALATION_P1 = """  - name: Open P1 ticket
    route: manager
    when: {op: count, source: open_tickets, priority: [P1], at_least: 1}
"""


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        ([("value: 60}", "value: 55}")], ["conditions.all[0] (health_below).value: 60 → 55"]),
        (
            [("max_actions_per_run: 50", "max_actions_per_run: 40")],
            ["guardrails.max_actions_per_run: 50 → 40"],
        ),
        ([(ESCALATION_P1, "")], ["escalation[2] removed (Open P1 ticket)"]),
        (
            [("csms: [Daniel Kim, Olivia Grant, Jonas Weber]", "csms: [Daniel Kim, Jonas Weber]")],
            ["action.csms: [Daniel Kim, Olivia Grant, Jonas Weber] → [Daniel Kim, Jonas Weber]"],
        ),
        (
            [("  type: on_refresh", "  type: schedule\n  schedule: 0 7 * * MON")],
            ["trigger.type: on_refresh → schedule", "trigger.schedule added: 0 7 * * MON"],
        ),
        (
            [
                (
                    "{id: health_below, fact: health_score, op: lt, value: 60}",
                    "{id: health_below, fact: health_score, op: le, value: 50}",
                ),
                ("cooldown_days: 30", "cooldown_days: 45"),
            ],
            [
                "conditions.all[0] (health_below).op: lt → le",
                "conditions.all[0] (health_below).value: 60 → 50",
                "guardrails.cooldown_days: 30 → 45",
            ],
        ),
        ([], []),
    ],
)
def test_change_summary(edits, expected):
    new = DEFAULT
    for old, replacement in edits:
        new = _edit(new, old, replacement)
    assert change_summary(parse_workflow(DEFAULT), parse_workflow(new)) == expected


def test_change_summary_added_item_uses_the_new_index():
    old = _edit(DEFAULT, ESCALATION_P1, "")
    assert change_summary(parse_workflow(old), parse_workflow(DEFAULT)) == [
        "escalation[2] added (Open P1 ticket)"
    ]


def test_workspace_mirror_files(con, ws):
    v1 = save_version(con, DEFAULT, "alice", "first", ws)
    folder = ws.root / "workflows" / "senior-csm-for-at-risk-renewals"
    assert (folder / "v0001.yaml").read_text("utf-8") == DEFAULT
    changed = _edit(DEFAULT, "value: 60}", "value: 55}  # after the Q3 review")
    save_version(con, changed, "bob", "lower", ws)
    assert (folder / "v0002.yaml").read_text("utf-8") == changed
    assert (folder / "current.yaml").read_text("utf-8") == changed
    # A no-op writes nothing; a restore writes the next version.
    save_version(con, changed, "bob", "again", ws)
    restore_version(con, NAME, v1.version, "carol", "back", ws)
    assert sorted(p.name for p in folder.iterdir()) == [
        "current.yaml",
        "v0001.yaml",
        "v0002.yaml",
        "v0003.yaml",
    ]
    assert (folder / "current.yaml").read_text("utf-8") == DEFAULT


def test_install_default_only_once(con):
    v1 = install_default(con)
    assert v1 is not None
    assert (v1.version, v1.author) == (1, "sample")
    assert v1.reason == "Playbook example: health below 60 and renewal within 90 days"
    assert install_default(con) is None
    assert _count(con) == 1


@pytest.fixture
def tiny_sample(tmp_path):
    folder = tmp_path / "sample"
    folder.mkdir()
    (folder / "accounts.csv").write_text("Account ID,Account Name\nA1,Acme\nA2,Globex\n", "utf-8")
    entries = [{"file": "accounts.csv", "kind": "accounts", "sheet": None}]
    (folder / "manifest.json").write_text(json.dumps(entries), "utf-8")
    return folder


def test_reset_to_sample_installs_v1_and_keeps_versions(con, tiny_sample):
    assert reset_to_sample(con, tiny_sample) == {"accounts": 2}
    assert [(v.version, v.author) for v in list_versions(con)] == [(1, "sample")]
    save_version(con, _edit(DEFAULT, "value: 60}", "value: 55}"), "alice", "lower")
    reset_to_sample(con, tiny_sample)
    assert [v.version for v in list_versions(con, NAME)] == [2, 1]


def test_reset_installs_inside_its_transaction(con, tiny_sample, monkeypatch):
    import workbench.ingest.sample as sample

    def install_then_fail(con, **kwargs):
        assert install_default(con, **kwargs) is not None
        raise RuntimeError("stopped after the install")

    monkeypatch.setattr(sample, "install_default", install_then_fail)
    with pytest.raises(RuntimeError, match="stopped"):
        reset_to_sample(con, tiny_sample)
    assert _count(con) == 0
