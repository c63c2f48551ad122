"""Generated renewal outcomes with a known effect, for the workshop demo and scenario tests.

:func:`generate_outcomes` turns assignments (an outcome frame's first columns will do) into
a renewal-outcomes file with the sample book's headers, drawn so that in expectation each
arm renews at its ``renew_rate`` and has a mean expansion ARR (churned accounts count as
0) of its ``expansion_mean``. ``drop_control_share`` leaves that share of control accounts
out of the file: the planted sample-ratio mismatch of outcomes missing for one arm.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.experiment.store import assignments, current_experiment
from workbench.ingest.pipeline import ImportOptions, ImportResult, import_file
from workbench.samplebook.words import CHURN_REASONS, DOWNGRADE_REASONS
from workbench.workflow.model import Workflow

HEADERS: tuple[str, ...] = (
    "Account ID", "Renewal Date", "Outcome", "ARR Before", "ARR After", "Expansion ARR",
    "Churn Reason",
)  # fmt: skip
RENEW_RATE: Mapping[str, float] = {"control": 0.70, "csm": 0.78, "ai": 0.86}
EXPANSION_MEAN: Mapping[str, float] = {"control": 1500.0, "csm": 1800.0, "ai": 2200.0}
# Of the accounts that do not churn: the share that downgrade (no expansion) and, of the
# rest, the share that expand (by an exponential amount), so that the expectation holds.
DOWNGRADE_SHARE = 0.10
EXPAND_SHARE = 0.5
DEFAULT_ARR = 20_000.0


def generate_outcomes(
    assignments: pd.DataFrame,
    *,
    renew_rate: Mapping[str, float] = RENEW_RATE,
    expansion_mean: Mapping[str, float] = EXPANSION_MEAN,
    seed: int = 7,
    drop_control_share: float = 0.0,
    days: tuple[int, int] = (30, 150),
) -> pd.DataFrame:
    """A renewal-outcomes file frame for the assigned accounts, with a known effect per arm.

    Args:
        assignments: One row per account with ``account_id``, ``arm``, ``assigned_on`` and
            optionally ``arr`` (missing or absent: 20,000).
        renew_rate: Arm -> probability of not churning (renewed or downgraded).
        expansion_mean: Arm -> expected expansion ARR per account, churned ones as 0.
        seed: Seed of the generator; the same seed and assignments give the same frame.
        drop_control_share: Share (0..1) of control accounts left out of the file.
        days: The renewal falls this many days after ``assigned_on`` (inclusive range),
            which keeps it inside a window of at least ``days[1]`` days.

    Returns:
        Columns ``HEADERS`` (``Renewal Date`` as datetime64 dates; ``Churn Reason`` empty
        for renewals), one row per kept account, ordered by account id.

    Raises:
        ValueError: for an arm without a rate or mean, or a share outside 0..1.
    """
    if not 0.0 <= drop_control_share <= 1.0:
        raise ValueError(f"drop_control_share must be between 0 and 1, not {drop_control_share}")
    df = assignments.sort_values("account_id", kind="stable").reset_index(drop=True)
    arms = df["arm"].astype(str).to_numpy()
    missing = sorted(set(arms) - (set(renew_rate) & set(expansion_mean)))
    if missing:
        raise ValueError(f"no renew_rate or expansion_mean for arm(s) {', '.join(missing)}")
    rng = np.random.default_rng(seed)
    n = len(df)
    rate = np.array([renew_rate[a] for a in arms], dtype=float)
    mean = np.array([expansion_mean[a] for a in arms], dtype=float)
    arr = np.round(  # whole currency units, as CRM exports have them
        pd.to_numeric(df["arr"], errors="coerce").fillna(DEFAULT_ARR).to_numpy(dtype=float)
        if "arr" in df
        else np.full(n, DEFAULT_ARR)
    )
    assigned = pd.to_datetime(df["assigned_on"]).dt.normalize()
    offset = rng.integers(days[0], days[1] + 1, size=n)
    u_churn, u_down, u_expand = rng.random(n), rng.random(n), rng.random(n)
    amount = rng.exponential(1.0, size=n)
    ratio = rng.uniform(0.5, 0.85, size=n)
    reasons = rng.integers(0, 1 << 30, size=n)

    kept = u_churn < rate
    downgraded = kept & (u_down < DOWNGRADE_SHARE)
    expands = kept & ~downgraded & (u_expand < EXPAND_SHARE)
    # E[expansion] = rate * (1 - DOWNGRADE_SHARE) * EXPAND_SHARE * scale = mean.
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(rate > 0, mean / (rate * (1 - DOWNGRADE_SHARE) * EXPAND_SHARE), 0.0)
    expansion = np.where(expands, np.round(amount * scale), 0.0)
    after = np.where(kept, arr + expansion, 0.0)
    after = np.where(downgraded, np.round(arr * ratio / 10) * 10, after)
    outcome = np.where(~kept, "Churned", np.where(downgraded, "Downgraded", "Renewed"))
    reason = [
        CHURN_REASONS[r % len(CHURN_REASONS)]
        if o == "Churned"
        else DOWNGRADE_REASONS[r % len(DOWNGRADE_REASONS)]
        if o == "Downgraded"
        else None
        for o, r in zip(outcome, reasons, strict=True)
    ]
    out = pd.DataFrame(
        {
            "Account ID": df["account_id"].astype(str),
            "Renewal Date": (assigned + pd.to_timedelta(offset, unit="D")).astype("datetime64[us]"),
            "Outcome": outcome,
            "ARR Before": arr.astype("int64"),
            "ARR After": after.astype("int64"),
            "Expansion ARR": np.maximum(after - arr, 0.0).astype("int64"),
            "Churn Reason": pd.Series(reason, dtype="str"),
        }
    )
    if drop_control_share > 0:
        control = np.flatnonzero(arms == "control")
        n_drop = int(round(drop_control_share * len(control)))
        dropped = rng.choice(control, size=n_drop, replace=False)
        out = out.drop(index=out.index[dropped]).reset_index(drop=True)
    return out


def write_outcomes_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write a generated outcomes frame as CSV (ISO dates, '\\n' line ends, UTF-8)."""
    path = Path(path)
    df = frame.copy()
    for col in df.columns:
        if pd.api.types.is_datetime64_any_dtype(df[col]):
            df[col] = df[col].dt.strftime("%Y-%m-%d")
    path.write_bytes(df.to_csv(index=False, lineterminator="\n", na_rep="").encode("utf-8"))
    return path


