"""Column mapping: suggest which file header feeds which canonical column.

A suggestion uses header names first (exact synonym, then token and fuzzy
matches) and the values second (ids, dates, e-mails, priorities), and says why
it chose each column so the user can judge it in the mapping editor.
"""

from __future__ import annotations

import re
from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Literal

from workbench.errors import WorkbenchError
from workbench.ingest.kinds import Column, DatasetKind

Confidence = Literal["exact", "likely", "guess"]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_ID_SUFFIX = re.compile(r"(?<=[a-z])(id)$")


def normalise_header(header: str) -> str:
    """Lowercase words of a header: ``customerID`` -> ``customer id``, ``ARR (USD)`` -> ``arr usd``."""
    text = _CAMEL.sub(" ", header.strip())
    text = _NON_ALNUM.sub(" ", text.lower()).strip()
    # "customerid" / "accountid" typed without a space or capital
    text = _ID_SUFFIX.sub(" id", text) if " " not in text and len(text) > 4 else text
    return re.sub(r"\s+", " ", text)


def snake_name(header: str) -> str:
    """A safe column name for an extra column: ``Health Score (Gainsight)`` -> ``health_score_gainsight``."""
    name = normalise_header(header).replace(" ", "_") or "column"
    if name[0].isdigit():
        name = "c_" + name
    return name


@dataclass(frozen=True)
class ColumnChoice:
    """The source header chosen for one canonical column, and why."""

    column: str
    source: str | None
    confidence: Confidence | None = None
    reason: str = ""


@dataclass(frozen=True)
class Mapping:
    """Which source header feeds each canonical column.

    Attributes:
        kind: Dataset kind name.
        assignments: canonical column -> source header (only mapped columns).
        ignored: Source headers the user chose to drop (everything else unmapped is kept as an extra column).
    """

    kind: str
    assignments: dict[str, str] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()

    def source_for(self, column: str) -> str | None:
        return self.assignments.get(column)

    def extras(self, headers: Sequence[str]) -> list[str]:
        """Source headers that are neither mapped nor ignored, in file order."""
        used = set(self.assignments.values()) | set(self.ignored)
        return [h for h in headers if h not in used]

    def to_json_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "assignments": dict(self.assignments),
            "ignored": list(self.ignored),
        }

    @classmethod
    def from_json_dict(cls, data: MappingABC[str, object]) -> Mapping:
        assignments = data.get("assignments", {})
        ignored = data.get("ignored", [])
        if not isinstance(assignments, dict) or not isinstance(ignored, list):
            raise WorkbenchError("A saved mapping is malformed.", "Save the mapping profile again.")
        return cls(
            kind=str(data["kind"]),
            assignments={str(k): str(v) for k, v in assignments.items()},
            ignored=tuple(str(x) for x in ignored),
        )


@dataclass(frozen=True)
class MappingSuggestion:
    """A proposed mapping plus the reason for every canonical column."""

    mapping: Mapping
    choices: tuple[ColumnChoice, ...]

    def guess_notes(self) -> list[str]:
        """Sentences for the columns chosen from their values only, to be checked."""
        return [
            f"'{c.source}' was mapped to {c.column} only because {c.reason}; check the mapping."
            for c in self.choices
            if c.confidence == "guess" and c.source
        ]

    @property
    def missing_required(self) -> list[str]:
        return [c.column for c in self.choices if c.source is None and c.reason == "required"]


def check_mapping(kind: DatasetKind, mapping: Mapping, headers: Sequence[str]) -> None:
    """Reject mappings that point at headers the file lacks or use one header twice."""
    known = set(headers)
    seen: dict[str, str] = {}
    for column, source in mapping.assignments.items():
        kind.column(column)  # raises NotFound for an unknown canonical column
        if source not in known:
            raise WorkbenchError(
                f"The mapping sends column '{source}' to '{column}', but the file has no such column.",
                f"Pick one of the file's columns: {', '.join(headers)}.",
            )
        if source in seen:
            raise WorkbenchError(
                f"Column '{source}' is mapped to both '{seen[source]}' and '{column}'.",
                "Map each file column to one canonical column.",
            )
        seen[source] = column


