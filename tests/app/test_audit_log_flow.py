"""The Audit log page: empty, intact on the sample workspace, filtered, exported, tampered."""

from __future__ import annotations

import hashlib
import json

from workbench import audit
from workbench.storage.workspace import Workspace, connect
from workbench.ui.audit_view import EMPTY


def _texts(elements) -> str:
    return "\n".join(e.value for e in elements)


def test_an_empty_workspace_says_what_will_appear(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "audit_log.py")
    assert not at.exception, at.exception
    assert EMPTY in _texts(at.info)
    assert "chain intact" in _texts(at.success)
    assert not at.dataframe


def test_sample_workspace_filter_export_and_tampering(tmp_path, open_app):
    root = tmp_path / "ws"
    at = open_app(root, "audit_log.py", sample=True)
    assert not at.exception, at.exception
    # The first start loaded the sample: the reset, one import per file, the example workflow.
    status = _texts(at.success)
    assert "8 entries, chain intact" in status, status
    table = at.dataframe[0].value
    assert list(table["seq"]) == list(range(8, 0, -1))  # newest first
    assert set(table["who"]) == {"system", "sample"}

    at.multiselect(key="audit:kinds").set_value(["workflow_version"]).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["kind"]) == ["workflow version"]
    assert "chain" not in table.columns  # only a broken chain flags rows
    assert "reason: Playbook example" in table["detail"].iloc[0]
    assert at.selectbox(key="audit:entry").value == 8
    assert at.json[0].value and json.loads(at.json[0].value)["version"] == 1

    at.multiselect(key="audit:kinds").set_value([]).run()
    at.text_input(key="audit:text").input("usage.csv").run()
    assert list(at.dataframe[0].value["seq"]) == [3, 1]  # its import, and the reset naming it

    # Export the filtered entries: the download itself is logged, and the chain still holds.
    at.toggle(key="audit:prep").set_value(True).run()
    at.download_button(key="audit:dl-csv").click().run()
    assert not at.exception, at.exception
    assert "9 entries, chain intact" in _texts(at.success)

    # Tamper with entry 3 behind the app's back (the app's cached connection stays open, so
    # this connection shares its database).
    con = connect(Workspace(root))
    exported = audit.entries(con, kind="export")
    assert len(exported) == 1
    detail = json.loads(exported["detail"].iloc[0])
    assert detail["what"] == "audit log" and detail["rows"] == 2
    assert detail["filters"] == {"text": "usage.csv"}
    con.execute("UPDATE wb.audit_log SET detail = replace(detail, '127857', '1') WHERE seq = 3")
    con.close()
    at.text_input(key="audit:text").input("").run()
    assert not at.exception, at.exception
    assert not at.success
    problems = _texts(at.error)
    assert "not intact: 1 problem in 9 entries" in problems
    assert "Entry 3 (import by system" in problems and "changed after it was written" in problems
    table = at.dataframe[0].value
    flagged = table[table["chain"] != ""]
    assert list(flagged["seq"]) == [3]


def test_an_anchor_that_no_longer_matches_is_named(tmp_path, open_app):
    root = tmp_path / "ws"
    at = open_app(root, "audit_log.py", sample=True)
    good = next(c.value for c in at.code if c.value.startswith("8:"))
    at.text_input(key="audit:anchor").input(good).run()
    assert "It still carries the anchor `8:" in _texts(at.success)

    at.text_input(key="audit:anchor").input("5:" + "0" * 64).run()
    assert not at.exception, at.exception
    assert "Entry 5 (import by system" in _texts(at.error)
    assert "no longer carries the hash of the anchor" in _texts(at.error)

    at.text_input(key="audit:anchor").input("five").run()
    assert "'five' is not an audit head" in _texts(at.error)
    assert "chain intact" in _texts(at.success)  # the bad anchor is explained, not used


def test_downloads_on_other_pages_are_logged_once_per_click(tmp_path, open_app):
    from workbench.drafting.run import draft_workflow
    from workbench.drafting.settings import LLMSettings
    from workbench.ingest.sample import reset_to_sample
    from workbench.workflow import store
    from workbench.workflow.facts import default_as_of
    from workbench.workflow.preview import preview

    root = tmp_path / "ws"
    con = connect(Workspace(root))
    reset_to_sample(con)
    version = store.latest(con)
    assert version is not None
    wf = version.workflow
    pv = preview(con, wf, default_as_of(con))
    run = draft_workflow(con, wf, pv, LLMSettings(), workflow_version=1, limit=3).run_id
    con.close()

    at = open_app(root, "workflow.py")
    at.download_button(key="wf:dl-yaml").click().run()  # text, hashed as UTF-8
    assert not at.exception, at.exception
    at.switch_page("app_pages/drafts.py").run()
    at.download_button(key="dr:xlsx").click().run()  # built when clicked, once
    assert not at.exception, at.exception
    at.run()  # a later rerun adds nothing

    con = connect(Workspace(root))
    try:
        exported = audit.entries(con, kind="export")
        assert list(exported["subject"]) == [
            f"workflow {wf.name} v1: {store.slug(wf.name)}-v1.yaml",
            f"drafts of run {run}: drafts-run{run}-{pv.as_of}.xlsx",
        ]
        yaml, drafts = (json.loads(d) for d in exported["detail"])
        assert yaml["sha256"] == hashlib.sha256(version.yaml.encode("utf-8")).hexdigest()
        assert yaml["rows"] is None and set(exported["actor"]) == {"local user"}
        assert drafts["rows"] == 3 and drafts["bytes"] > 1000
        assert audit.verify(con).ok
    finally:
        con.close()
