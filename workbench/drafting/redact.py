"""PII redaction before a prompt leaves the machine, and restoration afterwards.

A ``Redactor`` replaces email addresses, phone numbers and the contact names it
is given with stable placeholders (``<EMAIL_1>``, ``<PHONE_1>``, ``<NAME_1>``):
the same value always gets the same placeholder within one ``Redactor`` (emails
and names compared case-insensitively, phones by their digits). ``restore`` puts
the originals back, tolerating the small changes a model makes to placeholders
(``<email_1>``, ``< EMAIL 1 >``, ``[NAME_2]``, ``PHONE_1``). ``mapping`` is the
placeholder -> original table for the log.

Phone numbers are found by shape, not by any digit run: an international number
(``+`` or ``00`` then 8-15 digits), a US number (``(415) 555-0132``,
``415.555.0132``, ``+1 415 555 0132``) or a European national number starting
with ``0`` (``030 1234567``, ``06 12 34 56 78``, ``020 7946 0958``). Dates,
money, ids glued to letters (``ACC-00012``) and short numbers (ticket ``48213``)
are left alone. A bare run of digits without ``+`` and without separators is
not treated as a phone number (it is more often an id).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

Kind = Literal["EMAIL", "PHONE", "NAME"]

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
)

# Not glued to a word, an id (ACC-00012), a decimal or an amount ($12,400).
_BEFORE = r"(?<![\w/.,:$€£+-])"
_AFTER = r"(?![\w/-]|[.,]\d)"
_PHONE = re.compile(
    _BEFORE
    + r"(?:"
    # international: +CC or 00CC, then groups separated by space, dot, dash or parentheses
    + r"(?:\+|\b00)\d{1,3}(?:[ .-]?\(\d{1,4}\)|[ .-]?\d{1,5}){2,6}"
    # US: optional 1, area code with or without parentheses, 3 + 4 digits
    + r"|(?:\b1[ .-])?(?:\(\d{3}\)[ .-]?|\b\d{3}[ .-])\d{3}[ .-]\d{4}"
    # European national: leading 0, area/mobile prefix, groups with separators
    + r"|\b0\d{1,4}(?:[ /.-]\d{2,8}){1,4}"
    + r"|\(0\d{1,4}\)[ ]?\d{2,8}(?:[ .-]\d{2,8}){0,3}"
    + r")"
    + _AFTER
)
_DATE = r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
_DATES_ONLY = re.compile(rf"{_DATE}(?:\s*[-–]\s*{_DATE})*")

_KINDS = "EMAIL|PHONE|NAME"
_RESTORE = re.compile(
    rf"<\s*({_KINDS})[\s_-]*(\d+)\s*>"
    rf"|\[\s*({_KINDS})[\s_-]*(\d+)\s*\]"
    rf"|\{{\s*({_KINDS})[\s_-]*(\d+)\s*\}}"
    rf"|\b({_KINDS})_(\d+)\b",
    re.IGNORECASE,
)

_ROLE_MAILBOXES = frozenset(
    [
        "accounts",
        "admin",
        "billing",
        "contact",
        "cs",
        "finance",
        "hello",
        "help",
        "info",
        "it",
        "legal",
        "mail",
        "marketing",
        "noreply",
        "no-reply",
        "office",
        "ops",
        "orders",
        "payables",
        "procurement",
        "sales",
        "security",
        "support",
        "team",
    ]
)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _is_phone(candidate: str) -> bool:
    digits = _digits(candidate)
    international = candidate.startswith(("+", "00"))
    low = 8 if international else 9
    if not low <= len(digits) <= 15:
        return False
    return not _DATES_ONLY.fullmatch(candidate.strip())


def names_from_emails(emails: Iterable[str]) -> list[str]:
    """Contact names guessed from email local parts, in first-seen order.

    ``ahmed.novak@x.com`` -> ``Ahmed Novak``; ``anne-marie_dupont@x`` ->
    ``Anne-Marie Dupont``. Digits and one-letter initials are dropped; role
    mailboxes (``support@``, ``billing@``, ...) give no name.
    """
    out: list[str] = []
    seen: set[str] = set()
    for email in emails:
        local = email.strip().split("@", 1)[0].split("+", 1)[0].lower()
        if not local or local in _ROLE_MAILBOXES:
            continue
        parts = [re.sub(r"[^a-z-]", "", p).strip("-") for p in re.split(r"[._]+", local)]
        parts = [p for p in parts if len(p) >= 2 and p not in _ROLE_MAILBOXES]
        if not parts:
            continue
        name = " ".join("-".join(s.capitalize() for s in p.split("-") if s) for p in parts)
        if name.lower() not in seen:
            seen.add(name.lower())
            out.append(name)
    return out


# Name parts that are also everyday words: redacted only when capitalised, so "we will grant
# access; mark the date" is not turned into placeholders.
_COMMON_WORDS = frozenset(
    [
        "art",
        "bell",
        "best",
        "bill",
        "black",
        "brown",
        "case",
        "chase",
        "cole",
        "dawn",
        "dean",
        "don",
        "drew",
        "faith",
        "fox",
        "frank",
        "gene",
        "grant",
        "gray",
        "green",
        "grey",
        "guy",
        "hall",
        "hill",
        "hope",
        "jack",
        "jean",
        "joy",
        "king",
        "lane",
        "lee",
        "little",
        "long",
        "love",
        "mark",
        "max",
        "may",
        "miles",
        "page",
        "pat",
        "power",
        "price",
        "ray",
        "rich",
        "rob",
        "rose",
        "ross",
        "sandy",
        "stone",
        "sue",
        "summer",
        "wade",
        "white",
        "will",
        "wood",
        "young",
        "april",
        "june",
        "august",
    ]
)


def _proper(word: str) -> str:
    """A name word as written in text: capital first letter, the rest in any case."""
    first, rest = word[:1], word[1:]
    return re.escape(first.upper()) + (f"(?i:{re.escape(rest)})" if rest else "")


def _name_pattern(name: str) -> str:
    """A name matches in any case ("ahmed", "ahmed novak"), except a name made only of
    everyday words ("Grant", "Will Grant"): that one only when capitalised, so "we will grant
    access" stays as it is while "Grant asked" is redacted."""
    words = name.split()
    if all(w.lower() in _COMMON_WORDS for w in words):
        return r"\s+".join(_proper(w) for w in words)
    return "(?i:" + r"\s+".join(re.escape(w) for w in words) + ")"


