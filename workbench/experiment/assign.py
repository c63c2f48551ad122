"""Assign accounts to arms: deterministic, stratified, stable.

Each account on the automated route that a run fires on gets an arm the first time it fires
in an experiment, and keeps it (``store`` records it). Within a stratum (segment x ARR band)
accounts enter in the order of a hash of the experiment's salt and the account id, and the
k-th account to enter takes the k-th slot of a **permuted block**: a block holds the
allocation in whole numbers (45/45/10 is a block of 20: 9 ai, 9 csm, 2 control), shuffled
by a hash of the salt, stratum and block number. So every stratum is balanced to within one
block, the result depends on nothing but the salt, the accounts and their order of entry, and
no random state is involved.

Pure: frames in, frames out.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence

import pandas as pd

from workbench.experiment.types import ARMS, Arm

MAX_BLOCK = 100


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()


def band_label(arr: float | None, bands: Sequence[float]) -> str:
    """The ARR band of a value in words: ``under 25,000``, ``25,000 to 100,000``, ..."""
    if arr is None or (isinstance(arr, float) and math.isnan(arr)):
        return "ARR unknown"
    edges = list(bands)
    if not edges:
        return "any ARR"
    if arr < edges[0]:
        return f"under {edges[0]:,.0f}"
    for low, high in zip(edges, edges[1:], strict=False):
        if arr < high:
            return f"{low:,.0f} to {high:,.0f}"
    return f"{edges[-1]:,.0f} and over"


def stratum_of(segment: object, arr: float | None, bands: Sequence[float]) -> str:
    """The stratum an account is balanced within: segment x ARR band."""
    seg = "no segment" if segment is None or pd.isna(segment) else str(segment)  # type: ignore[call-overload]
    return f"{seg} · {band_label(arr, bands)}"


def block_counts(percents: Mapping[str, float]) -> dict[Arm, int]:
    """The allocation as whole slots per block: 45/45/10 -> 9/9/2.

    Percentages with decimals are rounded to whole percent first, so a block never holds
    more than 100 slots (the sample-ratio check still compares with the exact plan).
    """
    counts = {a: int(round(float(percents.get(a, 0)))) for a in ARMS}
    if sum(counts.values()) == 0:
        counts = {"ai": 1, "csm": 0, "control": 0}
    divisor = 0
    for c in counts.values():
        divisor = math.gcd(divisor, c)
    divisor = divisor or 1
    out: dict[Arm, int] = {a: c // divisor for a, c in counts.items()}
    assert 0 < sum(out.values()) <= MAX_BLOCK
    return out


def block(salt: str, stratum: str, number: int, counts: Mapping[Arm, int]) -> list[Arm]:
    """One permuted block: the slots of ``counts`` shuffled by a hash (stable for its inputs)."""
    slots = [arm for arm in ARMS for _ in range(counts.get(arm, 0))]
    keys = [_digest(salt, stratum, number, i) for i in range(len(slots))]
    return [arm for _, arm in sorted(zip(keys, slots, strict=True))]


def entry_order(salt: str, account_ids: Sequence[str]) -> list[str]:
    """The order new accounts enter their strata: by a hash of the salt and the id."""
    return sorted(account_ids, key=lambda a: _digest(salt, a))


def assign_new(
    new: pd.DataFrame,
    taken: Mapping[str, int],
    percents: Mapping[str, float],
    salt: str,
) -> pd.DataFrame:
    """Arms for accounts entering the experiment.

    Args:
        new: ``account_id`` and ``stratum`` of accounts not assigned yet (unique ids).
        taken: How many accounts each stratum already holds in this experiment.
        percents: The allocation in percent per arm (``Allocation.model_dump()``).
        salt: The experiment's salt.

    Returns:
        ``account_id``, ``stratum``, ``position`` (0-based entry order in the stratum) and
        ``arm``, in entry order.
    """
    columns = ["account_id", "stratum", "position", "arm"]
    if new.empty:
        return pd.DataFrame(columns=columns)
    counts = block_counts(percents)
    size = sum(counts.values())
    stratum = dict(zip(new["account_id"].astype(str), new["stratum"].astype(str), strict=True))
    filled = dict(taken)
    blocks: dict[tuple[str, int], list[Arm]] = {}
    rows: list[tuple[str, str, int, Arm]] = []
    for account in entry_order(salt, list(stratum)):
        s = stratum[account]
        position = filled.get(s, 0)
        filled[s] = position + 1
        number, slot = divmod(position, size)
        if (s, number) not in blocks:
            blocks[(s, number)] = block(salt, s, number, counts)
        rows.append((account, s, position, blocks[(s, number)][slot]))
    return pd.DataFrame(rows, columns=columns)
