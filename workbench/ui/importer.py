"""The import panel of the Data page: kind, sheet, mapping editor, options, report, import."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import streamlit as st

from workbench.errors import ImportBlocked, WorkbenchError
from workbench.export.tabular import to_csv_bytes, to_xlsx_bytes
from workbench.ingest.kinds import KINDS, get_kind
from workbench.ingest.mapping import Mapping, guess_kind, suggest_mapping
from workbench.ingest.pipeline import SPREADSHEET_SUFFIXES, ImportOptions, ImportResult, import_file
from workbench.ingest.report import PROBLEM_KINDS
from workbench.ingest.xlsx_reader import list_sheets
from workbench.storage import profiles
from workbench.storage.tables import list_tables
from workbench.ui.bootstrap import Context
from workbench.ui.downloads import XLSX_MIME, download_button
from workbench.ui.errors import flash
from workbench.ui.file_checks import check_file, read_file
from workbench.ui.uploads import SavedUpload
from workbench.ui.workflow_state import actor_name

NONE = "(not in file)"
DATE_ORDERS: dict[str, str] = {
    "auto": "Detect (ask when unsure)",
    "dmy": "Day first (31/12/2026)",
    "mdy": "Month first (12/31/2026)",
}


def _state_key(upload: SavedUpload, name: str) -> str:
    return f"imp:{upload.sha256[:16]}:{name}"


def render_report(ctx: Context, result: ImportResult, key: str) -> None:
    """The validation report: summary, problems with where and what to do, rejected rows."""
    report = result.report
    blocking = report.blocking(skip_bad_rows=False)
    if not report.problems:
        st.success(report.summary(), icon=":material/check_circle:")
    elif blocking:
        st.warning(report.summary(), icon=":material/warning:")
    else:
        st.info(report.summary(), icon=":material/info:")
    for note in report.notes:
        st.caption(f"• {note}")
    for p in report.problems:
        label = {
            "error": ":red[**Error**]",
            "question": ":orange[**Question**]",
            "warning": ":orange[**Warning**]",
        }[p.severity]
        with st.container(border=True):
            st.markdown(f"{label} · **{PROBLEM_KINDS[p.code]}**  \n{p.message}")
            st.caption(f"Where: {p.where} · What to do: {p.hint}")
            if len(p.examples) > 1:
                st.dataframe(
                    pd.DataFrame(p.examples, columns=["row", "value"]).head(20),
                    hide_index=True,
                    height=min(35 * (len(p.examples[:20]) + 1) + 3, 250),
                )
    if report.problems:
        download_button(
            "Download the report (CSV)",
            to_csv_bytes(report.to_frame()),
            f"{Path(report.file).stem}-validation.csv",
            "text/csv",
            ctx=ctx,
            what=f"validation report of {report.file}",
            rows=len(report.problems),
            key=f"{key}:dl-report",
        )
    if result.rejected is not None and not result.rejected.empty:
        download_button(
            f"Download the {len(result.rejected):,} rows that cannot be imported (XLSX)",
            to_xlsx_bytes(result.rejected, sheet_name="rejected rows"),
            f"{Path(report.file).stem}-rejected-rows.xlsx",
            XLSX_MIME,
            ctx=ctx,
            what=f"rows of {report.file} that cannot be imported",
            rows=len(result.rejected),
            key=f"{key}:dl-rejected",
        )


@dataclass(frozen=True)
class Ready:
    """An uploaded file whose check passed, with the choices made for it."""

    upload: SavedUpload
    options: ImportOptions
    mapping: Mapping


def import_panel(ctx: Context, upload: SavedUpload) -> Ready | None:
    """Everything needed to get one uploaded file into the workspace.

    Returns what "Import all" needs when the file can be imported as it is set up.
    """
    if _done(upload):
        return None
    con = ctx.con
    existing = {t.name: t.rows for t in list_tables(con)}
    sheet: str | None = None
    if upload.path.suffix.lower() in SPREADSHEET_SUFFIXES:
        sheets = list_sheets(upload.path)
        sheet = st.selectbox(
            "Sheet", sheets, key=_state_key(upload, "sheet"), help="The sheet to import."
        )
    view = read_file(con, str(upload.path), upload.sha256, sheet)
    staged = view.staged
    kinds = list(KINDS.values())
    kind_key = _state_key(upload, f"kind:{sheet}")
    if kind_key not in st.session_state:
        st.session_state[kind_key] = guess_kind(
            kinds, staged.columns, view.samples, upload.name
        ).name
    c1, c2, c3 = st.columns([2, 2, 3])
    kind_name = c1.selectbox(
        "Dataset kind",
        list(KINDS),
        format_func=lambda k: f"{KINDS[k].label} ({k})",
        key=kind_key,
        help="What the file holds; it becomes the table of that name.",
    )
    mode = c2.radio(
        "If the table exists",
        ["replace", "append"],
        horizontal=True,
        key=_state_key(upload, "mode"),
        help="Replace swaps the whole table atomically; append adds rows (keys must stay unique).",
    )
    if kind_name in existing:
        verb = "replaced by" if mode == "replace" else "extended with"
        c2.caption(
            f"`{kind_name}` has {existing[kind_name]:,} rows; they will be {verb} this file's rows."
        )
    date_order = c3.selectbox(
        "Date order",
        list(DATE_ORDERS),
        format_func=lambda k: DATE_ORDERS[k],
        key=_state_key(upload, "date_order"),
    )
    st.caption(
        f"Read {staged.n_rows:,} rows × {len(staged.columns)} columns; header on row {staged.header_row}"
        + (f" of sheet '{staged.sheet}'" if staged.sheet else "")
        + (
            f"; encoding {staged.encoding}, delimiter {staged.delimiter!r}"
            if staged.encoding
            else ""
        )
        + "."
    )
    with st.expander("Preview of the file as read", expanded=False):
        st.dataframe(view.preview, height=260)

    # Mapping: a saved profile that fits wins over the suggestion.
    kind = get_kind(kind_name)
    suggestion = suggest_mapping(kind, staged.columns, view.samples)
    profile = profiles.match_profile(con, kind_name, staged.columns)
    base = profile.mapping if profile else suggestion.mapping
    reasons = {c.column: f"{c.confidence}: {c.reason}" for c in suggestion.choices if c.source}
    if profile:
        st.caption(f"Mapping from saved profile **{profile.name}**.")
        reasons = {c: f"profile '{profile.name}'" for c in base.assignments}
    st.markdown(
        "**Column mapping** — pick the file column for each canonical column "
        "(* = required). Columns you do not map are kept as extra columns."
    )
    options_list = [NONE, *staged.columns]
    prefix = _state_key(upload, f"map:{kind_name}:{sheet}:{profile.name if profile else ''}")
    assignments: dict[str, str] = {}
    grid = st.columns(3)
    for i, col in enumerate(kind.columns):
        current = base.assignments.get(col.name, NONE)
        with grid[i % 3]:
            chosen = st.selectbox(
                f"{col.name}{' *' if col.required else ''}",
                options_list,
                index=options_list.index(current) if current in options_list else 0,
                key=f"{prefix}:{col.name}",
                help=f"{col.description}. Known header names: {', '.join(col.synonyms[:6])}",
            )
            if chosen != NONE:
                assignments[col.name] = chosen
            why = reasons.get(col.name, "") if chosen == current else "chosen by you"
            if why and not why.startswith("exact"):  # only the choices worth a second look
                st.caption(why)
    used = list(assignments.values())
    doubles = sorted({h for h in used if used.count(h) > 1})
    if doubles:
        st.error(
            "Each file column can feed one canonical column; "
            + ", ".join(f"'{d}'" for d in doubles)
            + " is chosen more than once.",
            icon=":material/warning:",
        )
        return None
    mapping = Mapping(kind_name, assignments)
    extras = mapping.extras(staged.columns)
    if extras:
        st.caption("Kept as extra columns: " + ", ".join(f"`{e}`" for e in extras))

    c1, c2 = st.columns(2)
    skip = c1.checkbox(
        "Skip rows that cannot be imported",
        key=_state_key(upload, "skip"),
        help="Import the good rows; download the bad ones to fix them.",
    )
    unify = c2.checkbox(
        "Unify category spellings",
        key=_state_key(upload, "unify"),
        help="Import 'enterprise' and 'Enterprise ' as one spelling: the table's, else the most common.",
    )
    options = ImportOptions(
        kind=kind_name,
        mode=mode,  # type: ignore[arg-type]
        date_order=date_order,  # type: ignore[arg-type]
        skip_bad_rows=skip,
        unify_categories=unify,
        sheet=sheet,
        profile=profile.name if profile else None,
    )
    result = check_file(con, upload.path, upload.sha256, mapping, options)
    st.markdown("**Validation**")
    render_report(ctx, result, _state_key(upload, "report"))

    blocking = result.report.blocking(skip)
    rows_now = existing.get(kind_name)
    if rows_now is None:
        label = f"Import into `{kind_name}`"
    elif mode == "replace":
        label = f"Replace `{kind_name}` ({rows_now:,} rows) with this file"
    else:
        label = f"Append to `{kind_name}` ({rows_now:,} rows)"
    outcome = result.report.rows_in_file - (result.report.rows_rejected if skip else 0)
    if not blocking:
        what = [f"{outcome:,} rows will be imported"]
        if skip and result.report.rows_rejected:
            what.append(f"{result.report.rows_rejected:,} left out (download them above)")
        if unify and result.report.warnings():
            what.append("category spellings unified to the spelling listed first")
        st.caption("; ".join(what) + ".")
    c1, c2, c3 = st.columns([3, 2, 2], vertical_alignment="bottom")
    if c1.button(label, type="primary", disabled=bool(blocking), key=_state_key(upload, "go")):
        with st.spinner(f"Importing {upload.name}…"):
            try:
                _import_one(ctx, Ready(upload, options, mapping))
            except ImportBlocked as exc:
                st.error(exc.message)
                return None
        st.rerun()
    if blocking:
        left = sorted({PROBLEM_KINDS[p.code].split(":")[0].rstrip(".") for p in blocking})
        c1.caption(
            "Still to resolve: "
            + "; ".join(left)
            + (
                ". Or tick 'Skip rows that cannot be imported'."
                if any(p.row_level for p in blocking) and not skip
                else "."
            )
        )
    name = c2.text_input(
        "Save this mapping as a profile",
        key=_state_key(upload, "profile-name"),
        placeholder="e.g. Gainsight accounts",
        help="A later file with the same columns picks this mapping automatically.",
    )
    if c3.button("Save profile", key=_state_key(upload, "save-profile"), disabled=not name.strip()):
        saved = profiles.save_profile(
            con,
            name,
            mapping,
            staged.columns,
            {"sheet": sheet, "date_order": date_order},
        )
        st.toast(f"Saved mapping profile '{saved.name}'. Next time this export maps itself.")
    return None if blocking else Ready(upload, options, mapping)


def _done(upload: SavedUpload) -> bool:
    """After a successful import, show the result instead of checking the file again."""
    message = st.session_state.get(_state_key(upload, "done"))
    if not message:
        return False
    st.success(message, icon=":material/check_circle:")
    if st.button("Import this file again", key=_state_key(upload, "again")):
        del st.session_state[_state_key(upload, "done")]
        st.rerun()
    return True


def _import_one(ctx: Context, item: Ready) -> str:
    existed = item.options.kind in {t.name for t in list_tables(ctx.con)}
    options = replace(item.options, actor=actor_name())
    done = import_file(ctx.con, item.upload.path, options, mapping=item.mapping)
    skipped = done.report.rows_in_file - done.rows_imported
    action = item.options.mode if existed else "new table"
    message = (
        f"Imported {done.rows_imported:,} rows into `{done.table}` ({action})"
        + (f", {skipped:,} left out" if skipped else "")
        + f"; it now has {done.rows_in_table:,} rows."
    )
    st.session_state[_state_key(item.upload, "done")] = message
    return message


def import_all(ctx: Context, ready: list[Ready], total: int) -> None:
    """One button for every file whose check passed (several files of one kind must append)."""
    kinds = [r.options.kind for r in ready if r.options.mode == "replace"]
    clash = sorted({k for k in kinds if kinds.count(k) > 1})
    c1, c2 = st.columns([2, 5], vertical_alignment="center")
    pressed = c1.button(
        f"Import all {len(ready)} ready files",
        type="primary",
        disabled=not ready or bool(clash),
        key="imp:all",
    )
    if clash:
        c2.warning(
            f"Several files replace `{', '.join(clash)}`: only the last would remain. "
            "Set 'append' on all but one of them.",
            icon=":material/warning:",
        )
    else:
        c2.caption(
            f"{len(ready)} of {total} files are ready; the others need attention in their tab."
        )
    if pressed:
        bar = st.progress(0.0, text="Importing…")
        for i, item in enumerate(ready, 1):
            bar.progress((i - 1) / len(ready), text=f"Importing {item.upload.name}…")
            try:
                _import_one(ctx, item)
            except WorkbenchError as exc:
                st.error(f"{item.upload.name}: {exc.message}", icon=":material/error:")
                return
        flash(f"Imported {len(ready)} files.")
        st.rerun()
