"""Write the sample files: the accounts workbook with a title row, CSVs, and the manifest.

The bytes repeat for the same seed: CSVs have fixed formats and line endings,
and the workbook's timestamps are pinned to the export date.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from workbench.samplebook.generator import generate_book
from workbench.samplebook.schema import AS_OF, FILES, SEED, TIMESTAMP_HEADERS


def _csv_bytes(df: pd.DataFrame) -> bytes:
    df = df.copy()
    for col in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            fmt = "%Y-%m-%d %H:%M:%S" if col in TIMESTAMP_HEADERS else "%Y-%m-%d"
            df[col] = df[col].dt.strftime(fmt)
    return df.to_csv(index=False, lineterminator="\n", na_rep="").encode("utf-8")


def _xlsx_bytes(df: pd.DataFrame, as_of: date) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Accounts"
    ws.cell(1, 1, f"Book of business — exported {as_of.isoformat()}").font = Font(
        bold=True, size=13
    )
    for j, header in enumerate(df.columns, start=1):
        ws.cell(3, j, header).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(j)].width = max(12, len(header) + 2)
    ws.column_dimensions["B"].width = 30
    for i, row in enumerate(df.itertuples(index=False), start=4):
        for j, (header, value) in enumerate(zip(df.columns, row, strict=True), start=1):
            if pd.isna(value):
                continue
            if isinstance(value, pd.Timestamp):
                cell = ws.cell(i, j, value.date())
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(value, np.integer | int):
                cell = ws.cell(i, j, int(value))
                cell.number_format = "#,##0" if header == "ARR (USD)" else "0"
            else:
                ws.cell(i, j, value)
    ws.freeze_panes = "A4"
    ws.auto_filter.ref = f"A3:{get_column_letter(len(df.columns))}{len(df) + 3}"
    stamp = datetime(as_of.year, as_of.month, as_of.day, 6, 0, 0)
    wb.properties.created = wb.properties.modified = stamp
    wb.properties.creator = wb.properties.lastModifiedBy = "Bounded sample generator"
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    # openpyxl stamps each zip member with the wall clock; pin it so bytes repeat.
    fixed = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            member.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(member, src.read(info.filename))
    return fixed.getvalue()


def write_sample(
    out_dir: Path, seed: int = SEED, n_accounts: int = 2000, as_of: date = AS_OF
) -> list[Path]:
    """Write the sample files and ``manifest.json`` into ``out_dir``.

    Args:
        out_dir: Folder to write into (created if missing).
        seed: Seed passed to ``generate_book``.
        n_accounts: Number of accounts.
        as_of: The export date.

    Returns:
        The paths written, in import order, ``manifest.json`` last.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    book = generate_book(seed, n_accounts, as_of)
    paths = []
    for spec in FILES:
        path = out_dir / spec.file
        df = book[spec.kind]
        path.write_bytes(_xlsx_bytes(df, as_of) if spec.sheet else _csv_bytes(df))
        paths.append(path)
    manifest = [
        {"file": f.file, "kind": f.kind, "sheet": f.sheet, "description": f.description}
        for f in FILES
    ]
    path = out_dir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths.append(path)
    return paths
