"""Output policy checks on a draft, as policy-as-code.

An ``OutputPolicy`` says what a draft may contain; ``check_draft`` runs every
check and returns one ``CheckResult`` per check (passing ones included, so the
drafts page can show the full list). A draft with any failing check is held
(``held``) and ``reasons`` gives the failures in plain words for the user.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from workbench.workflow.model import DEFAULT_BANNED_PHRASES as DEFAULT_BANNED_PHRASES
from workbench.workflow.model import OutputPolicy

# Offers of money off, credits, free time or refunds.
DISCOUNT_PATTERNS: tuple[str, ...] = (
    r"\d+(?:\.\d+)?\s?%\s?(?:off|discount|reduction|lower|cheaper)",
    r"(?:[$€£]\s?\d[\d,.]*|\d[\d,.]*\s?(?:dollars|euros?|pounds|usd|eur|gbp))\s+off",
    r"discount(?:s|ed|ing)?",
    r"credits?",
    r"free\s+(?:months?|weeks?|years?|quarters?|seats?|licen[cs]es?|upgrades?|add-?ons?)",
    r"(?:\d+|one|two|three|a|an)\s+(?:extra\s+)?(?:months?|weeks?|quarters?)\s+(?:free|on\s+us|at\s+no\s+(?:extra\s+|additional\s+)?(?:cost|charge))",
    r"at\s+no\s+(?:extra\s+|additional\s+)?(?:cost|charge)",
    r"waiv(?:e|ed|es|ing|er)",
    r"refund(?:s|ed|ing)?",
    r"(?:price|pricing|fee|rate)\s+(?:reduction|cut|drop|decrease|match|freeze)",
    r"(?:reduce|reduced|reducing|lower|lowered|lowering|cut|cutting)\s+(?:your\s+|the\s+|our\s+)?(?:price|pricing|fees?|costs?|rates?|invoice|bill)",
    r"complimentary",
    r"on\s+the\s+house",
    r"coupon",
    r"promo(?:tion(?:al)?)?\s+code",
)
_DISCOUNT = [re.compile(rf"(?<!\w){p}(?!\w)", re.IGNORECASE) for p in DISCOUNT_PATTERNS]

PLACEHOLDER_PATTERNS: tuple[str, ...] = (
    r"\{\{[^{}]*\}\}",  # {{ name }}
    r"\{[^{}\s][^{}]{0,40}\}",  # {first_name}
    r"\[(?:[A-Z][A-Za-z0-9]*)(?:[ _-][A-Za-z0-9]+){0,4}\]",  # [NAME], [Customer Name]
    r"<\s*[A-Za-z]+[\s_-]*\d+\s*>",  # <NAME_1> left by redaction
    r"<\s*[A-Z][A-Z_]{2,}\s*>",  # <ACCOUNT_NAME>
    r"(?<!\w)(?:TODO|TBD|FIXME|XXX+)(?!\w)",
    r"(?i:(?<!\w)lorem(?!\w))",
)
_PLACEHOLDER = [re.compile(p) for p in PLACEHOLDER_PATTERNS]


@dataclass(frozen=True)
class CheckResult:
    """One policy check on one draft; ``detail`` is plain words for the user."""

    name: str
    ok: bool
    detail: str


def _phrase(text: str) -> re.Pattern[str]:
    words = r"\s+".join(re.escape(w) for w in text.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)


def _quote(items: Iterable[str]) -> str:
    return ", ".join(f'"{i}"' for i in dict.fromkeys(items))


def _placeholders(text: str) -> CheckResult:
    found = [m.group(0) for p in _PLACEHOLDER for m in p.finditer(text)]
    if found:
        return CheckResult(
            "placeholders",
            False,
            f"The draft still has unfilled placeholders or filler text: {_quote(found)}.",
        )
    return CheckResult("placeholders", True, "No unfilled placeholders.")


def _right_account(text: str, account_name: str, policy: OutputPolicy) -> CheckResult:
    if not policy.require_account_name:
        return CheckResult("names_account", True, "Naming the account is not required.")
    if account_name.strip() and _phrase(account_name).search(text):
        return CheckResult("names_account", True, f'Names the account "{account_name}".')
    return CheckResult(
        "names_account", False, f'The draft does not mention the account "{account_name}".'
    )


_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


class NameIndex:
    """Account names looked up by word sequence, so a check scales to any number of accounts.

    A name matches when its words appear consecutively in the text (any case,
    punctuation ignored): "Acme, Inc." matches "acme inc".
    """

    def __init__(self, names: Iterable[str]) -> None:
        self._names: dict[tuple[str, ...], str] = {}
        for name in names:
            key = tuple(_words(name))
            if key:
                self._names.setdefault(key, name.strip())
        self._longest = max((len(k) for k in self._names), default=0)

    def __len__(self) -> int:
        return len(self._names)

    def find(self, text: str) -> list[str]:
        """Names found in ``text``, in order of first appearance."""
        words = _words(text)
        found: dict[str, None] = {}
        for i in range(len(words)):
            for n in range(1, min(self._longest, len(words) - i) + 1):
                name = self._names.get(tuple(words[i : i + n]))
                if name is not None:
                    found[name] = None
        return list(found)


def _other_accounts(text: str, account_name: str, others: Sequence[str] | NameIndex) -> CheckResult:
    own = account_name.strip().lower()
    if own:
        # "Acme" must not be found inside the account's own name "Acme Corp".
        text = _phrase(account_name).sub(" ", text)
    index = others if isinstance(others, NameIndex) else NameIndex(others)
    own_key = tuple(_words(account_name))
    found = [o for o in index.find(text) if tuple(_words(o)) != own_key]
    if found:
        return CheckResult(
            "no_other_account",
            False,
            f"The draft names another account: {_quote(found)}.",
        )
    return CheckResult("no_other_account", True, "Names no other account.")


def _discounts(text: str, account_name: str, policy: OutputPolicy) -> CheckResult:
    if policy.allow_discounts:
        return CheckResult("no_discount_offer", True, "Discounts and credits are allowed.")
    if account_name.strip():
        text = _phrase(account_name).sub(" ", text)
    found = [m.group(0) for p in _DISCOUNT for m in p.finditer(text)]
    if found:
        return CheckResult(
            "no_discount_offer",
            False,
            "The draft offers a discount, credit, free time or refund, which the policy "
            f"does not allow: {_quote(found)}.",
        )
    return CheckResult("no_discount_offer", True, "Offers no discount, credit or refund.")


def _length(name: str, what: str, text: str, limit: int, *, required: bool) -> CheckResult:
    n = len(text.strip())
    if required and n == 0:
        return CheckResult(name, False, f"The {what} is empty.")
    if n > limit:
        return CheckResult(name, False, f"The {what} is {n} characters long; the limit is {limit}.")
    return CheckResult(name, True, f"The {what} is {n} of at most {limit} characters.")


def _banned(text: str, policy: OutputPolicy) -> CheckResult:
    found = [p for p in policy.banned_phrases if p.strip() and _phrase(p).search(text)]
    if found:
        return CheckResult(
            "banned_phrases", False, f"The draft uses banned phrases: {_quote(found)}."
        )
    return CheckResult("banned_phrases", True, "Uses no banned phrase.")


CUSTOMER_FACING: frozenset[str] = frozenset({"draft_email"})
# Words a customer must never read in an email the workflow drafts. Words customers use too
# ("escalated", "internally", a product's "workflow") are left out on purpose.
INTERNAL_TERMS: tuple[str, ...] = (
    r"health\s+scores?",
    r"churn\w*",
    r"at[\s-]risk",
    r"risk\s+(?:score|brief|flag|level)s?",
    r"playbooks?",
)
_INTERNAL = [re.compile(rf"(?<!\w){t}(?!\w)", re.IGNORECASE) for t in INTERNAL_TERMS]
_GREETING = r"(?:hi|hello|hey|dear|good\s+(?:morning|afternoon))"


def _audience(subject: str, body: str, account_name: str, action_type: str) -> CheckResult:
    """A customer email keeps internal words out; an internal note is not written to the customer."""
    if action_type in CUSTOMER_FACING:
        found = [m.group(0) for p in _INTERNAL for m in p.finditer(f"{subject}\n{body}")]
        if found:
            return CheckResult(
                "audience",
                False,
                "The customer email uses internal words a customer should not read: "
                f"{_quote(found)}.",
            )
        return CheckResult("audience", True, "Uses no internal words a customer should not read.")
    name = r"\s+".join(re.escape(w) for w in account_name.split())
    to_customer = re.compile(
        rf"^\s*{_GREETING}\s+(?:the\s+)?(?:{name}|team\s+at\s+{name})(?!\w)", re.IGNORECASE
    )
    if name and to_customer.search(body):
        return CheckResult(
            "audience",
            False,
            f"This {action_type.replace('_', ' ')} is internal, but the draft is addressed to the "
            f'customer ("{body.strip().splitlines()[0][:60]}").',
        )
    return CheckResult("audience", True, "Addressed to the team, not the customer.")


def check_draft(
    subject: str,
    body: str,
    account_name: str,
    other_account_names: Sequence[str] | NameIndex = (),
    policy: OutputPolicy | None = None,
    *,
    action_type: str | None = None,
) -> list[CheckResult]:
    """Run every output policy check on one draft (subject and body together).

    With ``action_type``, also who the draft speaks to: a customer email must not use
    internal words (health score, churn, escalation...); an internal note, brief, update
    or alert must not be addressed to the customer.
    """
    policy = policy or OutputPolicy()
    text = f"{subject}\n{body}"
    audience = [] if action_type is None else [_audience(subject, body, account_name, action_type)]
    return [
        *audience,
        _placeholders(text),
        _right_account(text, account_name, policy),
        _other_accounts(text, account_name, other_account_names),
        _discounts(text, account_name, policy),
        _length("subject_length", "subject", subject, policy.max_subject_chars, required=False),
        _length("body_length", "body", body, policy.max_body_chars, required=True),
        _banned(text, policy),
    ]  # audience first: it is the check a reader most needs to see


def held(results: Iterable[CheckResult]) -> bool:
    """True when any check failed: the draft is held for a person."""
    return any(not r.ok for r in results)


def reasons(results: Iterable[CheckResult]) -> list[str]:
    """The failing checks' details, in plain words."""
    return [r.detail for r in results if not r.ok]
