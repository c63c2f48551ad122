"""The structured answer a model must give, its validation, and the one repair request."""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class DraftOut(BaseModel):
    """A model's draft, validated. ``abstain`` means the model declined, with a reason."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    subject: str = ""
    body: str = ""
    summary: str = ""
    rationale: str = ""
    confidence: float = Field(0.5, ge=0, le=1)
    abstain: bool = False
    abstain_reason: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> DraftOut:
        if not self.abstain:
            missing = [k for k in ("subject", "body", "summary") if not getattr(self, k)]
            if missing:
                raise ValueError(f"empty {', '.join(missing)} (answer them, or abstain)")
        return self


_FENCE = re.compile(r"^\s*```(?:json|JSON)?\s*\n(.*?)\n?```\s*$", re.DOTALL)


def _json_part(text: str) -> str:
    m = _FENCE.match(text)
    if m:
        return m.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start >= 0 and end > start:
        return text[start : end + 1]  # prose before and/or after one object
    return text


def parse_answer(text: str | None) -> tuple[DraftOut | None, str]:
    """``(draft, "")`` for a valid answer, else ``(None, what is wrong in plain words)``."""
    if text is None or not text.strip():
        return None, "the answer was empty"
    try:
        data = json.loads(text)  # the answer as it is, when it is JSON
    except json.JSONDecodeError:
        try:
            data = json.loads(_json_part(text))
        except json.JSONDecodeError as exc:
            return (
                None,
                f"the answer is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
            )
    if not isinstance(data, dict):
        return None, f"the answer is JSON but not an object (got {type(data).__name__})"
    try:
        return DraftOut.model_validate(data), ""
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()
        )
        return None, f"the JSON does not fit the draft schema ({problems})"


def repair_messages(
    messages: list[dict[str, str]], bad_answer: str | None, problem: str
) -> list[dict[str, str]]:
    """The conversation extended with the bad answer and one request to fix it."""
    return [
        *messages,
        {"role": "assistant", "content": bad_answer or ""},
        {
            "role": "user",
            "content": (
                f"Your answer could not be used: {problem}. Answer again with only one JSON "
                'object with the keys "subject", "body", "summary", "rationale", "confidence", '
                '"abstain" and "abstain_reason". No prose, no code fences.'
            ),
        },
    ]