def import_demo_outcomes(
    con: duckdb.DuckDBPyConnection,
    wf: Workflow,
    folder: Path,
    *,
    seed: int = 7,
    drop_control_share: float = 0.0,
    actor: str = "workshop",
) -> tuple[Path, ImportResult]:
    """Generate renewal outcomes for the running experiment's accounts and import them.

    The file is written to ``folder`` (kept, so a workshop can open it) and appended to the
    ``outcomes`` table through the import pipeline, like any other file.

    Raises:
        WorkbenchError: The workflow has no experiment, or no account is assigned yet.
    """
    info = current_experiment(con, wf.name)
    if info is None:
        raise WorkbenchError(
            f"'{wf.name}' has no experiment yet, so there is nobody to generate outcomes for.",
            "Run the workflow first (for a workshop: `workbench demo shadow`).",
        )
    assigned = assignments(con, info.experiment_id)
    if assigned.empty:
        raise WorkbenchError(
            f"Experiment {info.experiment_id} has no assigned accounts yet.",
            "Run the workflow on a date where it fires on accounts on the automated route.",
        )
    frame = generate_outcomes(assigned, seed=seed, drop_control_share=drop_control_share)
    folder.mkdir(parents=True, exist_ok=True)
    path = write_outcomes_csv(frame, folder / f"demo_outcomes_experiment_{info.experiment_id}.csv")
    result = import_file(con, path, ImportOptions(kind="outcomes", mode="append", actor=actor))
    return path, result


def synthetic_frame(
    n: int,
    *,
    seed: int,
    shares: tuple[float, float, float] = (0.45, 0.45, 0.10),
    lift: tuple[float, float] = (0.4, 0.2),
) -> pd.DataFrame:
    """A seeded outcome frame (see ``experiment.types``) without a workspace: ``n`` accounts
    split ai/csm/control by ``shares``, with ``lift`` (AI, CSM) on the log-odds of renewal
    and on expansion. For the statistics tests and the analysis benchmark."""
    rng = np.random.default_rng(seed)
    arm = rng.choice(["ai", "csm", "control"], size=n, p=list(shares))
    seg = rng.choice(["SMB", "Mid-market", "Enterprise"], size=n, p=[0.5, 0.35, 0.15])
    health = np.round(rng.normal(60, 15, n), 1)
    arr = np.round(rng.lognormal(10, 1, n), 2)
    eff = np.select([arm == "ai", arm == "csm"], list(lift), 0.0)
    renewed = (rng.random(n) < 1 / (1 + np.exp(-(0.2 + eff + 0.03 * (health - 60))))).astype(float)
    renewed[rng.random(n) < 0.1] = np.nan
    expansion = np.where(rng.random(n) < 0.25, rng.lognormal(7, 1.3, n), 0.0) * (1 + eff)
    return pd.DataFrame(
        {
            "account_id": [f"A{i:06d}" for i in range(n)],
            "arm": pd.array(arm, dtype="str"),
            "stratum": pd.array(seg, dtype="str"),
            "segment": pd.array(seg, dtype="str"),
            "arr": arr,
            "health_score": health,
            "assigned_on": pd.Timestamp("2026-01-05").date(),
            "run_id": 1,
            "renewed": renewed,
            "expansion_arr": expansion,
        }
    )
