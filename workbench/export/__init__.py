"""Exports: tables to CSV and XLSX files that open safely in spreadsheet apps."""

from workbench.export.tabular import (
    neutralise,
    to_csv_bytes,
    to_xlsx_bytes,
    write_table,
)

__all__ = ["neutralise", "to_csv_bytes", "to_xlsx_bytes", "write_table"]
