"""The notebook model: immutable cells and notebooks, and the edits that make new ones."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from workbench.errors import NotFound, WorkbenchError

CellKind = Literal["sql", "markdown"]
ChartMark = Literal["bar", "line", "point", "area"]

FORMAT_VERSION = 1
"""Version of the JSON layout written by :func:`notebook_to_dict`."""


@dataclass(frozen=True)
class ChartSpec:
    """A chart drawn from a SQL cell's result.

    Attributes:
        mark: Chart type.
        x: Result column on the x axis.
        y: Result column on the y axis.
        color: Optional result column that colours the marks.
    """

    mark: ChartMark
    x: str
    y: str
    color: str | None = None


@dataclass(frozen=True)
class Cell:
    """One notebook cell.

    Attributes:
        id: Stable identifier, unique within its notebook.
        kind: ``"sql"`` (a read-only query) or ``"markdown"`` (notes).
        source: The SQL or Markdown text.
        chart: How to chart the result of a SQL cell, if at all.
    """

    id: str
    kind: CellKind
    source: str
    chart: ChartSpec | None = None


@dataclass(frozen=True)
class Notebook:
    """A named, ordered list of cells.

    Attributes:
        name: Display name; also gives the file name (see ``store.slugify``).
        cells: The cells in order.
        updated_at: When the notebook last changed, ISO 8601 in UTC.
    """

    name: str
    cells: tuple[Cell, ...]
    updated_at: str


def now_iso() -> str:
    """The current time as ISO 8601 in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def new_cell_id() -> str:
    """A fresh, short random cell id."""
    return uuid.uuid4().hex[:12]


def new_cell(kind: CellKind, source: str = "", chart: ChartSpec | None = None) -> Cell:
    """A cell with a fresh id."""
    return Cell(id=new_cell_id(), kind=kind, source=source, chart=chart)


def new_notebook(name: str, cells: tuple[Cell, ...] = ()) -> Notebook:
    """A notebook stamped with the current time."""
    return Notebook(name=name, cells=cells, updated_at=now_iso())


def cell_index(nb: Notebook, cell_id: str) -> int:
    """Position of a cell in the notebook.

    Raises:
        NotFound: If no cell has this id.
    """
    for index, cell in enumerate(nb.cells):
        if cell.id == cell_id:
            return index
    raise NotFound(
        f"Notebook '{nb.name}' has no cell '{cell_id}'.",
        "Reload the notebook; the cell may have been removed.",
    )


def get_cell(nb: Notebook, cell_id: str) -> Cell:
    """The cell with this id (NotFound if there is none)."""
    return nb.cells[cell_index(nb, cell_id)]


def add_cell(nb: Notebook, cell: Cell, index: int | None = None) -> Notebook:
    """A copy of the notebook with ``cell`` inserted at ``index`` (appended if None).

    Raises:
        WorkbenchError: If a cell with the same id is already there.
    """
    if any(c.id == cell.id for c in nb.cells):
        raise WorkbenchError(
            f"Notebook '{nb.name}' already has a cell '{cell.id}'.",
            "Create the cell with new_cell() so it gets a fresh id.",
        )
    cells = list(nb.cells)
    cells.insert(len(cells) if index is None else index, cell)
    return _touch(nb, cells)


def remove_cell(nb: Notebook, cell_id: str) -> Notebook:
    """A copy of the notebook without the cell (NotFound if there is none)."""
    index = cell_index(nb, cell_id)
    return _touch(nb, nb.cells[:index] + nb.cells[index + 1 :])


def move_cell(nb: Notebook, cell_id: str, delta: int) -> Notebook:
    """A copy of the notebook with the cell moved ``delta`` places (-1 up, +1 down).

    The move stops at the first and last position.
    """
    index = cell_index(nb, cell_id)
    target = min(max(index + delta, 0), len(nb.cells) - 1)
    if target == index:
        return nb
    cells = list(nb.cells)
    cells.insert(target, cells.pop(index))
    return _touch(nb, cells)


def replace_cell(nb: Notebook, cell: Cell) -> Notebook:
    """A copy of the notebook with the cell of the same id replaced by ``cell``."""
    index = cell_index(nb, cell.id)
    cells = list(nb.cells)
    cells[index] = cell
    return _touch(nb, cells)


def update_source(nb: Notebook, cell_id: str, source: str) -> Notebook:
    """A copy of the notebook with a cell's text changed."""
    return replace_cell(nb, replace(get_cell(nb, cell_id), source=source))


def set_chart(nb: Notebook, cell_id: str, chart: ChartSpec | None) -> Notebook:
    """A copy of the notebook with a cell's chart set (or removed with None)."""
    return replace_cell(nb, replace(get_cell(nb, cell_id), chart=chart))


def rename(nb: Notebook, name: str) -> Notebook:
    """A copy of the notebook under a new name."""
    return replace(nb, name=name, updated_at=now_iso())


def notebook_to_dict(nb: Notebook) -> dict[str, Any]:
    """The JSON-ready form of a notebook."""
    return {
        "format_version": FORMAT_VERSION,
        "name": nb.name,
        "updated_at": nb.updated_at,
        "cells": [
            {
                "id": c.id,
                "kind": c.kind,
                "source": c.source,
                "chart": None
                if c.chart is None
                else {"mark": c.chart.mark, "x": c.chart.x, "y": c.chart.y, "color": c.chart.color},
            }
            for c in nb.cells
        ],
    }


def notebook_from_dict(data: Any) -> Notebook:
    """Rebuild a notebook from :func:`notebook_to_dict` output.

    Raises:
        ValueError: If the data is not a notebook (the message says what is wrong).
    """
    root = _mapping(data, "notebook")
    cells = tuple(
        _cell_from_dict(raw, i) for i, raw in enumerate(_list(root.get("cells"), "cells"))
    )
    ids = [c.id for c in cells]
    if len(set(ids)) != len(ids):
        raise ValueError("cells: two cells share an id")
    return Notebook(
        name=_text(root.get("name"), "name"),
        cells=cells,
        updated_at=_text(root.get("updated_at", ""), "updated_at"),
    )


def _touch(nb: Notebook, cells: list[Cell] | tuple[Cell, ...]) -> Notebook:
    return replace(nb, cells=tuple(cells), updated_at=now_iso())


def _cell_from_dict(raw: Any, position: int) -> Cell:
    where = f"cell {position + 1}"
    cell = _mapping(raw, where)
    kind = cell.get("kind")
    if kind not in get_args(CellKind):
        raise ValueError(f"{where}: kind must be one of {get_args(CellKind)}, not {kind!r}")
    chart_raw = cell.get("chart")
    chart = None
    if chart_raw is not None:
        spec = _mapping(chart_raw, f"{where} chart")
        mark = spec.get("mark")
        if mark not in get_args(ChartMark):
            raise ValueError(f"{where}: chart mark must be one of {get_args(ChartMark)}")
        color = spec.get("color")
        chart = ChartSpec(
            mark=cast(ChartMark, mark),
            x=_text(spec.get("x"), f"{where} chart x"),
            y=_text(spec.get("y"), f"{where} chart y"),
            color=None if color is None else _text(color, f"{where} chart color"),
        )
    return Cell(
        id=_text(cell.get("id"), f"{where} id"),
        kind=cast(CellKind, kind),
        source=_text(cell.get("source", ""), f"{where} source"),
        chart=chart,
    )


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected an object, found {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list, found {type(value).__name__}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: expected text, found {type(value).__name__}")
    return value
