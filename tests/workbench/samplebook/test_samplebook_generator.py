"""The seeded sample book: determinism, headers, keys, signals that predict churn, committed files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from workbench.ingest.kinds import KINDS
from workbench.samplebook import AS_OF, FILES, HEADERS, SEED, generate_book, write_sample
from workbench.samplebook.schema import EXTRA_HEADERS

SAMPLE_DIR = Path(__file__).resolve().parents[3] / "sample_data"
SMALL = 200
CUTOFF_DAYS = 90  # backtest "as of renewal minus 90 days"
# Every kind but outcome metrics, which the sample book has no file of (experiment outcomes
# come from workbench.experiment.scenario).
SAMPLE_KINDS = [k for k in KINDS if k != "metrics"]


def normalise(header: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", header.lower()).strip()


@pytest.fixture(scope="module")
def small() -> dict[str, pd.DataFrame]:
    return generate_book(n_accounts=SMALL)


@pytest.fixture(scope="module")
def full() -> dict[str, pd.DataFrame]:
    return generate_book(n_accounts=2000)


@pytest.fixture(scope="module")
def backtest(full: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per historical renewal with the signals visible at renewal - 90 days."""
    out = full["outcomes"].copy()
    out["churned"] = out["Outcome"].eq("Churned")
    out["cutoff"] = out["Renewal Date"] - pd.Timedelta(days=CUTOFF_DAYS)
    users = full["usage"].set_index(["Account ID", "Week Start"])["Active Users"].to_dict()
    recent, before = [], []
    for account, cutoff in zip(out["Account ID"], out["cutoff"], strict=True):
        last = cutoff - pd.Timedelta(days=7)  # the last week that ended before the cutoff
        last -= pd.Timedelta(days=last.weekday())
        weeks = [users.get((account, last - pd.Timedelta(weeks=i))) for i in range(16)]
        complete = all(w is not None for w in weeks)
        recent.append(sum(weeks[:8]) if complete else None)  # type: ignore[arg-type]
        before.append(sum(weeks[8:]) if complete else None)  # type: ignore[arg-type]
    out["usage_recent"] = pd.array(recent, "Float64")
    out["usage_before"] = pd.array(before, "Float64")
    nps = full["surveys"].merge(out[["Account ID", "cutoff"]], on="Account ID")
    seen = (nps["Response Date"] < nps["cutoff"]) & (
        nps["Response Date"] >= nps["cutoff"] - pd.Timedelta(days=365)
    )
    mean_nps = nps[seen].groupby("Account ID")["Score"].mean()
    out["nps"] = out["Account ID"].map(mean_nps)
    return out


# --- determinism ------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    first = write_sample(tmp_path / "a", n_accounts=SMALL)
    second = write_sample(tmp_path / "b", n_accounts=SMALL)
    assert [p.name for p in first] == [p.name for p in second]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_different_seed_gives_different_book(small: dict[str, pd.DataFrame]) -> None:
    other = generate_book(seed=SEED + 1, n_accounts=SMALL)
    for kind in ("accounts", "usage", "tickets"):
        assert not small[kind].equals(other[kind]), kind


# --- headers and keys -------------------------------------------------------------


@pytest.mark.parametrize("kind", SAMPLE_KINDS)
def test_headers_map_to_kind_synonyms(small: dict[str, pd.DataFrame], kind: str) -> None:
    spec = KINDS[kind]
    df = small[kind]
    assert tuple(df.columns) == HEADERS[kind]
    mapped = []
    for header in df.columns:
        key = normalise(header)
        hits = [c.name for c in spec.columns if key in {normalise(s) for s in c.synonyms}]
        if header in EXTRA_HEADERS[kind]:
            assert hits == [], f"extra column {header!r} would map to {hits}"
            assert key not in {normalise(c.name) for c in spec.columns}
        else:
            assert len(hits) == 1, f"{header!r} maps to {hits}"
            mapped += hits
    assert len(mapped) == len(set(mapped)), "two headers map to the same column"
    assert set(spec.required) <= set(mapped)
    assert EXTRA_HEADERS[kind], "every file carries at least one extra column"


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        ("accounts", ["Account ID"]),
        ("accounts", ["Account Name"]),
        ("usage", ["Account ID", "Week Start"]),
        ("tickets", ["Ticket ID"]),
        ("surveys", ["Response ID"]),
        ("outcomes", ["Account ID", "Renewal Date"]),
        ("activity", ["Activity ID"]),
    ],
)
def test_keys_are_unique(small: dict[str, pd.DataFrame], kind: str, key: list[str]) -> None:
    df = small[kind]
    assert len(df) > 0
    assert not df.duplicated(key).any()
    assert df[key].notna().all().all()


