"""Charts for SQL cell results, built with Altair from a cell's ChartSpec."""

from __future__ import annotations

from typing import Any, Literal

import altair as alt
import pandas as pd

from workbench.notebook.model import ChartSpec

_EncodingType = Literal["quantitative", "temporal", "nominal"]


def chart_for(df: pd.DataFrame | None, spec: ChartSpec) -> alt.Chart | None:
    """An Altair chart of a result, or None when it cannot be drawn.

    Returns None (without raising) when there is no result or a column the spec
    names is missing, for example after the query was edited. Axis types follow
    the column types (numbers are quantitative, datetimes temporal, the rest
    nominal in the order the query returned them). Tooltips show every charted
    column.

    Args:
        df: The cell's result.
        spec: Mark and columns to chart.

    Returns:
        The chart, or None.
    """
    if df is None:
        return None
    fields = [spec.x, spec.y] + ([spec.color] if spec.color else [])
    if any(f not in df.columns for f in fields) or df.columns.duplicated().any():
        return None
    data = df[list(dict.fromkeys(fields))]
    x = _channel(alt.X, data[spec.x], spec.x)
    y = _channel(alt.Y, data[spec.y], spec.y)
    encodings: dict[str, Any] = {"x": x, "y": y}
    if spec.color:
        encodings["color"] = _channel(alt.Color, data[spec.color], spec.color)
    tooltips = [
        alt.Tooltip(field=_escape(f), type=_encoding_type(data[f]), title=f)
        for f in dict.fromkeys(fields)
    ]
    return alt.Chart(data, mark=spec.mark).encode(tooltip=tooltips, **encodings)


def _channel(channel: Any, column: pd.Series, name: str) -> Any:
    kind = _encoding_type(column)
    # sort=None keeps the query's ORDER BY instead of Vega-Lite's alphabetical order.
    extra: dict[str, Any] = {"sort": None} if kind == "nominal" else {}
    return channel(field=_escape(name), type=kind, title=name, **extra)


def _encoding_type(column: pd.Series) -> _EncodingType:
    if pd.api.types.is_bool_dtype(column.dtype):
        return "nominal"
    if pd.api.types.is_numeric_dtype(column.dtype):
        return "quantitative"
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return "temporal"
    return "nominal"


def _escape(field: str) -> str:
    # Vega-Lite reads "." and "[]" in a field name as nested access.
    return field.replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[").replace("]", "\\]")
