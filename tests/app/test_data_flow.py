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


def test_upload_map_import_and_see_table(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.setenv("WORKBENCH_NO_SAMPLE", "1")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.run()
    at.switch_page("app_pages/data.py")
    at.run()
    assert not at.exception
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