@pytest.mark.parametrize("kind", ["usage", "tickets", "surveys", "outcomes", "activity"])
def test_account_ids_exist_in_accounts(small: dict[str, pd.DataFrame], kind: str) -> None:
    known = set(small["accounts"]["Account ID"])
    assert set(small[kind]["Account ID"]) <= known


def test_nothing_is_dated_on_or_after_the_export(full: dict[str, pd.DataFrame]) -> None:
    as_of = pd.Timestamp(AS_OF)
    assert (full["usage"]["Week Start"] + pd.Timedelta(days=6) < as_of).all()
    assert (full["tickets"]["Created At"] < as_of).all()
    assert (full["tickets"]["Solved At"].dropna() < as_of).all()
    assert (full["surveys"]["Response Date"] < as_of).all()
    assert (full["activity"]["Activity Date"] < as_of).all()
    assert (full["outcomes"]["Renewal Date"] <= as_of).all()
    assert (full["outcomes"]["Renewal Date"] > as_of - pd.Timedelta(days=366)).all()


def test_churned_accounts_go_quiet_after_churn(full: dict[str, pd.DataFrame]) -> None:
    out = full["outcomes"]
    churn_date = out[out["Outcome"] == "Churned"].set_index("Account ID")["Renewal Date"]
    accounts = full["accounts"].set_index("Account ID")
    assert (accounts.loc[churn_date.index, "Account Status"] == "Churned").all()
    assert (accounts.loc[churn_date.index, "ARR (USD)"] == 0).all()
    for kind, col in [
        ("usage", "Week Start"),
        ("tickets", "Created At"),
        ("activity", "Activity Date"),
    ]:
        df = full[kind]
        rows = df[df["Account ID"].isin(churn_date.index)]
        assert (rows[col] < rows["Account ID"].map(churn_date)).all(), kind


def test_book_shape(full: dict[str, pd.DataFrame]) -> None:
    accounts, out = full["accounts"], full["outcomes"]
    shares = accounts["Segment"].value_counts(normalize=True)
    assert shares["SMB"] == pytest.approx(0.60, abs=0.05)
    assert shares["Mid-Market"] == pytest.approx(0.28, abs=0.05)
    assert shares["Enterprise"] == pytest.approx(0.12, abs=0.04)
    assert accounts["CSM Owner"].nunique() == 14
    active = accounts[accounts["Account Status"] == "Active"]
    as_of = pd.Timestamp(AS_OF)
    assert active["Renewal Date"].between(as_of, as_of + pd.Timedelta(days=366)).all()
    assert 1350 <= len(out) <= 1650
    assert out["Outcome"].eq("Churned").mean() == pytest.approx(0.125, abs=0.025)
    assert set(out["Outcome"]) == {"Renewed", "Churned", "Downgraded"}
    ranges = {
        "SMB": (5_000, 40_000),
        "Mid-Market": (40_000, 200_000),
        "Enterprise": (200_000, 1_500_000),
    }
    seg = out["Account ID"].map(accounts.set_index("Account ID")["Segment"])
    for name, (low, high) in ranges.items():
        assert out.loc[seg == name, "ARR Before"].between(low, high).all(), name


def test_open_p1_tickets_exist_in_the_current_period(full: dict[str, pd.DataFrame]) -> None:
    t = full["tickets"]
    recent = t["Created At"] >= pd.Timestamp(AS_OF) - pd.Timedelta(days=30)
    open_p1 = t[recent & (t["Priority"] == "P1") & t["Status"].isin(["open", "pending"])]
    assert len(open_p1) >= 3
    assert open_p1["Solved At"].isna().all()


# --- signals relate to churn ---------------------------------------------------------


def test_backtest_window_has_usage_for_every_renewal(backtest: pd.DataFrame) -> None:
    assert backtest["usage_recent"].notna().all()


