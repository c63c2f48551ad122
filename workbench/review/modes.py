"""The workflow's operating mode and which changes are allowed, as a pure state machine.

Modes follow the playbook: a workflow is drafted, runs in **shadow** (it
proposes, a CSM decides each action), goes **autonomous** only when the
autonomy gate passes (or with an explicit override and its reason), can be
**paused** (by a person, or automatically when sampled reviews fall below the
bar) and **rolled back** to an earlier workflow version. Every change names who
made it and why; ``check_transition`` refuses what is not allowed, in plain
words, and returns the change to record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from workbench.errors import WorkbenchError

Mode = Literal["draft", "shadow", "autonomous", "paused", "rolled_back"]
MODES: tuple[Mode, ...] = get_args(Mode)

MODE_WORDS: dict[Mode, str] = {
    "draft": "being designed: runs only preview and draft, nothing is proposed for review",
    "shadow": "shadow: every proposed action goes to a CSM, who approves, edits or rejects it",
    "autonomous": "autonomous: actions go to the outbox (never sent from here); a sample "
    "keeps going to review",
    "paused": "paused: runs propose nothing until it is resumed",
    "rolled_back": "rolled back to an earlier workflow version; start shadow again to resume",
}

# target -> the modes it may be reached from
ALLOWED: dict[Mode, frozenset[Mode]] = {
    "draft": frozenset({"shadow", "paused", "rolled_back"}),
    "shadow": frozenset({"draft", "autonomous", "paused", "rolled_back"}),
    "autonomous": frozenset({"shadow", "paused"}),
    "paused": frozenset({"shadow", "autonomous"}),
    "rolled_back": frozenset({"shadow", "autonomous", "paused"}),
}


class ModeRefused(WorkbenchError):
    """A mode change that is not allowed now, with what to do instead."""


@dataclass(frozen=True)
class ModeChange:
    """One recorded mode change."""

    from_mode: Mode
    to_mode: Mode
    actor: str
    reason: str
    at: datetime
    override: bool = False
    gate_sentence: str = ""

    def sentence(self) -> str:
        how = " (gate overridden)" if self.override else ""
        return (
            f"{self.actor} moved the workflow from {self.from_mode} to {self.to_mode}{how} "
            f"on {self.at:%Y-%m-%d %H:%M}: {self.reason}"
        )


def check_transition(
    current: Mode,
    target: Mode,
    *,
    actor: str,
    reason: str,
    gate_passes: bool | None = None,
    gate_sentence: str = "",
    override: bool = False,
    at: datetime | None = None,
) -> ModeChange:
    """The change to record, or ``ModeRefused`` saying why not and what to do.

    Args:
        current / target: The modes.
        actor: Who asks (attribution, not authentication).
        reason: Why; required for every change.
        gate_passes: The autonomy gate's verdict on the reviews so far (needed to go
            autonomous; ``None`` means it has not been evaluated).
        gate_sentence: The gate's verdict in words, kept with the change.
        override: Go autonomous although the gate does not pass (the reason says why).
    """
    if target not in MODES:
        raise ModeRefused(f"There is no mode '{target}'.", "Use one of: " + ", ".join(MODES) + ".")
    if not actor.strip():
        raise ModeRefused("Say who is changing the mode.", "Fill in your name.")
    if not reason.strip():
        raise ModeRefused(
            f"Say why the workflow goes from {current} to {target}.",
            "Every mode change is logged with its reason; write one sentence.",
        )
    if target == current:
        raise ModeRefused(f"The workflow is already in {current} mode.", "Pick another mode.")
    if current not in ALLOWED[target]:
        sources = ", ".join(sorted(ALLOWED[target]))
        raise ModeRefused(
            f"The workflow cannot go from {current} to {target}.",
            f"{target.capitalize()} can be reached from: {sources}."
            + (" Start shadow mode first." if target == "autonomous" else ""),
        )
    if target == "autonomous" and not gate_passes and not override:
        verdict = (
            "the gate has not been evaluated"
            if gate_passes is None
            else gate_sentence or "it does not pass"
        )
        raise ModeRefused(
            f"Autonomous mode is refused: the autonomy gate does not pass ({verdict}).",
            "Keep reviewing in shadow mode until it passes, or override with a reason "
            "(the override is logged).",
        )
    return ModeChange(
        from_mode=current,
        to_mode=target,
        actor=actor.strip(),
        reason=reason.strip(),
        at=(at or datetime.now()).replace(microsecond=0),
        override=bool(override and target == "autonomous" and not gate_passes),
        gate_sentence=gate_sentence,
    )


def allowed_targets(current: Mode) -> list[Mode]:
    """The modes reachable from ``current``, in the playbook's order."""
    return [m for m in MODES if m != current and current in ALLOWED[m]]
