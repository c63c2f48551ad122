"""Several browser tabs = several threads with a cursor each on one cached connection."""

from __future__ import annotations

import threading

from workbench.ingest.pipeline import ImportOptions, import_file
from workbench.storage.tables import list_tables


def test_cursors_per_thread_read_while_another_imports(con, write):
    first = write("a.csv", "Account ID,ARR\n" + "".join(f"A{i},{i}\n" for i in range(2000)))
    second = write("b.csv", "Account ID,ARR\n" + "".join(f"B{i},{i}\n" for i in range(3000)))
    import_file(con, first, ImportOptions(kind="accounts"))
    errors: list[BaseException] = []
    seen: set[int] = set()
    stop = threading.Event()

    def reader() -> None:
        cur = con.cursor()
        try:
            while not stop.is_set():
                n = cur.execute("SELECT count(*) FROM accounts").fetchall()[0][0]
                seen.add(n)  # always a whole table: 2000 before the swap, 3000 after
                list_tables(cur)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            cur.close()

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    writer = con.cursor()
    for _ in range(5):
        import_file(writer, second, ImportOptions(kind="accounts"))
        import_file(writer, first, ImportOptions(kind="accounts"))
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors
    assert seen <= {2000, 3000} and seen
