"""Review benchmark: hundreds of pending actions, decided in the app's way and by spreadsheet.

Builds a scratch sample workspace, puts the workflow in shadow mode and runs it weekly with
no cooldown and a high cap until several hundred actions are pending, then measures in this
one process (best of N where repeatable):

* reading the queue (``store.pending``) and filtering it (``queue_view.apply_filter``), the
  work of one Review page rerun, against a bare ``SELECT`` of the same rows;
* ``record_decisions`` for the whole queue as one bulk batch (validation, one review row and
  one hash-chained audit entry per decision, the gate re-evaluated), against bare
  ``executemany`` inserts of the same review rows into a scratch table: the ratio is the
  price of the checks and the audit chain;
* exporting the queue as the review workbook (``review_xlsx``) against the plain formula-safe
  table writer on the same frame, and reading a filled workbook back with every check
  (``read_review_workbook``);
* ``audit.verify`` over the log the above wrote.

    python bench/review_bench.py [--weeks 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import openpyxl

from workbench import audit
from workbench.export.review_book import HEADER_ROW, review_xlsx
from workbench.export.tabular import to_xlsx_bytes
from workbench.ingest.sample import reset_to_sample
from workbench.review import store
from workbench.review.control import change_mode
from workbench.review.decide import DecisionInput, record_decisions
from workbench.review.queue_view import QueueFilter, apply_filter
from workbench.review.runs import run_workflow
from workbench.review.sheet_import import read_review_workbook
from workbench.storage.workspace import Workspace, connect
from workbench.workflow.facts import default_as_of
from workbench.workflow.model import Allocation, Experiment, Guardrails
from workbench.workflow.store import latest


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weeks", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="review_bench_"))
    try:
        con = connect(Workspace(root / "ws"))
        reset_to_sample(con)
        v = latest(con)
        assert v is not None
        wf = v.workflow.model_copy(
            update={
                "guardrails": Guardrails(
                    max_actions_per_run=1000,
                    max_per_csm_per_week=1000,
                    cooldown_days=0,
                ),
                "experiment": Experiment(allocation=Allocation(ai=100, csm=0, control=0)),
            }  # fmt: skip
        )
        change_mode(con, wf, "shadow", actor="bench", reason="benchmark")
        last = default_as_of(con)
        t = time.perf_counter()
        for i in range(args.weeks):
            run_workflow(con, wf, v.version, last - timedelta(days=7 * i), actor="bench")
        runs_s = time.perf_counter() - t
        queue = store.pending(con, wf.name)
        n = len(queue)
        print(f"{args.weeks} weekly runs (template drafter): {runs_s:.2f} s; {n:,} actions pending")

        # One Review page rerun's data work.
        read = best(lambda: store.pending(con, wf.name), args.repeat)
        bare = best(
            lambda: con.execute(
                "SELECT * FROM wb.actions a LEFT JOIN wb.reviews r USING (action_key)"
            ).df(),  # fmt: skip
            args.repeat,
        )
        filt = QueueFilter(routes=("automated",), text="renewal")
        fil = best(lambda: apply_filter(queue, filt), args.repeat)
        print(f"queue read: {read * 1000:.1f} ms (bare SELECT {bare * 1000:.1f} ms, "
              f"ratio {read / bare:.1f}x); filter: {fil * 1000:.1f} ms")  # fmt: skip

        # Spreadsheet export and read-back.
        xl = best(lambda: review_xlsx(None, wf.name, pending=queue, reviewer="Dana"), args.repeat)
        plain = best(lambda: to_xlsx_bytes(queue), args.repeat)
        data = review_xlsx(None, wf.name, pending=queue, reviewer="Dana")
        book = openpyxl.load_workbook(BytesIO(data))
        sheet = book["Review"]
        header = [str(c.value).strip().lower() for c in sheet[HEADER_ROW]]
        col = header.index("decision") + 1
        for r in range(HEADER_ROW + 1, HEADER_ROW + 1 + n):
            sheet.cell(row=r, column=col, value="approve")
        out = BytesIO()
        book.save(out)
        filled = out.getvalue()
        rd = best(lambda: read_review_workbook(con, wf, filled, "filled.xlsx"), args.repeat)
        print(f"review workbook of {n:,} rows: write {xl:.2f} s (plain table writer {plain:.2f} s, "
              f"ratio {xl / plain:.1f}x); read back with every check {rd:.2f} s")  # fmt: skip

        # Bulk decisions: the whole queue in one batch, against bare inserts.
        items = [
            DecisionInput(k, "rejected", reason="tone") if i % 10 == 0 else DecisionInput(k, "approved")
            for i, k in enumerate(queue["action_key"])
        ]  # fmt: skip
        con.execute("CREATE TEMP TABLE bare_reviews AS SELECT * FROM wb.reviews LIMIT 0")
        rows = [[i.action_key, i.decision, i.reason, "", "Dana", None, "app"] + [None] * 5
                for i in items]  # fmt: skip
        t = time.perf_counter()
        con.execute("BEGIN")
        con.executemany("INSERT INTO bare_reviews VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP, ?, ?, "
                        "?, ?, ?, ?)", [r[:5] + r[6:] for r in rows])  # fmt: skip
        con.execute("COMMIT")
        bare_ins = time.perf_counter() - t
        t = time.perf_counter()
        report = record_decisions(con, wf, items, reviewer="Dana")
        dec = time.perf_counter() - t
        print(f"bulk decisions: {report.recorded:,} in {dec:.2f} s ({dec / n * 1000:.1f} ms each; "
              f"bare inserts {bare_ins:.3f} s, ratio {dec / bare_ins:.0f}x: checks, diffs and one "
              f"audit entry each); gate: {report.gate.sentence}")  # fmt: skip

        t = time.perf_counter()
        result = audit.verify(con)
        ver = time.perf_counter() - t
        print(f"audit verify: {result.entries:,} entries in {ver:.3f} s, intact={result.ok}")
        con.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