class Redactor:
    """Replace PII with stable placeholders and put it back afterwards.

    Args:
        names: Contact names to redact (whole words, case-insensitive).
        name_parts: Also redact each part of a multi-word name on its own
            ("Hi Ahmed," as well as "Ahmed Novak"), for parts of 3+ letters; parts that
            are everyday words ("Will", "Grant", "Mark") only when capitalised.
    """

    def __init__(self, names: Iterable[str] = (), *, name_parts: bool = True) -> None:
        self._by_key: dict[tuple[Kind, str], str] = {}
        self._originals: dict[str, str] = {}
        self._counts: dict[Kind, int] = {"EMAIL": 0, "PHONE": 0, "NAME": 0}
        # canonical spelling per lowercased name
        canon: dict[str, str] = {}
        for raw in names:
            name = " ".join(raw.split())
            if name:
                canon.setdefault(name.lower(), name)
        if name_parts:
            for name in list(canon.values()):
                parts = name.split()
                if len(parts) > 1:
                    for part in parts:
                        if len(part) >= 3:
                            canon.setdefault(part.lower(), part)
        self._names = canon
        self._name_re: re.Pattern[str] | None = None
        if canon:
            alternatives = sorted(canon, key=len, reverse=True)
            body = "|".join(_name_pattern(n) for n in alternatives)
            self._name_re = re.compile(rf"(?<![\w@<])(?:{body})(?![\w@>])")

    @property
    def mapping(self) -> dict[str, str]:
        """Placeholder -> original value, in the order placeholders were made."""
        return dict(self._originals)

    def _placeholder(self, kind: Kind, key: str, original: str) -> str:
        found = self._by_key.get((kind, key))
        if found is None:
            self._counts[kind] += 1
            found = f"<{kind}_{self._counts[kind]}>"
            self._by_key[(kind, key)] = found
            self._originals[found] = original
        return found

    def redact(self, text: str) -> str:
        """``text`` with emails, phone numbers and the known names replaced."""
        text = _EMAIL.sub(
            lambda m: self._placeholder("EMAIL", m.group(0).lower(), m.group(0)), text
        )

        def phone(m: re.Match[str]) -> str:
            value = m.group(0)
            if not _is_phone(value):
                return value
            return self._placeholder("PHONE", _digits(value), value)

        text = _PHONE.sub(phone, text)
        if self._name_re is not None:

            def name(m: re.Match[str]) -> str:
                key = " ".join(m.group(0).split()).lower()
                return self._placeholder("NAME", key, self._names[key])

            text = self._name_re.sub(name, text)
        return text

    def restore(self, text: str) -> str:
        """``text`` with every known placeholder (loosely spelled) put back."""

        def back(m: re.Match[str]) -> str:
            groups = [g for g in m.groups() if g is not None]
            kind, number = groups[0].upper(), groups[1]
            return self._originals.get(f"<{kind}_{int(number)}>", m.group(0))

        return _RESTORE.sub(back, text)

    def redact_obj(self, obj: Any) -> Any:
        """A copy of a JSON-able structure with every string value redacted."""
        return _walk(obj, self.redact)

    def restore_obj(self, obj: Any) -> Any:
        """A copy of a JSON-able structure with every string value restored."""
        return _walk(obj, self.restore)


def _walk(obj: Any, fn: Any) -> Any:
    if isinstance(obj, str):
        return fn(obj)
    if isinstance(obj, dict):
        return {k: _walk(v, fn) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_walk(v, fn) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_walk(v, fn) for v in obj)
    return obj
