"""A real browser (Playwright driving Debian's Chromium) imports a file through the Data page."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.browser

CSV = "Account ID,Account Name,Segment,ARR,Renewal Date\nB-1,Bravo,SMB,1200,2027-01-31\nB-2,Charlie,Enterprise,99000,2027-02-28\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(ws: Path, sample: bool):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (./dev test installs it when it can)")
    pytest.importorskip("playwright.sync_api")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKBENCH_LLM_")}
    env["WORKBENCH_WORKSPACE"] = str(ws)
    if sample:
        env.pop("WORKBENCH_NO_SAMPLE", None)
    else:
        env["WORKBENCH_NO_SAMPLE"] = "1"
    streamlit = shutil.which("streamlit", path=str(Path(sys.executable).parent)) or "streamlit"
    proc = subprocess.Popen(
        [
            streamlit,
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://localhost:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not start: " + (proc.stdout.read() if proc.stdout else ""))
    return url, proc


def _stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    url, proc = _start(tmp_path_factory.mktemp("browser") / "ws", sample=False)
    yield url
    _stop(proc)


@pytest.fixture(scope="module")
def sample_server(tmp_path_factory):
    url, proc = _start(tmp_path_factory.mktemp("browser_sample") / "ws", sample=True)
    yield url
    _stop(proc)


def _settle(page) -> None:
    """Wait until Streamlit has finished the current run (the status widget detaches).

    A page that calls ``st.rerun()`` starts a second run right after the first: the widget can
    detach for a moment in between, so it is checked twice."""
    status = page.locator('[data-testid="stStatusWidget"]')
    for _ in range(2):
        page.wait_for_timeout(300)
        status.wait_for(state="detached", timeout=60_000)


def test_import_through_the_page_shows_table_in_sidebar(server, tmp_path):
    from playwright.sync_api import sync_playwright

    csv_path = tmp_path / "new accounts.csv"
    csv_path.write_text(CSV, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server}/data", wait_until="domcontentloaded")
        page.get_by_role("heading", name="Data").wait_for(timeout=60_000)
        _settle(page)
        sidebar = page.locator('[data-testid="stSidebar"]')
        assert "No tables yet" in sidebar.inner_text()

        page.locator('input[type="file"]').set_input_files(str(csv_path))
        button = page.get_by_role("button", name=re.compile(r"Import into .*accounts"))
        button.wait_for(timeout=60_000)
        _settle(page)
        assert "no problems found" in page.inner_text("body")
        button.click()
        page.get_by_text("Imported 2 rows into").wait_for(timeout=60_000)
        _settle(page)
        sidebar.get_by_text("accounts").first.wait_for(timeout=30_000)
        text = sidebar.inner_text()
        assert "accounts" in text and "2" in text
        page.screenshot(path=str(tmp_path / "after-import.png"), full_page=True)
        browser.close()


def test_workflow_journey_on_the_sample_book(sample_server):
    """Workflow in words, the preview with reasons, the explorer and a backtest run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{sample_server}/workflow", wait_until="domcontentloaded")
        page.get_by_text("Senior CSM for at-risk renewals").first.wait_for(timeout=90_000)
        _settle(page)
        assert page.get_by_text("health score below 60").first.is_visible()

        page.goto(f"{sample_server}/preview", wait_until="domcontentloaded")
        page.get_by_text(re.compile(r"the workflow fires on \d+ of")).first.wait_for(timeout=90_000)
        _settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0

        page.goto(f"{sample_server}/thresholds", wait_until="domcontentloaded")
        page.locator('[data-testid="stSlider"]').first.wait_for(timeout=90_000)
        _settle(page)
        assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 1

        page.goto(f"{sample_server}/backtest", wait_until="domcontentloaded")
        page.get_by_role("button", name="Run backtest").wait_for(timeout=90_000)
        _settle(page)
        page.get_by_role("button", name="Run backtest").click()
        page.get_by_text(re.compile(r"would have flagged \d+ of \d+ churners")).first.wait_for(
            timeout=90_000
        )
        _settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0

        # Drafts, offline: the template drafter writes a draft for every firing account.
        page.goto(f"{sample_server}/drafts", wait_until="domcontentloaded")
        go = page.get_by_role("button", name=re.compile(r"Draft \d+ accounts"))
        go.wait_for(timeout=90_000)
        _settle(page)
        assert page.get_by_text("template drafter (no LLM configured)").first.is_visible()
        fired = int(re.search(r"\d+", go.inner_text()).group(0))
        go.click()
        drafted = page.locator('[data-testid="stMetric"]', has_text="Drafted").first
        drafted.wait_for(timeout=90_000)
        _settle(page)
        assert f"{fired:,}" in drafted.inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()


