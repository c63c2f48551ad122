"""The firing set of a preview as CSV or XLSX, carrying what is needed to reproduce it.

The XLSX ``about`` sheet names the workflow and version, the as-of date, the data
version, the headline figures and guardrail checks, the SQL with its parameters and
the workflow YAML: running that SQL with those parameters on that data gives the
same rows.
"""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd

from workbench.export.tabular import to_csv_bytes, to_xlsx_bytes
from workbench.workflow.preview import Preview, summary_rows

VALUE_PREFIX = "v__"


def firing_frame(pv: Preview) -> pd.DataFrame:
    """The firing accounts for export: the shown columns, then each condition's value."""
    df = pv.fired.copy()
    renames = {
        c: f"value: {c.removeprefix(VALUE_PREFIX)}"
        for c in df.columns
        if c.startswith(VALUE_PREFIX)
    }
    return df.rename(columns=renames)


def preview_meta(
    pv: Preview,
    *,
    workflow_name: str,
    version: int,
    data_version: str,
    workspace: str,
    workflow_yaml: str,
) -> dict[str, str]:
    """Key/value pairs for the ``about`` sheet."""
    meta: dict[str, str] = {
        "workflow": workflow_name,
        "workflow version": f"v{version}",
        "as of": str(pv.as_of),
        "data version": data_version,
        "workspace": workspace,
        "exported at": datetime.now().replace(microsecond=0).isoformat(sep=" "),
        "headline": pv.headline(),
    }
    for row in summary_rows(pv):
        key = str(row["figure"])
        if key.lower() not in meta:
            meta[key] = str(row["value"])
    meta["sql"] = pv.sql
    meta["sql parameters"] = json.dumps(pv.params, default=str, sort_keys=True)
    meta["workflow yaml"] = workflow_yaml
    return meta


def preview_csv(pv: Preview) -> bytes:
    """The firing set as CSV (the reproduction details travel in the XLSX only)."""
    return to_csv_bytes(firing_frame(pv))


def preview_xlsx(
    pv: Preview,
    *,
    workflow_name: str,
    version: int,
    data_version: str,
    workspace: str,
    workflow_yaml: str,
) -> bytes:
    """The firing set as XLSX with an ``about`` sheet for reproducibility."""
    meta = preview_meta(
        pv,
        workflow_name=workflow_name,
        version=version,
        data_version=data_version,
        workspace=workspace,
        workflow_yaml=workflow_yaml,
    )
    return to_xlsx_bytes(firing_frame(pv), sheet_name="firing accounts", meta=meta)
