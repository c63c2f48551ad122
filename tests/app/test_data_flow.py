"""Data page flow: upload a file through file_uploader, map it, import it, see the table."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]

CSV = b"""Ref,Company,Money,Tier
A1,Acme,1000,Enterprise
A2,Beta,2000,SMB
A3,Gamma,oops,SMB
"""


def test_upload_map_import_and_see_table(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "data.py")
    assert any("No tables yet" in i.value for i in at.info)

    at.file_uploader[0].set_value(("crm export.csv", CSV, "text/csv")).run()
    assert not at.exception, at.exception
    kind = at.selectbox(key=next(k for k in _keys(at) if ":kind:" in k))
    assert kind.value == "accounts"
    # "Ref" is not a known name: the required account_id is unmapped and the import is blocked.
    import_button = next(b for b in at.button if b.label.startswith("Import into"))
    assert import_button.disabled
    assert any("no column is mapped to 'account_id'" in m.value for m in at.markdown)

    # Map it by hand, like a user correcting the suggestion.
    at.selectbox(key=next(k for k in _keys(at) if k.endswith(":account_id"))).set_value("Ref").run()
    at.selectbox(key=next(k for k in _keys(at) if k.endswith(":arr"))).set_value("Money").run()
    assert not at.exception
    # 'oops' is not a number: row 4 is named; skipping bad rows unblocks the import.
    assert any("row 4: column 'Money' (arr) has 'oops'" in m.value for m in at.markdown)
    at.checkbox(key=next(k for k in _keys(at) if k.endswith(":skip"))).check().run()
    import_button = next(b for b in at.button if b.label.startswith("Import into"))
    assert not import_button.disabled
    import_button.click().run()
    assert not at.exception, at.exception
    assert any("Imported 2 rows into `accounts`" in s.value for s in at.success)
    # The table browser lists the new table...
    assert "accounts" in at.selectbox(key="tables:chosen").options
    # ...and the app's sidebar shows it with its row count (AppTest renders the sidebar of app.py
    # on the entry page; switch_page runs the page script alone).
    home = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    home.run()
    assert not home.exception
    assert any("`accounts` | 2" in m.value for m in home.sidebar.markdown)


def _keys(at: AppTest) -> list[str]:
    return [w.key for w in at.selectbox] + [w.key for w in at.checkbox]


def test_after_import_the_panel_shows_the_result_not_a_new_check(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "data.py")
    at.file_uploader[0].set_value(("a.csv", b"Account ID,ARR\nA1,10\nA2,20\n", "text/csv")).run()
    next(b for b in at.button if b.label.startswith("Import into")).click().run()
    assert not at.exception
    assert not at.error and all(w.icon == ":material/delete:" for w in at.warning)
    assert any("Imported 2 rows into `accounts` (new table)" in s.value for s in at.success)
    # Importing again is explicit, and then the page warns that existing rows get replaced.
    next(b for b in at.button if b.label == "Import this file again").click().run()
    assert any(b.label.startswith("Replace `accounts` (2 rows)") for b in at.button)
    assert any("will be replaced by" in c.value for c in at.caption)
    # The check is cached, but not across a change of the data: appending now repeats keys.
    at.radio(key=next(r.key for r in at.radio if r.key.endswith(":mode"))).set_value("append").run()
    assert any("is already in table 'accounts'" in m.value for m in at.markdown)


def test_delete_table_needs_typed_name_then_confirms(accounts_workspace, open_app):
    at = open_app(accounts_workspace, "data.py")
    delete = at.button(key="tables:del:accounts")
    assert delete.disabled
    at.text_input(key="tables:confirm:accounts").input("accounts").run()
    at.button(key="tables:del:accounts").click().run()
    assert not at.exception, at.exception
    assert any("No tables yet" in i.value for i in at.info)


def test_reset_to_sample_after_confirmation(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "data.py")
    assert at.button(key="reset:go").disabled
    at.checkbox(key="reset:sure").check().run()
    at.button(key="reset:go").click().run()
    assert not at.exception, at.exception
    assert not at.error
    assert set(at.selectbox(key="tables:chosen").options) == {
        "accounts",
        "activity",
        "outcomes",
        "surveys",
        "tickets",
        "usage",
    }
    assert at.checkbox(key="reset:sure").value is False


def test_import_all_ready_files(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "data.py")
    files = [
        ("accounts.csv", b"Account ID,Account Name,ARR\nA1,Acme,10\nA2,Beta,20\n", "text/csv"),
        (
            "usage.csv",
            b"Account ID,Week Start,Active Users\nA1,2026-01-05,3\nA2,2026-01-05,4\n",
            "text/csv",
        ),
        ("broken.csv", b"Name,ARR\nX,1\n", "text/csv"),
    ]
    at.file_uploader[0].set_value(files).run()
    assert not at.exception, at.exception
    button = at.button(key="imp:all")
    assert button.label == "Import all 2 ready files"
    assert any("2 of 3 files are ready" in c.value for c in at.caption)
    button.click().run()
    assert not at.exception, at.exception
    assert set(at.selectbox(key="tables:chosen").options) == {"accounts", "usage"}
    assert sum("Imported 2 rows" in s.value for s in at.success) == 2


def test_after_deleting_the_chosen_table_the_picker_moves_on(
    accounts_workspace, open_app, tmp_path
):
    from workbench.ingest.pipeline import ImportOptions, import_file
    from workbench.storage.workspace import Workspace, connect

    con = connect(Workspace(accounts_workspace))
    usage = tmp_path / "u.csv"
    usage.write_text("Account ID,Week Start,Active Users\nA1,2026-01-05,3\n")
    import_file(con, usage, ImportOptions(kind="usage"))
    con.close()
    at = open_app(accounts_workspace, "data.py")
    at.selectbox(key="tables:chosen").select("usage").run()
    at.text_input(key="tables:confirm:usage").input("usage").run()
    at.button(key="tables:del:usage").click().run()
    assert not at.exception, at.exception
    picker = at.selectbox(key="tables:chosen")
    assert picker.options == ["accounts"] and picker.value == "accounts"


def test_cached_check_is_redone_when_the_data_changes(tmp_path, open_app):
    at = open_app(tmp_path / "ws", "data.py")
    at.file_uploader[0].set_value(("a.csv", b"Account ID,ARR\nA1,10\nA2,20\n", "text/csv")).run()
    at.radio(key=next(r.key for r in at.radio if r.key.endswith(":mode"))).set_value("append").run()
    assert not any("already in table" in m.value for m in at.markdown)
    next(b for b in at.button if b.label.startswith("Import into")).click().run()
    next(b for b in at.button if b.label == "Import this file again").click().run()
    # Same file, same choices as the check cached before the import (the panel was hidden,
    # so the mode is chosen again): only the workspace changed, and the check sees it.
    at.radio(key=next(r.key for r in at.radio if r.key.endswith(":mode"))).set_value("append").run()
    assert any("is already in table 'accounts'" in m.value for m in at.markdown)
