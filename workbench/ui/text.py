"""Text shown by the pages."""

from __future__ import annotations


def md_safe(text: str) -> str:
    """Text shown inside Markdown: a pair of dollar signs (costs, ARR) would start maths."""
    return text.replace("$", "\\$")
