"""The preview export: the firing set, and an about sheet that reproduces it."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from openpyxl import load_workbook

from workbench.export.preview_book import firing_frame, preview_csv, preview_xlsx
from workbench.ingest.sample import reset_to_sample
from workbench.workflow.facts import default_as_of
from workbench.workflow.loader import default_workflow_text, parse_workflow
from workbench.workflow.preview import preview


@pytest.fixture(scope="module")
def pv(tmp_path_factory):
    from workbench.storage.workspace import Workspace, connect

    c = connect(Workspace(tmp_path_factory.mktemp("book") / "ws"))
    reset_to_sample(c)
    yield preview(c, parse_workflow(default_workflow_text()), default_as_of(c))
    c.close()


def test_firing_frame_names_condition_values(pv):
    df = firing_frame(pv)
    assert len(df) == len(pv.fired) > 0
    assert "value: health_below" in df.columns
    assert not any(c.startswith("v__") for c in df.columns)


def test_csv_has_one_row_per_firing_account(pv):
    lines = preview_csv(pv).decode("utf-8-sig").strip().split("\r\n")
    assert len(lines) == len(pv.fired) + 1
    assert lines[0].startswith("account_id,account_name")


def test_xlsx_carries_workflow_version_as_of_data_version_sql_and_params(pv):
    data = preview_xlsx(
        pv,
        workflow_name="Senior CSM",
        version=3,
        data_version="7/7/2026-11-01",
        workspace="/ws",
        workflow_yaml="name: Senior CSM\n",
    )
    wb = load_workbook(BytesIO(data))
    assert wb.sheetnames == ["firing accounts", "about"]
    assert wb["firing accounts"].max_row == len(pv.fired) + 1
    about = {r[0]: r[1] for r in wb["about"].iter_rows(min_row=2, values_only=True)}
    assert about["workflow"] == "Senior CSM"
    assert about["workflow version"] == "v3"
    assert about["as of"] == str(pv.as_of)
    assert about["data version"] == "7/7/2026-11-01"
    assert about["sql"] == pv.sql
    params = json.loads(about["sql parameters"])
    assert params["p0"] == [str(pv.as_of)]
    assert about["Fires on"] == str(len(pv.fired))
    assert about["workflow yaml"].startswith("name: Senior CSM")
