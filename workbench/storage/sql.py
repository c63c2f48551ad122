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
