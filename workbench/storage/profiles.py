"""Mapping profiles: a saved mapping so next month's export imports in one click."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from workbench.errors import NotFound, WorkbenchError
from workbench.ingest.mapping import Mapping


@dataclass(frozen=True)
class MappingProfile:
    """A named mapping with the import options it was saved with."""

    name: str
    kind: str
    mapping: Mapping
    headers: tuple[str, ...]
    options: dict[str, object] = field(default_factory=dict)

    def fits(self, headers: Sequence[str]) -> bool:
        """True when every mapped source header is present in ``headers``."""
        return set(self.mapping.assignments.values()) <= set(headers)


def save_profile(
    con: duckdb.DuckDBPyConnection,
    name: str,
    mapping: Mapping,
    headers: Sequence[str],
    options: dict[str, object] | None = None,
) -> MappingProfile:
    """Create or update a profile (one statement, so it is atomic)."""
    name = name.strip()
    if not name:
        raise WorkbenchError(
            "A mapping profile needs a name.", "Type a name such as 'Gainsight accounts'."
        )
    profile = MappingProfile(name, mapping.kind, mapping, tuple(headers), dict(options or {}))
    con.execute(
        "INSERT INTO wb.mapping_profiles VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP, now()::TIMESTAMP) "
        "ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, mapping_json = excluded.mapping_json, "
        "options_json = excluded.options_json, headers_json = excluded.headers_json, "
        "updated_at = excluded.updated_at",
        [
            name,
            mapping.kind,
            json.dumps(mapping.to_json_dict(), sort_keys=True),
            json.dumps(profile.options, sort_keys=True, default=str),
            json.dumps(list(headers)),
        ],
    )
    return profile


def _row_to_profile(row: tuple[object, ...]) -> MappingProfile:
    name, kind, mapping_json, options_json, headers_json = row
    return MappingProfile(
        str(name),
        str(kind),
        Mapping.from_json_dict(json.loads(str(mapping_json))),
        tuple(json.loads(str(headers_json))),
        json.loads(str(options_json)),
    )


def list_profiles(con: duckdb.DuckDBPyConnection, kind: str | None = None) -> list[MappingProfile]:
    """All profiles, optionally of one kind, by name."""
    where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
    rows = con.execute(
        "SELECT name, kind, mapping_json, options_json, headers_json FROM wb.mapping_profiles "
        f"{where} ORDER BY name",
        params,
    ).fetchall()
    return [_row_to_profile(r) for r in rows]


def get_profile(con: duckdb.DuckDBPyConnection, name: str) -> MappingProfile:
    """The profile called ``name``.

    Raises:
        NotFound: naming the profiles that exist.
    """
    for profile in list_profiles(con):
        if profile.name == name:
            return profile
    names = ", ".join(p.name for p in list_profiles(con)) or "none saved yet"
    raise NotFound(f"No mapping profile named '{name}'.", f"Profiles: {names}.")


def delete_profile(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Delete a profile (missing is not an error)."""
    con.execute("DELETE FROM wb.mapping_profiles WHERE name = ?", [name])


def match_profile(
    con: duckdb.DuckDBPyConnection, kind: str, headers: Sequence[str]
) -> MappingProfile | None:
    """The saved profile of ``kind`` that fits these headers best (exact header set first)."""
    fitting = [p for p in list_profiles(con, kind) if p.fits(headers)]
    if not fitting:
        return None
    fitting.sort(key=lambda p: (set(p.headers) != set(headers), -len(p.mapping.assignments)))
    return fitting[0]