def test_usage_decline_predicts_churn(backtest: pd.DataFrame) -> None:
    dropped = (backtest["usage_recent"] < 0.7 * backtest["usage_before"]).fillna(False)
    assert dropped.sum() >= 100
    churn_dropped = backtest.loc[dropped, "churned"].mean()
    churn_rest = backtest.loc[~dropped, "churned"].mean()
    assert churn_dropped >= 2 * churn_rest, (churn_dropped, churn_rest)


def test_nps_detractors_churn_more_than_promoters(backtest: pd.DataFrame) -> None:
    detractors = backtest[backtest["nps"] <= 6]
    promoters = backtest[backtest["nps"] >= 9]
    assert len(detractors) >= 50 and len(promoters) >= 50
    assert detractors["churned"].mean() >= 2 * promoters["churned"].mean()


# --- files --------------------------------------------------------------------------


def test_tickets_csv_quotes_commas_quotes_and_newlines(tmp_path: Path, small: dict) -> None:
    write_sample(tmp_path, n_accounts=SMALL)
    text = small["tickets"]["Description"]
    assert text.str.contains("\n").any()
    assert text.str.contains('"').any()
    assert text.str.contains(",").any()
    back = pd.read_csv(tmp_path / "tickets.csv", dtype=str, keep_default_na=False)
    assert back["Description"].tolist() == text.tolist()
    assert len(back) == len(small["tickets"])


def test_accounts_xlsx_has_a_title_row_above_the_header() -> None:
    wb = load_workbook(SAMPLE_DIR / "accounts.xlsx")
    ws = wb["Accounts"]
    assert ws["A1"].value == f"Book of business — exported {AS_OF.isoformat()}"
    assert all(cell.value is None for cell in ws[2])
    header = [cell.value for cell in ws[3]]
    assert tuple(header) == HEADERS["accounts"]
    assert all(cell.font.bold for cell in ws[3])
    renewal = ws.cell(4, header.index("Renewal Date") + 1)
    assert renewal.is_date


def test_manifest_lists_the_files_in_import_order() -> None:
    manifest = json.loads((SAMPLE_DIR / "manifest.json").read_text(encoding="utf-8"))
    assert manifest[0]["kind"] == "accounts"
    assert manifest[0]["sheet"] == "Accounts"
    assert sorted(m["kind"] for m in manifest) == sorted(SAMPLE_KINDS)
    for entry in manifest:
        assert set(entry) == {"file", "kind", "sheet", "description"}
        assert (SAMPLE_DIR / entry["file"]).is_file()


def test_committed_sample_matches_the_generator(tmp_path_factory: pytest.TempPathFactory) -> None:
    fresh = tmp_path_factory.mktemp("sample")
    written = write_sample(fresh)
    assert {p.name for p in written} == {f.file for f in FILES} | {"manifest.json"}
    for spec in FILES:
        if spec.sheet:
            got = pd.read_excel(
                SAMPLE_DIR / spec.file, sheet_name=spec.sheet, header=2, engine="calamine"
            )
            want = pd.read_excel(
                fresh / spec.file, sheet_name=spec.sheet, header=2, engine="calamine"
            )
        else:
            got = pd.read_csv(SAMPLE_DIR / spec.file, dtype=str, keep_default_na=False)
            want = pd.read_csv(fresh / spec.file, dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(got, want, obj=spec.file)
    assert json.loads((SAMPLE_DIR / "manifest.json").read_text(encoding="utf-8")) == json.loads(
        (fresh / "manifest.json").read_text(encoding="utf-8")
    )
    assert (SAMPLE_DIR / "README.md").is_file()


def test_sample_is_small_enough() -> None:
    total = sum(p.stat().st_size for p in SAMPLE_DIR.iterdir() if p.is_file())
    assert total < 12 * 1024 * 1024


def test_readme_figures_match_the_sample(full: dict, backtest: pd.DataFrame) -> None:
    readme = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    for spec in FILES:
        line = next(row for row in readme.splitlines() if row.startswith(f"| `{spec.file}`"))
        assert f"| {len(full[spec.kind]):,} |" in line, spec.file
    dropped = (backtest["usage_recent"] < 0.7 * backtest["usage_before"]).fillna(False)
    for rate in (
        backtest["churned"].mean(),
        backtest.loc[dropped, "churned"].mean(),
        backtest.loc[~dropped, "churned"].mean(),
        backtest.loc[backtest["nps"] <= 6, "churned"].mean(),
        backtest.loc[backtest["nps"] >= 9, "churned"].mean(),
    ):
        assert f"{100 * rate:.1f} %" in readme