def _name_score(col: Column, header: str) -> tuple[float, str]:
    norm = normalise_header(header)
    names = (col.name.replace("_", " "), *col.synonyms)
    if norm in names:
        return 1.0, f"header '{header}' is a known name for {col.name}"
    tokens = set(norm.split())
    best = 0.0
    reason = ""
    for syn in names:
        syn_tokens = set(syn.split())
        if len(syn_tokens) > 1 and syn_tokens <= tokens:
            score = 0.8 * len(syn_tokens) / max(len(tokens), 1) + 0.1
            if score > best:
                best, reason = score, f"header '{header}' contains '{syn}'"
        ratio = SequenceMatcher(None, norm, syn).ratio()
        if ratio >= 0.85 and ratio * 0.8 > best:
            best, reason = ratio * 0.8, f"header '{header}' resembles '{syn}'"
    return best, reason


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}|^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}")
_PRIORITY = re.compile(r"^(p[0-4]|low|normal|medium|high|urgent|critical|sev ?[1-4])$", re.I)


def _value_score(col: Column, values: Sequence[str]) -> tuple[float, str]:
    vals = [v for v in values if v is not None and str(v).strip()][:200]
    if not vals:
        return 0.0, ""

    def share(pattern: re.Pattern[str]) -> float:
        return sum(1 for v in vals if pattern.search(str(v).strip())) / len(vals)

    # A file often has several dates (last login, created...): values alone only
    # pick the date a kind cannot do without, never an optional one.
    if col.type in ("date", "timestamp") and col.required and share(_DATE) >= 0.9:
        return 0.5, "values look like dates"
    if col.name == "contact_email" and share(_EMAIL) >= 0.9:
        return 0.6, "values look like e-mail addresses"
    if col.name == "priority" and share(_PRIORITY) >= 0.9:
        return 0.6, "values look like priorities"
    return 0.0, ""


def suggest_mapping(
    kind: DatasetKind,
    headers: Sequence[str],
    samples: MappingABC[str, Sequence[str]] | None = None,
) -> MappingSuggestion:
    """Suggest a mapping for ``headers`` (and optional sample values per header).

    Each canonical column takes the best-scoring unused header; exact synonyms
    win over fuzzy matches, which win over value-based guesses.
    """
    samples = samples or {}
    candidates: list[tuple[float, int, str, str, str]] = []
    for ci, col in enumerate(kind.columns):
        for header in headers:
            score, reason = _name_score(col, header)
            if score < 0.6:
                vscore, vreason = _value_score(col, samples.get(header, ()))
                if vscore > score:
                    score, reason = vscore, vreason
            if score >= 0.5:
                candidates.append((score, -ci, col.name, header, reason))
    candidates.sort(reverse=True)
    assigned: dict[str, str] = {}
    reasons: dict[str, tuple[Confidence, str]] = {}
    used: set[str] = set()
    for score, _, column, header, reason in candidates:
        if column in assigned or header in used:
            continue
        assigned[column] = header
        used.add(header)
        confidence: Confidence = "exact" if score >= 1.0 else "likely" if score >= 0.7 else "guess"
        reasons[column] = (confidence, reason)
    choices = []
    for col in kind.columns:
        if col.name in assigned:
            conf, why = reasons[col.name]
            choices.append(ColumnChoice(col.name, assigned[col.name], conf, why))
        else:
            choices.append(ColumnChoice(col.name, None, None, "required" if col.required else ""))
    ordered = {c.name: assigned[c.name] for c in kind.columns if c.name in assigned}
    return MappingSuggestion(Mapping(kind.name, ordered), tuple(choices))


def guess_kind(
    kinds: Sequence[DatasetKind],
    headers: Sequence[str],
    samples: MappingABC[str, Sequence[str]] | None = None,
    file_name: str = "",
) -> DatasetKind:
    """The kind whose required columns a file covers best (file name words break ties)."""
    name = normalise_header(file_name)

    def score(kind: DatasetKind) -> tuple[int, int, int, int]:
        suggestion = suggest_mapping(kind, headers, samples)
        mapped = suggestion.mapping.assignments
        required = sum(1 for c in kind.required if c in mapped)
        exact = sum(1 for c in suggestion.choices if c.confidence == "exact")
        named = int(
            kind.name.rstrip("s") in name or kind.label.lower().split()[-1].rstrip("s") in name
        )
        return (required == len(kind.required), named, exact, required)

    return max(kinds, key=score)