def test_shadow_review_journey(sample_server):
    """Start shadow mode, run, approve one action, see the gate, governance and the audit log."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{sample_server}/review", wait_until="domcontentloaded")
        page.get_by_role("heading", name="Review").first.wait_for(timeout=90_000)
        _settle(page)
        page.get_by_role("textbox", name="Your name").fill("Dana")
        page.get_by_role("textbox", name="Why (required, logged)").fill("Two-week shadow period")
        page.get_by_role("button", name=re.compile("Start shadow mode")).click()
        _settle(page)
        # Until the rerun after "Start shadow mode" finishes, the page can still hold the
        # disabled button of the draft-mode run beside the new one: wait for the enabled one.
        run = page.get_by_role("button", name="Run now", disabled=False)
        run.wait_for(timeout=60_000)
        _settle(page)
        run.click()
        page.get_by_text(re.compile(r"Run \d+ \(shadow, as of")).first.wait_for(timeout=90_000)
        _settle(page)
        page.get_by_role("button", name="Approve and next").click()
        page.get_by_text("Recorded 1 decision (1 approved as-is).").first.wait_for(timeout=60_000)
        _settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0

        page.goto(f"{sample_server}/approval", wait_until="domcontentloaded")
        page.get_by_text(re.compile(r"not enough reviews: \d+ of at least 30")).first.wait_for(
            timeout=90_000
        )
        _settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0

        for path, text in (("governance", "Rollback"), ("audit_log", "chain intact")):
            page.goto(f"{sample_server}/{path}", wait_until="domcontentloaded")
            page.get_by_text(re.compile(text)).first.wait_for(timeout=90_000)
            _settle(page)
            assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()


@pytest.fixture(scope="module")
def srm_server(sample_root, tmp_path_factory):
    """The broad experiment (about 1,300 accounts) with 60% of control outcomes left out."""
    from tests.experiment_scenarios import add_outcomes, run_broad

    ws = Path(shutil.copytree(sample_root, tmp_path_factory.mktemp("browser_srm") / "ws"))
    run_broad(ws)
    add_outcomes(ws, drop_control_share=0.6)
    url, proc = _start(ws, sample=False)
    yield url
    _stop(proc)


def _choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label`` (a click during a rerun can land on
    a box that is being redrawn, so the list is opened again when it did not appear)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = page.locator('[data-testid="stSelectbox"]', has_text=label).first
    for _ in range(3):
        box.click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=5_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            _settle(page)
    pytest.fail(f"could not choose {option!r} in {label!r}")


def test_outcomes_journey(srm_server):
    """The Outcomes page on a planted sample ratio mismatch: the loud warning, the verdict,
    and a segment filter that redraws the cards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{srm_server}/outcomes", wait_until="domcontentloaded")
        page.get_by_role("heading", name="Power calculator").wait_for(timeout=90_000)
        _settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0

        srm = page.locator('[data-testid="stAlert"]', has_text="Sample ratio mismatch").first
        assert "WARNING — SAMPLE RATIO MISMATCH" in srm.inner_text()
        assert re.search(
            r"Control \d+ vs \d+ expected; chi-square [\d.]+, p < 0\.001", srm.inner_text()
        )

        verdict = page.locator('[data-testid="stAlert"]', has_text="Renewed: AI-handled").first
        whole = verdict.inner_text()
        assert "Do not trust this yet, the split differs from the plan." in whole
        assert re.search(
            r"Renewed: AI-handled [\d.]+% vs control [\d.]+%: \+[\d.]+ points \(95% CI", whole
        )

        _choose(page, "Segment", "SMB")
        page.get_by_text("Showing accounts of the SMB segment").wait_for(timeout=60_000)
        _settle(page)
        smb = page.locator('[data-testid="stAlert"]', has_text="Renewed: AI-handled").first
        assert smb.inner_text() != whole and "Renewed: AI-handled" in smb.inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()
