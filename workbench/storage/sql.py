"""The one place identifiers and literals are made safe for generated SQL."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    """Quote an identifier (table or column name) for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """Quote a string literal, for the few places DuckDB takes no parameter (DDL, options)."""
    return "'" + value.replace("'", "''") + "'"


def qualified(schema: str, table: str) -> str:
    """``schema.table`` with both parts quoted."""
    return f"{quote_ident(schema)}.{quote_ident(table)}"


class Params:
    """Named parameters for one generated statement: values never enter the SQL text.

    ``add(value)`` returns a placeholder such as ``$p3``; ``values`` is the dict
    to pass to ``con.execute(sql, values)``.
    """

    def __init__(self, prefix: str = "p") -> None:
        self.prefix = prefix
        self.values: dict[str, object] = {}

    def add(self, value: object) -> str:
        name = f"{self.prefix}{len(self.values)}"
        self.values[name] = value
        return f"${name}"
