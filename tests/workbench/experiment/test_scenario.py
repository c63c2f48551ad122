"""Generated outcomes: the sample file's headers, deterministic, the known effect recovered."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.experiment.outcomes import outcome_frame, resolve_metrics
from workbench.experiment.scenario import (
    EXPANSION_MEAN,
    HEADERS,
    RENEW_RATE,
    generate_outcomes,
    write_outcomes_csv,
)
from workbench.ingest.pipeline import ImportOptions, import_file
from workbench.samplebook.schema import HEADERS as SAMPLE_HEADERS
from workbench.workflow.model import Experiment

SAMPLE_FILE = Path(__file__).resolve().parents[3] / "sample_data" / "renewal_outcomes.csv"


def assignments(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "account_id": [f"ACC-{i:05d}" for i in range(n)],
            "arm": rng.choice(["ai", "csm", "control"], size=n, p=[0.4, 0.4, 0.2]),
            "assigned_on": [
                date(2026, 1, 5) + pd.Timedelta(days=int(d)) for d in rng.integers(0, 60, n)
            ],
            "arr": rng.lognormal(10, 0.8, n),
        }
    )


def test_headers_are_the_sample_files():
    with SAMPLE_FILE.open(encoding="utf-8") as fh:
        sample = next(csv.reader(fh))
    assert HEADERS == tuple(sample[: len(HEADERS)]) == SAMPLE_HEADERS["outcomes"][: len(HEADERS)]
    out = generate_outcomes(assignments(50))
    assert tuple(out.columns) == HEADERS
    assert set(out["Outcome"]) <= {"Renewed", "Downgraded", "Churned"}  # the sample's words


def test_deterministic_for_a_seed_and_order_of_rows():
    a = assignments(400)
    first = generate_outcomes(a, seed=11)
    pd.testing.assert_frame_equal(first, generate_outcomes(a.iloc[::-1], seed=11))
    assert not first.equals(generate_outcomes(a, seed=12))


def test_renewals_fall_inside_the_window_and_add_up():
    a = assignments(500)
    out = generate_outcomes(a).merge(a, left_on="Account ID", right_on="account_id")
    lag = (out["Renewal Date"] - pd.to_datetime(out["assigned_on"])).dt.days
    assert lag.between(30, 150).all()
    churned = out["Outcome"] == "Churned"
    assert (out.loc[churned, "ARR After"] == 0).all() and out.loc[
        churned, "Churn Reason"
    ].notna().all()
    assert (out["Expansion ARR"] == (out["ARR After"] - out["ARR Before"]).clip(lower=0)).all()
    assert out.loc[out["Outcome"] == "Renewed", "Churn Reason"].isna().all()


def test_drop_control_share_removes_only_control_accounts():
    a = assignments(1000)
    full = generate_outcomes(a)
    srm = generate_outcomes(a, drop_control_share=0.4)
    arm = dict(zip(a["account_id"], a["arm"], strict=True))
    gone = set(full["Account ID"]) - set(srm["Account ID"])
    n_control = sum(1 for v in arm.values() if v == "control")
    assert len(gone) == round(0.4 * n_control) and {arm[g] for g in gone} == {"control"}
    # The accounts kept have the same outcomes as without the drop.
    kept = full[~full["Account ID"].isin(gone)].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, srm)
    with pytest.raises(ValueError, match="between 0 and 1"):
        generate_outcomes(a, drop_control_share=1.5)
    with pytest.raises(ValueError, match="arm"):
        generate_outcomes(a, renew_rate={"ai": 0.9})


def test_known_effect_is_recovered_through_the_import(con, tmp_path):
    a = assignments(3000, seed=5)
    path = write_outcomes_csv(generate_outcomes(a, seed=7), tmp_path / "renewals.csv")
    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(HEADERS)
    import_file(con, path, ImportOptions(kind="outcomes"))
    con.executemany(
        "INSERT INTO wb.assignments VALUES (1, ?, ?, 'all', ?, 'SMB', ?, 50, 1, ?, ?)",
        [
            [r.account_id, r.arm, i, float(r.arr), r.assigned_on, datetime(2026, 1, 5)]
            for i, r in enumerate(a.itertuples())
        ],
    )
    specs, problems = resolve_metrics(con, Experiment(window_days=180))
    assert problems == []
    frame = outcome_frame(con, 1, specs, 180)
    assert len(frame) == 3000 and frame["renewed"].notna().all()
    means = frame.groupby("arm")[["renewed", "expansion_arr"]].mean()
    for arm in ("ai", "csm", "control"):
        assert means.loc[arm, "renewed"] == pytest.approx(RENEW_RATE[arm], abs=0.04)
        assert means.loc[arm, "expansion_arr"] == pytest.approx(EXPANSION_MEAN[arm], rel=0.2)
    effect = means.loc["ai", "renewed"] - means.loc["control", "renewed"]
    assert effect == pytest.approx(RENEW_RATE["ai"] - RENEW_RATE["control"], abs=0.05)
