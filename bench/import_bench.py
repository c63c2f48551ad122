"""Import benchmark: the workbench pipeline against bare DuckDB and bare calamine.

Generates a 1,000,000-row accounts CSV and a 100,000-row accounts XLSX, then
measures in this one process (best of N runs each):

* workbench ``import_file`` of the CSV vs DuckDB's own ``read_csv`` into a table
  (target: at most 1.5x);
* workbench ``import_file`` of the XLSX vs a bare ``pandas.read_excel(engine="calamine")``
  of the same file (target: at most 1.5x);

with the peak resident memory above the starting point during each step.

    python bench/import_bench.py [--rows 1000000] [--xlsx-rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd

from workbench.ingest.pipeline import (
    ImportOptions,
    import_file,
    run_import,
    staged_file,
    suggest_for,
)
from workbench.storage.workspace import Workspace, connect

SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
HEADER = [
    "Account ID",
    "Account Name",
    "Segment",
    "ARR",
    "CSM Owner",
    "Renewal Date",
    "Industry",
    "Region",
    "Seats",
    "Plan",
]


def _rows(n: int, seed: int = 7):
    rng = random.Random(seed)
    start = date(2026, 1, 1)
    for i in range(n):
        yield [
            f"ACC-{i:07d}",
            f"Company {i}",
            SEGMENTS[rng.randrange(3)],
            round(rng.uniform(5_000, 500_000), 2),
            f"CSM {rng.randrange(40)}",
            (start + timedelta(days=rng.randrange(730))).isoformat(),
            rng.choice(("Software", "Retail", "Health", "Finance")),
            rng.choice(("NA", "EMEA", "APAC")),
            rng.randrange(5, 5000),
            rng.choice(("Gold", "Silver", "Bronze")),
        ]


def make_csv(path: Path, n: int) -> None:
    """A clean accounts CSV, written by DuckDB for speed (same shape as _rows)."""
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT printf('ACC-%07d', i) AS "Account ID", 'Company ' || i AS "Account Name",
            ['SMB','Mid-Market','Enterprise'][1 + (hash(i) % 3)::INT] AS "Segment",
            round(5000 + (hash(i * 7) % 495000), 2)::DOUBLE AS "ARR",
            'CSM ' || (hash(i * 3) % 40) AS "CSM Owner",
            DATE '2026-01-01' + (hash(i * 11) % 730)::INT AS "Renewal Date",
            ['Software','Retail','Health','Finance'][1 + (hash(i * 13) % 4)::INT] AS "Industry",
            ['NA','EMEA','APAC'][1 + (hash(i * 17) % 3)::INT] AS "Region",
            (5 + hash(i * 19) % 4995)::INT AS "Seats",
            ['Gold','Silver','Bronze'][1 + (hash(i * 23) % 3)::INT] AS "Plan"
            FROM range({int(n)}) t(i)) TO '{path}' (HEADER, DELIMITER ',')"""
    )
    con.close()


def make_xlsx(path: Path, n: int) -> None:
    """An accounts workbook with a title row above the header and real Excel dates."""
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Accounts")
    ws.append(["Accounts export (benchmark)"])
    ws.append([])
    ws.append(HEADER)
    for row in _rows(n):
        row[5] = date.fromisoformat(row[5])
        ws.append(row)
    wb.save(path)


class PeakRSS:
    """Samples this process's resident memory in a thread; reports the peak above the start."""

    def __init__(self) -> None:
        self.start = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * 4096

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.005)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def mb(self) -> float:
        return (self.peak - self.start) / 1e6


def measure(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall time in seconds and the largest peak memory (MB) over ``repeat`` runs."""
    best, peak = float("inf"), 0.0
    for _ in range(repeat):
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - t0
        best, peak = min(best, elapsed), max(peak, mem.mb)
    return best, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--xlsx-rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    try:
        csv_path, xlsx_path = work / "accounts.csv", work / "accounts.xlsx"
        t0 = time.perf_counter()
        make_csv(csv_path, args.rows)
        make_xlsx(xlsx_path, args.xlsx_rows)
        print(
            f"generated {args.rows:,}-row CSV ({csv_path.stat().st_size / 1e6:.1f} MB) and "
            f"{args.xlsx_rows:,}-row XLSX ({xlsx_path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f}s"
        )

        ref_con = duckdb.connect(str(work / "ref.duckdb"))
        ws = Workspace(work / "ws")
        con = connect(ws)

        def ref_csv() -> None:
            ref_con.execute(
                f"CREATE OR REPLACE TABLE accounts AS SELECT * FROM read_csv('{csv_path}')"
            )

        def wb_csv() -> None:
            import_file(con, csv_path, ImportOptions(kind="accounts"))

        def wb_csv_general() -> None:
            # The general path (text staging + full validation) that files needing a report take.
            with staged_file(con, csv_path) as staged:
                mapping = suggest_for(con, staged, "accounts").mapping
                run_import(
                    con, staged, mapping, ImportOptions(kind="accounts"), file_sha256="bench"
                )

        def ref_xlsx() -> None:
            pd.read_excel(xlsx_path, engine="calamine", header=2)

        def wb_xlsx() -> None:
            import_file(con, xlsx_path, ImportOptions(kind="accounts", sheet="Accounts"))

        results = {}
        for name, fn in (
            ("duckdb read_csv", ref_csv),
            ("workbench csv", wb_csv),
            ("workbench csv general", wb_csv_general),
            ("calamine read_excel", ref_xlsx),
            ("workbench xlsx", wb_xlsx),
        ):
            results[name] = measure(fn, args.repeat)
            secs, mb = results[name]
            print(f"{name:<22} {secs:8.3f} s   peak +{mb:8.1f} MB")
        n = con.execute("SELECT count(*) FROM accounts").fetchall()[0][0]
        assert n == args.xlsx_rows, n  # the last import was the xlsx
        csv_ratio = results["workbench csv"][0] / results["duckdb read_csv"][0]
        xlsx_ratio = results["workbench xlsx"][0] / results["calamine read_excel"][0]
        print(
            f"ratio csv  (workbench / duckdb read_csv):   {csv_ratio:.2f}x  (target <= 1.5x)"
            f"  {'OK' if csv_ratio <= 1.5 else 'OVER TARGET'}"
        )
        general = results["workbench csv general"][0] / results["duckdb read_csv"][0]
        print(
            f"ratio csv general path (files that need the full report): {general:.2f}x  (no target)"
        )
        print(
            f"ratio xlsx (workbench / calamine read):      {xlsx_ratio:.2f}x  (target <= 1.5x)"
            f"  {'OK' if xlsx_ratio <= 1.5 else 'OVER TARGET'}"
        )
        print(
            f"throughput: csv {args.rows / results['workbench csv'][0]:,.0f} rows/s, "
            f"xlsx {args.xlsx_rows / results['workbench xlsx'][0]:,.0f} rows/s"
        )
        con.close()
        ref_con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
