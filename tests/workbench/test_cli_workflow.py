"""`workbench preview`, `sweep` and `backtest` on the sample book: output, files, errors."""

from __future__ import annotations

import openpyxl
import pytest

from workbench.cli import main
from workbench.ingest.sample import reset_to_sample
from workbench.storage.workspace import Workspace, connect


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("cli_wf") / "ws")
    con = connect(ws)
    reset_to_sample(con)
    con.close()
    return ws


@pytest.fixture
def cli(sample_ws, capsys):
    def _run(*argv: str) -> tuple[int, str, str]:
        code = main(["--workspace", str(sample_ws.root), *argv])
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


def test_preview_prints_headline_caps_and_reasons_and_writes_xlsx(cli, tmp_path):
    out_file = tmp_path / "firing.xlsx"
    code, out, err = cli("preview", "--limit", "2", "--out", str(out_file))
    assert code == 0, err
    assert "the workflow fires on" in out and "accounts in scope" in out
    assert "Actions per run" in out and "health score below 60:" in out
    assert "Wrote" in out
    wb = openpyxl.load_workbook(out_file)
    assert "firing accounts" in wb.sheetnames
    rows = wb["firing accounts"].max_row - 1
    assert f"fires on {rows} of" in out


def test_preview_of_an_unsaved_file_and_an_earlier_date(cli, tmp_path):
    from workbench.workflow.loader import default_workflow_text

    path = tmp_path / "stricter.yaml"
    path.write_text(default_workflow_text().replace("value: 60", "value: 45"), encoding="utf-8")
    code, out, err = cli(
        "preview", "--workflow", str(path), "--as-of", "2026-06-01", "--limit", "0"
    )
    assert code == 0, err
    assert "(unsaved)" in out and "As of 2026-06-01" in out


def test_sweep_prints_one_row_per_threshold_and_a_suggestion(cli, tmp_path):
    out_file = tmp_path / "sweep.csv"
    code, out, err = cli(
        "sweep", "--condition", "health_below", "--from", "40", "--to", "80", "--step", "10",
        "--out", str(out_file),
    )  # fmt: skip
    assert code == 0, err
    assert "The loosest threshold" in out
    lines = out_file.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("threshold,accounts,arr")
    assert [float(x.split(",")[0]) for x in lines[1:]] == [40, 50, 60, 70, 80]


def test_sweep_with_churn_adds_precision_and_recall(cli):
    code, out, err = cli(
        "sweep", "--condition", "health_below", "--from", "50", "--to", "70", "--step", "10",
        "--churn",
    )  # fmt: skip
    assert code == 0, err
    assert "precision" in out and "recall" in out and "backtest dates" in out


def test_backtest_prints_sentence_and_writes_workbook(cli, tmp_path):
    out_file = tmp_path / "bt.xlsx"
    code, out, err = cli("backtest", "--every", "month", "--out", str(out_file))
    assert code == 0, err
    assert "churners" in out and "random rule" in out
    assert set(openpyxl.load_workbook(out_file).sheetnames) >= {"Summary", "Per date"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("sweep", "--condition", "nope"), "has no condition 'nope'"),
        (("sweep", "--condition", "health_below", "--from", "9", "--to", "1"), "is empty"),
        (("backtest", "--from", "2026-09-01", "--to", "2026-01-01"), ""),
    ],
)
def test_bad_requests_exit_1_with_a_message(cli, argv, message):
    code, out, err = cli(*argv)
    assert code == 1
    assert "Error:" in err and "Traceback" not in err
    assert message in err


def test_unparseable_date_is_a_usage_error(cli):
    with pytest.raises(SystemExit) as exc:
        cli("preview", "--as-of", "next tuesday")
    assert exc.value.code == 2
