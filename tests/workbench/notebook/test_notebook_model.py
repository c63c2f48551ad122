"""The notebook model: immutable edits and the JSON form."""

from __future__ import annotations

import dataclasses

import pytest

from workbench.errors import NotFound, WorkbenchError
from workbench.notebook import (
    Cell,
    ChartSpec,
    Notebook,
    add_cell,
    get_cell,
    move_cell,
    new_cell,
    remove_cell,
    rename,
    replace_cell,
    set_chart,
    update_source,
)
from workbench.notebook.model import notebook_from_dict, notebook_to_dict


def sample() -> Notebook:
    return Notebook(
        name="Renewals",
        cells=(
            Cell("a", "markdown", "# Title"),
            Cell("b", "sql", "SELECT 1", ChartSpec("bar", "x", "y", color="c")),
            Cell("c", "sql", "SELECT 2"),
        ),
        updated_at="2024-01-01T00:00:00+00:00",
    )


def ids(nb: Notebook) -> list[str]:
    return [c.id for c in nb.cells]


def test_dataclasses_are_frozen() -> None:
    nb = sample()
    with pytest.raises(dataclasses.FrozenInstanceError):
        nb.name = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        nb.cells[0].source = "x"  # type: ignore[misc]


def test_new_cell_has_fresh_id() -> None:
    first, second = new_cell("sql", "SELECT 1"), new_cell("sql")
    assert first.id != second.id
    assert (first.kind, first.source, first.chart) == ("sql", "SELECT 1", None)


def test_add_cell_appends_or_inserts_and_leaves_original() -> None:
    nb = sample()
    appended = add_cell(nb, Cell("d", "sql", ""))
    inserted = add_cell(nb, Cell("d", "sql", ""), index=0)
    assert ids(appended) == ["a", "b", "c", "d"]
    assert ids(inserted) == ["d", "a", "b", "c"]
    assert ids(nb) == ["a", "b", "c"]
    assert appended.updated_at != nb.updated_at


def test_add_cell_refuses_duplicate_id() -> None:
    with pytest.raises(WorkbenchError, match="already has a cell"):
        add_cell(sample(), Cell("a", "sql", ""))


def test_remove_cell() -> None:
    assert ids(remove_cell(sample(), "b")) == ["a", "c"]
    with pytest.raises(NotFound):
        remove_cell(sample(), "zzz")


@pytest.mark.parametrize(
    ("cell_id", "delta", "expected"),
    [
        ("b", -1, ["b", "a", "c"]),
        ("b", 1, ["a", "c", "b"]),
        ("a", -1, ["a", "b", "c"]),
        ("c", 1, ["a", "b", "c"]),
        ("a", 5, ["b", "c", "a"]),
        ("c", -9, ["c", "a", "b"]),
    ],
)
def test_move_cell(cell_id: str, delta: int, expected: list[str]) -> None:
    assert ids(move_cell(sample(), cell_id, delta)) == expected


def test_update_source_and_chart() -> None:
    nb = update_source(sample(), "c", "SELECT 3")
    assert get_cell(nb, "c").source == "SELECT 3"
    charted = set_chart(nb, "c", ChartSpec("line", "week", "users"))
    assert get_cell(charted, "c").chart == ChartSpec("line", "week", "users")
    assert get_cell(set_chart(charted, "c", None), "c").chart is None
    assert get_cell(sample(), "c").source == "SELECT 2"


def test_replace_cell_and_rename() -> None:
    nb = replace_cell(sample(), Cell("a", "markdown", "changed"))
    assert get_cell(nb, "a").source == "changed"
    assert rename(nb, "New name").name == "New name"
    with pytest.raises(NotFound):
        replace_cell(sample(), Cell("zzz", "sql", ""))


def test_dict_round_trip() -> None:
    nb = sample()
    data = notebook_to_dict(nb)
    assert data["format_version"] == 1
    assert data["cells"][1]["chart"] == {"mark": "bar", "x": "x", "y": "y", "color": "c"}
    assert notebook_from_dict(data) == nb


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], "expected an object"),
        ({"name": "x", "cells": "no"}, "cells"),
        ({"name": 3, "cells": []}, "name"),
        ({"name": "x", "cells": [{"id": "a", "kind": "python", "source": ""}]}, "kind"),
        (
            {
                "name": "x",
                "cells": [{"id": "a", "kind": "sql", "source": "", "chart": {"mark": "pie"}}],
            },
            "mark",
        ),
        (
            {
                "name": "x",
                "cells": [
                    {"id": "a", "kind": "sql", "source": ""},
                    {"id": "a", "kind": "sql", "source": ""},
                ],
            },
            "share an id",
        ),
    ],
)
def test_from_dict_rejects_bad_data(data: object, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        notebook_from_dict(data)
