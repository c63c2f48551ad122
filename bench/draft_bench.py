"""Drafting benchmark: 200 accounts against a loopback model server that answers in 200 ms.

Builds the context packets of the accounts the default workflow fires on in a
sample-book workspace (replicated with distinct account ids and names up to
``--accounts`` when the sample fires on fewer), starts the tests' scripted
OpenAI-compatible server on loopback answering every request after ``--delay``
seconds, warms litellm up with one request (not counted), then in this one
process:

* drafts every account through litellm at each concurrency (1, 4, 8, 16) with
  an empty in-memory answer cache each time (``batch.run_drafts`` with a
  Drafter from ``run.make_drafter``) and prints the wall time against the ideal
  ``accounts x delay / concurrency``, the ratio (target: within 1.3x at 8), the
  requests the server received and the most it had in flight at once;
* drafts them all again with the cache the last run filled: the time, and the
  requests the server received (target: 0);
* repeats the concurrency-8 run and the cached rerun with the workspace's DuckDB
  answer cache (``store.DuckCache``, as the Drafts page and the CLI use it), whose
  writes happen on the caller's thread: no target, it shows what the store costs.

The scripted server (``tests/llm_server.py``) sets TCP_NODELAY: it writes headers
and body in two sends, and with Nagle's algorithm on the second would wait for
the client's delayed ACK (about 40 ms on Linux), the server's cost, not the
engine's.

    python bench/draft_bench.py [--accounts 200] [--delay 0.2] [--concurrency 1,4,8,16]
        [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' loopback server lives in tests/

from tests.llm_server import LLMServer, Reply, echo_account  # noqa: E402
from workbench.drafting.batch import DraftRun, run_drafts  # noqa: E402
from workbench.drafting.engine import AnswerCache, Trace  # noqa: E402
from workbench.drafting.gateway import litellm_module  # noqa: E402
from workbench.drafting.packet import ContextPacket  # noqa: E402
from workbench.drafting.run import make_drafter, select_packets  # noqa: E402
from workbench.drafting.settings import LLMSettings  # noqa: E402
from workbench.drafting.store import DuckCache  # noqa: E402
from workbench.ingest.sample import reset_to_sample  # noqa: E402
from workbench.storage.workspace import Workspace, connect  # noqa: E402
from workbench.workflow.facts import default_as_of  # noqa: E402
from workbench.workflow.loader import default_workflow_text, parse_workflow  # noqa: E402
from workbench.workflow.preview import preview  # noqa: E402

TARGET_AT = 8
TARGET_RATIO = 1.3


class SlowServer:
    """The default answer: waits ``delay`` seconds, counting the requests in flight."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.max_in_flight = self.in_flight

    def __call__(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
        finally:
            with self._lock:
                self.in_flight -= 1
        return echo_account(request)


class MemoryCache:
    """An ``AnswerCache`` in a dict: the engine's cost without the workspace's writes."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[str, str]] = {}

    def get_many(self, keys: Any) -> dict[str, tuple[str, str]]:
        return {k: self.answers[k] for k in keys if k in self.answers}

    def put(self, key: str, trace: Trace, outcome: str, answer: str) -> None:
        self.answers[key] = (outcome, answer)


@dataclass(frozen=True)
class Timed:
    concurrency: int
    wall_s: float
    requests: int
    max_in_flight: int
    run: DraftRun
    cache: AnswerCache


def replicate(packets: list[ContextPacket], n: int) -> list[ContextPacket]:
    """``n`` packets: the fired ones, then copies with distinct account ids and names."""
    out = []
    for i in range(n):
        p = packets[i % len(packets)]
        copy = i // len(packets)
        if copy:
            p = replace(p, account_id=f"{p.account_id}-{copy}", account_name=f"{p.account_name} {copy}")  # fmt: skip
        out.append(p)
    return out


def timed_run(
    con: Any,
    wf: Any,
    packets: list[ContextPacket],
    srv: LLMServer,
    slow: SlowServer,
    settings: LLMSettings,
    cache: AnswerCache,
) -> Timed:
    drafter = make_drafter(con, wf, settings)
    before = len(srv.requests)
    slow.reset()
    started = time.perf_counter()
    run = run_drafts(packets, drafter, cache=cache)
    wall = time.perf_counter() - started
    return Timed(
        settings.concurrency, wall, len(srv.requests) - before, slow.max_in_flight, run, cache
    )


def row(t: Timed, n: int, delay: float) -> str:
    ideal = n * delay / t.concurrency
    s = t.run.summary
    assert s is not None
    return (
        f"{t.concurrency:>11} {t.wall_s:>8.2f}s {ideal:>8.2f}s {t.wall_s / ideal:>6.2f}x "
        f"{t.requests:>9} {t.max_in_flight:>9} {s.p50_ms or 0:>6.0f}ms "
        f"{s.p95_ms or 0:>6.0f}ms  {outcomes(t.run)}"
    )


def outcomes(run: DraftRun) -> str:
    counts: dict[str, int] = {}
    for r in run.results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return ", ".join(f"{n} {o}" for o, n in sorted(counts.items()))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--delay", type=float, default=0.2, help="Seconds the server takes per answer.")
    ap.add_argument("--concurrency", default="1,4,8,16", help="Comma-separated levels.")
    ap.add_argument("--quick", action="store_true", help="40 accounts instead of --accounts.")
    args = ap.parse_args()
    n = 40 if args.quick else args.accounts
    levels = [int(x) for x in args.concurrency.split(",") if x.strip()]

    work = Path(tempfile.mkdtemp(prefix="wb-draft-bench-"))
    try:
        t0 = time.perf_counter()
        con = connect(Workspace(work / "ws"))
        reset_to_sample(con)
        wf = parse_workflow(default_workflow_text())
        pv = preview(con, wf, default_as_of(con))
        fired = select_packets(con, wf, pv)
        packets = replicate(fired, n)
        print(
            f"sample book: the default workflow fires on {len(fired)} accounts as of {pv.as_of}; "
            f"{n} packets ({len(packets) - min(n, len(fired))} replicated with new ids and names); "
            f"set up in {time.perf_counter() - t0:.1f} s"
        )
        slow = SlowServer(args.delay)
        with LLMServer(default=slow) as srv:
            base = LLMSettings(
                model="openai/fake",
                api_base=srv.api_base,
                timeout_s=30,
                max_attempts=3,
                breaker_failures=100,
            )
            t0 = time.perf_counter()
            litellm_module()
            warm = make_drafter(con, wf, base).draft(packets[0])[0]
            assert warm.outcome == "ok", warm.note
            lit = sys.modules["litellm"]
            version = getattr(lit, "__version__", None) or _dist_version("litellm")
            print(
                f"litellm {version}: import and first request {time.perf_counter() - t0:.2f} s "
                f"(warm-up, not counted); server answers after {args.delay * 1000:.0f} ms; "
                "TCP_NODELAY on; "
                f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
            )
            print()
            print(f"{'concurrency':>11} {'wall':>9} {'ideal':>9} {'ratio':>7} {'requests':>9} "
                  f"{'in flight':>9} {'p50':>8} {'p95':>8}  outcomes")  # fmt: skip
            results: list[Timed] = []
            for c in levels:
                t = timed_run(con, wf, packets, srv, slow, replace(base, concurrency=c), MemoryCache())  # fmt: skip
                results.append(t)
                print(row(t, n, args.delay), flush=True)
            last = results[-1]
            cached = timed_run(  # with the cache the last run filled
                con, wf, packets, srv, slow, replace(base, concurrency=last.concurrency), last.cache
            )
            duck = DuckCache(con)
            duck.clear()
            on_duck = timed_run(
                con, wf, packets, srv, slow, replace(base, concurrency=TARGET_AT), duck
            )
            print(row(on_duck, n, args.delay) + "  (DuckDB cache in the workspace)", flush=True)
            duck_cached = timed_run(
                con, wf, packets, srv, slow, replace(base, concurrency=TARGET_AT), duck
            )
        con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    per_request = [
        (t.wall_s * t.concurrency / n - args.delay) * 1000 for t in results if t.concurrency == 1
    ]
    print()
    if per_request:
        print(
            f"engine and client overhead per request at concurrency 1: "
            f"{statistics.mean(per_request):.1f} ms above the server's {args.delay * 1000:.0f} ms"
        )
    print(
        f"cached run (the in-memory cache filled by the concurrency-{last.concurrency} run): "
        f"{cached.wall_s:.3f} s for {n} accounts, {cached.requests} requests to the server "
        f"({outcomes(cached.run)})  {verdict(cached.requests == 0)}"
    )
    print(
        f"with the workspace's DuckDB cache at concurrency {TARGET_AT}: {on_duck.wall_s:.2f} s "
        f"({on_duck.wall_s / (n * args.delay / TARGET_AT):.2f}x ideal, no target); its cached "
        f"rerun {duck_cached.wall_s:.3f} s, {duck_cached.requests} requests "
        f"({outcomes(duck_cached.run)})  {verdict(duck_cached.requests == 0)}"
    )
    at = next((t for t in results if t.concurrency == TARGET_AT), None)
    ratios = ", ".join(
        f"c={t.concurrency} {t.wall_s:.2f}s/{n * args.delay / t.concurrency:.2f}s = "
        f"{t.wall_s / (n * args.delay / t.concurrency):.2f}x"
        for t in results
    )
    print()
    print("== summary " + "=" * 60)
    line = f"draft bench ({n} accounts, {args.delay * 1000:.0f} ms server): wall/ideal {ratios}"
    if at is not None:
        ratio = at.wall_s / (n * args.delay / TARGET_AT)
        line += (
            f"; at {TARGET_AT}: {ratio:.2f}x (target <= {TARGET_RATIO:g}x) "
            f"{verdict(ratio <= TARGET_RATIO)}"
        )
    line += (
        f"; cached rerun {cached.wall_s:.3f} s with {cached.requests} requests "
        f"{verdict(cached.requests == 0)} (DuckDB cache: {duck_cached.wall_s:.3f} s, "
        f"{duck_cached.requests} requests)"
    )
    print(line)


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    main()
