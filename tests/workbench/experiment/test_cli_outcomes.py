"""``workbench outcomes import``: auto-detected kind, default modes, counts, all-or-nothing."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime

import pytest

from workbench.cli_experiment import add_experiment_parsers, run_experiment_command
from workbench.errors import WorkbenchError
from workbench.storage.workspace import connect
from workbench.workflow.store import latest

OUTCOMES_CSV = (
    "Account ID,Renewal Date,Outcome,ARR Before,ARR After,Expansion ARR,Churn Reason\n"
    "ACC-00001,2026-11-20,Renewed,1000,1200,200,\n"
    "ACC-00002,2026-11-21,Churned,500,0,0,Budget cuts\n"
    "ACC-00003,2026-11-22,Downgraded,800,600,0,Moved to a lower plan\n"
)
METRICS_CSV = (
    "Account ID,Measured At,TTFR Hours,Expanded,Comment\n"
    "ACC-00001,2026-11-10,3.5,yes,fine\n"
    "ACC-00002,2026-11-12,8,no,slow\n"
)


@pytest.fixture
def cli(sample_copy, capsys):
    """Run ``workbench outcomes ...`` on a copy of the sample workspace, as ``main`` would."""
    parser = argparse.ArgumentParser(prog="workbench")
    add_experiment_parsers(parser.add_subparsers(dest="command", required=True))

    def _run(*argv: str) -> tuple[int, str, str]:
        args = parser.parse_args(argv)
        con = connect(sample_copy)
        try:
            code = run_experiment_command(con, args)
        except WorkbenchError as exc:
            print(f"Error: {exc.message}", file=sys.stderr)
            code = 1
        finally:
            con.close()
        out = capsys.readouterr()
        assert code is not None
        return code, out.out, out.err

    _run.ws = sample_copy  # type: ignore[attr-defined]
    return _run


def _state(ws) -> dict[str, object]:
    """What a failed import must leave as it was."""
    con = connect(ws)
    try:
        tables = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
            "AND database_name = current_database() ORDER BY 1"
        ).fetchall()
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for (t,) in tables}
        for t in ("wb.import_history", "wb.audit_log"):
            counts[t] = con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
        return counts
    finally:
        con.close()


def _start_experiment(ws) -> None:
    """An open experiment of the sample workflow with three assigned accounts."""
    con = connect(ws)
    try:
        v = latest(con)
        assert v is not None
        con.execute(
            "INSERT INTO wb.experiments VALUES (5, ?, 's', '{}', '[]', ?, 'test', 1, 1, NULL, 'r')",
            [v.name, datetime(2026, 11, 1)],
        )
        con.executemany(
            "INSERT INTO wb.assignments VALUES (5, ?, ?, 'x', 0, 'SMB', 1000, 50, 1, ?, ?)",
            [
                [a, arm, date(2026, 11, 1), datetime(2026, 11, 1)]
                for a, arm in (("ACC-00001", "ai"), ("ACC-00002", "csm"), ("ACC-00004", "control"))
            ],
        )
    finally:
        con.close()


def test_auto_detects_outcomes_and_appends(cli, write):
    before = _state(cli.ws)
    _start_experiment(cli.ws)
    code, out, err = cli("outcomes", "import", str(write("renewals.csv", OUTCOMES_CSV)))
    assert code == 0, err
    assert (
        "Importing renewals.csv as outcomes: its headers map the columns of renewal outcomes "
        in out
    )
    assert "renewal_date <- 'Renewal Date'" in out
    assert "Imported 3 rows into 'outcomes' (append)" in out
    assert _state(cli.ws)["outcomes"] == before["outcomes"] + 3  # the history stays
    assert "Experiment 5 of workflow" in out
    assert "renewed: 2 of 3 accounts have an outcome so far" in out
    assert "expansion_arr: 2 of 3 accounts have an outcome so far" in out


def test_auto_detects_metrics_and_replaces(cli, write):
    path = write("csm_metrics.csv", METRICS_CSV)
    code, out, err = cli("outcomes", "import", str(path))
    assert code == 0, err
    assert "as metrics: no header names renewal_date or outcome" in out
    assert "Imported 2 rows into 'metrics' (replace)" in out
    assert "Metrics in the table: ttfr_hours (number), expanded (yes/no)." in out
    assert "note: Column 'comment' holds text (for example 'fine'), so it is not a metric." in out
    assert "has no running experiment yet" in out
    code, out, _ = cli("outcomes", "import", str(path))
    assert code == 0 and "it now has 2 rows" in out  # replaced, not appended


def test_explicit_kind_and_mode(cli, write):
    path = write("m.csv", METRICS_CSV)
    assert cli("outcomes", "import", str(path), "--kind", "metrics")[0] == 0
    code, out, _ = cli("outcomes", "import", str(path), "--kind", "metrics", "--mode", "append")
    assert code == 0 and "Importing" not in out and "it now has 4 rows" in out


@pytest.mark.parametrize(
    ("text", "expected", "table"),
    [
        pytest.param(  # no account id: auto still reads it as renewals, the import names the gap
            "Renewal Date,Outcome\n2026-11-20,Renewed\n",
            "renewals.csv: no column is mapped to 'account_id' (Account identifier)",
            "outcomes",
        ),
        (
            "Measured At,CSAT\n2026-11-20,4\n",
            "renewals.csv: no column is mapped to 'account_id' (Account identifier), which "
            "outcome metrics need",
            "metrics",
        ),
        (
            OUTCOMES_CSV.replace("500,0,0", "lots,0,0"),
            "renewals.csv, row 3: column 'ARR Before' (arr_before) has 'lots', which is not a number",
            "outcomes",
        ),
    ],
)
def test_a_bad_file_changes_nothing(cli, write, text, expected, table):
    before = _state(cli.ws)
    code, out, err = cli("outcomes", "import", str(write("renewals.csv", text)))
    assert code == 1
    assert expected in out
    assert f"Nothing was imported; table '{table}' is unchanged." in err
    assert _state(cli.ws) == before


def test_appending_the_same_renewals_twice_is_refused(cli, write):
    path = write("renewals.csv", OUTCOMES_CSV)
    assert cli("outcomes", "import", str(path))[0] == 0
    before = _state(cli.ws)
    code, out, _ = cli("outcomes", "import", str(path))
    assert code == 1 and "is already in table 'outcomes'" in out
    assert _state(cli.ws) == before


def test_dry_run_and_missing_file(cli, write, tmp_path):
    before = _state(cli.ws)
    code, out, _ = cli("outcomes", "import", str(write("r.csv", OUTCOMES_CSV)), "--dry-run")
    assert code == 0 and "Dry run: no table was changed." in out
    assert _state(cli.ws) == before
    code, _, err = cli("outcomes", "import", str(tmp_path / "nope.csv"))
    assert code == 1 and "File not found" in err


def test_help_states_the_default_modes(capsys):
    parser = argparse.ArgumentParser(prog="workbench")
    add_experiment_parsers(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit):
        parser.parse_args(["outcomes", "import", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "append for outcomes (so the renewal history stays), replace for metrics" in text
