"""The types the experiment modules share: arms, metrics and the per-account outcome frame.

The outcome frame (built by ``experiment.outcomes.outcome_frame``, read by
``experiment.analysis``) has one row per assigned account with these columns:

* ``account_id`` (str), ``arm`` (``ai`` | ``csm`` | ``control``), ``stratum`` (str),
* the pre-period covariates recorded at assignment: ``segment`` (str, may be missing),
  ``arr`` (float), ``health_score`` (float),
* ``assigned_on`` (date of the run that assigned it), ``run_id`` (int),
* one float column per metric, named by ``MetricSpec.name``: 0/1 for a binary metric,
  NaN when the outcome has not been observed (yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Arm = Literal["ai", "csm", "control"]
ARMS: tuple[Arm, ...] = get_args(Arm)
ARM_LABELS: dict[str, str] = {"ai": "AI-handled", "csm": "CSM-handled", "control": "Control"}
# The comparisons reported for every metric: (treatment, baseline).
PAIRS: tuple[tuple[Arm, Arm], ...] = (("ai", "control"), ("csm", "control"), ("ai", "csm"))
COVARIATES: tuple[str, ...] = ("health_score", "arr", "segment")
FRAME_COLUMNS: tuple[str, ...] = (
    "account_id", "arm", "stratum", "segment", "arr", "health_score", "assigned_on", "run_id",
)  # fmt: skip

MetricKind = Literal["binary", "continuous"]
Unit = Literal["rate", "currency", "number", "hours", "score"]


@dataclass(frozen=True)
class MetricSpec:
    """One outcome metric an experiment can track.

    Attributes:
        name: Column name in the outcome frame (``renewed``, ``expansion_arr``, ...).
        label: Human label ("Renewed").
        kind: ``binary`` (0/1, reported as a rate) or ``continuous``.
        higher_is_better: Whether an increase is good (renewal) or bad (time to respond).
        guardrail: Whether a significantly worse AI arm flags the workflow for pause.
        unit: How values are shown: rates as points, currency with a $, ...
        source: Where it comes from, in words ("renewal outcomes: first renewal after
            assignment").
    """

    name: str
    label: str
    kind: MetricKind
    higher_is_better: bool = True
    guardrail: bool = False
    unit: Unit = "number"
    source: str = ""
