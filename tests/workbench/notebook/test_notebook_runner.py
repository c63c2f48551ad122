"""The notebook runner: reads only, writes refused and rolled back, errors kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import altair as alt
import duckdb
import pandas as pd
import pytest

from workbench.errors import QueryError
from workbench.notebook import ChartSpec, chart_for, check_read_only, default_notebook, run_sql
from workbench.notebook import runner as runner_module


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "workspace.duckdb"))
    connection.execute(
        """
        CREATE TABLE accounts AS SELECT * FROM (VALUES
            ('A1', 'Acme', 'Enterprise', 120000.0, 'Dana', current_date + 30),
            ('A2', 'Globex', 'Mid-Market', 40000.0, 'Lee', current_date + 200),
            ('A3', 'Initech', 'Enterprise', 90000.0, 'Dana', current_date + 75),
            ('A4', 'Umbrella', 'SMB', 8000.0, 'Sam', current_date - 10)
        ) t(account_id, account_name, segment, arr, csm_owner, renewal_date);
        CREATE TABLE usage AS SELECT * FROM (VALUES
            ('A1', current_date, 40), ('A2', current_date - 7, 12)
        ) t(account_id, date, active_users);
        CREATE TABLE tickets AS SELECT * FROM (VALUES
            ('A1', 'high', 'open', NULL), ('A1', 'low', 'closed', 5),
            ('A2', 'high', 'pending', NULL), ('A3', 'medium', 'Resolved', 4)
        ) t(account_id, priority, status, csat);
        CREATE TABLE big AS SELECT range AS n FROM range(25000);
        """
    )
    yield connection
    connection.close()


def snapshot(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    tables = con.execute(
        "SELECT table_name, estimated_size, column_count FROM duckdb_tables() ORDER BY 1"
    ).fetchall()
    rows = con.execute("SELECT * FROM accounts ORDER BY account_id").fetchall()
    return tables + rows


WRITES = [
    "INSERT INTO accounts VALUES ('A9', 'Evil', 'SMB', 1, 'X', current_date)",
    "UPDATE accounts SET arr = 0",
    "DELETE FROM accounts",
    "DROP TABLE accounts",
    "CREATE TABLE copy AS SELECT * FROM accounts",
    "CREATE OR REPLACE TABLE accounts AS SELECT 1 AS x",
    "ALTER TABLE accounts DROP COLUMN arr",
    "COPY accounts TO '{tmp}/out.csv'",
    "COPY (SELECT 1) TO '{tmp}/out2.csv'",
    "ATTACH '{tmp}/other.duckdb' AS other",
    "DETACH workspace",
    "TRUNCATE accounts",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET threads = 1",
    "PRAGMA threads = 1",
    "USE memory",
    "EXPORT DATABASE '{tmp}/export'",
    "IMPORT DATABASE '{tmp}/export'",
    "CHECKPOINT",
    "VACUUM",
    "BEGIN TRANSACTION",
    "COMMIT",
    "CALL checkpoint()",
    "SELECT * FROM force_checkpoint()",
    "EXPLAIN ANALYZE DELETE FROM accounts",
    "EXPLAIN (ANALYZE) UPDATE accounts SET arr = 0",
    "CREATE MACRO evil(x) AS x",
    "PREPARE p AS SELECT 1",
    "SELECT 1; DELETE FROM accounts",
]


@pytest.mark.parametrize("sql", WRITES)
def test_writes_are_refused_and_data_unchanged(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, sql: str
) -> None:
    before = snapshot(con)
    result = run_sql(con, sql.format(tmp=tmp_path))
    assert not result.ok
    assert result.df is None
    assert result.error is not None
    assert result.error.startswith("Notebook cells are read-only:")
    assert "Use the Data page to import or delete tables." in result.error
    assert snapshot(con) == before
    assert not (tmp_path / "out.csv").exists()


def test_refusal_names_the_statement(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QueryError) as info:
        check_read_only(con, "SELECT 1; DROP TABLE accounts")
    assert "DROP" in info.value.message
    assert "statement 2" in info.value.message
    assert "Data page" in info.value.hint


def test_pivot_needing_a_type_is_refused_with_advice(con: duckdb.DuckDBPyConnection) -> None:
    refused = run_sql(con, "PIVOT tickets ON priority USING count(*)")
    assert not refused.ok and refused.error is not None
    assert "IN (" in refused.error
    listed = run_sql(con, "PIVOT tickets ON priority IN ('high', 'low') USING count(*)")
    assert listed.ok, listed.error


def test_rollback_undoes_a_write_that_slips_through(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "_refusal", lambda con, statement: None)
    before = snapshot(con)
    result = run_sql(con, "DELETE FROM accounts; SELECT count(*) AS n FROM accounts")
    assert result.ok, result.error
    assert result.df is not None and result.df["n"].tolist() == [0]  # seen inside the cell
    assert snapshot(con) == before  # undone afterwards


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT account_name FROM accounts ORDER BY account_name",
        "FROM accounts",
        "WITH a AS (SELECT * FROM accounts) SELECT * FROM a",
        "SHOW TABLES",
        "DESCRIBE accounts",
        "SUMMARIZE accounts",
        "EXPLAIN SELECT * FROM accounts",
        "EXPLAIN ANALYZE SELECT * FROM accounts",
        "PRAGMA table_info('accounts')",
        "PRAGMA show_tables",
        "CALL pragma_version()",
        "CALL duckdb_tables()",
        "VALUES (1, 2)",
        "-- a comment first\nSELECT 1 AS one; -- and after",
    ],
)
def test_reads_are_allowed(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    result = run_sql(con, sql)
    assert result.ok, result.error
    assert result.error is None
    assert result.df is not None and len(result.df) >= 1
    assert result.elapsed_ms >= 0


def test_select_returns_typed_frame(con: duckdb.DuckDBPyConnection) -> None:
    result = run_sql(con, "SELECT account_id, arr FROM accounts ORDER BY account_id")
    assert result.ok and result.df is not None
    assert result.df["account_id"].tolist() == ["A1", "A2", "A3", "A4"]
    assert result.df["arr"].tolist() == [120000.0, 40000.0, 90000.0, 8000.0]
    assert (result.row_count, result.truncated) == (4, False)


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("SELEC 1", "syntax error"),
        ("SELECT * FROM no_such_table", "no_such_table"),
        ("SELECT no_such_column FROM accounts", "no_such_column"),
        ("SELECT 1; SELECT * FROM no_such_table", "no_such_table"),
        ("SELECT 1/0::INTEGER + 'x'", "x"),
    ],
)
def test_errors_are_returned_not_raised(
    con: duckdb.DuckDBPyConnection, sql: str, fragment: str
) -> None:
    result = run_sql(con, sql)
    assert not result.ok
    assert result.df is None
    assert result.error is not None and fragment in result.error
    assert run_sql(con, "SELECT 1").ok  # the connection is still usable


def test_empty_cell(con: duckdb.DuckDBPyConnection) -> None:
    result = run_sql(con, "  -- nothing yet\n")
    assert not result.ok
    assert result.error == "This cell has no SQL statement to run."


def test_truncation_keeps_total_row_count(con: duckdb.DuckDBPyConnection) -> None:
    result = run_sql(con, "SELECT n FROM big ORDER BY n DESC;  -- newest first", max_rows=3000)
    assert result.ok and result.df is not None
    assert len(result.df) == 3000
    assert result.df["n"].iloc[0] == 24999
    assert (result.row_count, result.truncated) == (25000, True)


@pytest.mark.parametrize(("max_rows", "truncated"), [(24999, True), (25000, False), (30000, False)])
def test_truncation_boundary(
    con: duckdb.DuckDBPyConnection, max_rows: int, truncated: bool
) -> None:
    result = run_sql(con, "FROM big", max_rows=max_rows)
    assert result.df is not None
    assert len(result.df) == min(max_rows, 25000)
    assert (result.row_count, result.truncated) == (25000, truncated)


def test_truncation_of_a_non_select_counts_by_reading(con: duckdb.DuckDBPyConnection) -> None:
    total = len(con.execute("PRAGMA functions").fetchall())
    result = run_sql(con, "PRAGMA functions", max_rows=10)
    assert result.df is not None and len(result.df) == 10
    assert (result.row_count, result.truncated) == (total, True)


def test_empty_result_keeps_columns(con: duckdb.DuckDBPyConnection) -> None:
    result = run_sql(con, "SELECT account_id, arr FROM accounts WHERE false")
    assert result.ok and result.df is not None
    assert list(result.df.columns) == ["account_id", "arr"]
    assert (result.row_count, result.truncated) == (0, False)


def test_several_statements_show_the_last(con: duckdb.DuckDBPyConnection) -> None:
    result = run_sql(con, "SELECT 1 AS first; FROM big; SELECT 'last' AS which")
    assert result.ok and result.df is not None
    assert result.df.to_dict("records") == [{"which": "last"}]


def test_runs_on_a_read_only_connection(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    con.close()
    read_only = duckdb.connect(str(tmp_path / "workspace.duckdb"), read_only=True)
    try:
        assert run_sql(read_only, "SELECT count(*) AS n FROM accounts").ok
    finally:
        read_only.close()


def test_default_notebook_sql_runs(con: duckdb.DuckDBPyConnection) -> None:
    cells = [c for c in default_notebook().cells if c.kind == "sql"]
    assert len(cells) == 3
    results = {c.id: run_sql(con, c.source) for c in cells}
    for cell_id, result in results.items():
        assert result.ok, f"{cell_id}: {result.error}"
    by_segment = results["arr-by-segment"].df
    assert by_segment is not None
    assert by_segment["segment"].tolist()[0] == "Enterprise"
    renewals = results["renewals-90-days"].df
    assert renewals is not None and renewals["account_id"].tolist() == ["A1", "A3"]
    open_tickets = results["open-tickets-by-priority"].df
    assert open_tickets is not None
    assert dict(zip(open_tickets["priority"], open_tickets["open_tickets"], strict=True)) == {
        "high": 2
    }
    for cell in cells:
        if cell.chart is not None:
            assert chart_for(results[cell.id].df, cell.chart) is not None


# --- charts ------------------------------------------------------------------------------


def test_chart_for_builds_a_chart_with_tooltips() -> None:
    df = pd.DataFrame({"segment": ["SMB", "Enterprise"], "arr": [1.0, 2.0], "k.1": ["a", "b"]})
    chart = chart_for(df, ChartSpec(mark="bar", x="segment", y="arr", color="k.1"))
    assert isinstance(chart, alt.Chart)
    spec = chart.to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["type"] == "nominal"
    assert spec["encoding"]["y"]["type"] == "quantitative"
    assert spec["encoding"]["color"]["field"] == "k\\.1"
    assert [t["title"] for t in spec["encoding"]["tooltip"]] == ["segment", "arr", "k.1"]


def test_chart_for_dates_are_temporal() -> None:
    df = pd.DataFrame({"week": pd.to_datetime(["2024-05-06", "2024-05-13"]), "users": [3, 4]})
    chart = chart_for(df, ChartSpec(mark="line", x="week", y="users"))
    assert chart is not None
    assert chart.to_dict()["encoding"]["x"]["type"] == "temporal"


@pytest.mark.parametrize(
    "spec",
    [
        ChartSpec(mark="bar", x="missing", y="arr"),
        ChartSpec(mark="bar", x="segment", y="missing"),
        ChartSpec(mark="point", x="segment", y="arr", color="missing"),
    ],
)
def test_chart_for_missing_columns_is_none(spec: ChartSpec) -> None:
    df = pd.DataFrame({"segment": ["SMB"], "arr": [1.0]})
    assert chart_for(df, spec) is None


def test_chart_for_no_result_is_none() -> None:
    assert chart_for(None, ChartSpec(mark="area", x="a", y="b")) is None


@pytest.mark.parametrize(
    "sql",
    [
        """SELECT * FROM "checkpoint"()""",
        """SELECT * FROM "truncate_duckdb_logs"()""",
        """SELECT * FROM "enable_logging"(storage:='file', storage_path:='/tmp/x')""",
        """SELECT * FROM main."force_checkpoint"()""",
    ],
)
def test_quoted_side_effect_functions_are_refused(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    result = run_sql(con, sql)
    assert not result.ok and result.error is not None and "read-only" in result.error
