"""The structured answer: what ``parse_answer`` accepts, what it rejects and why."""

from __future__ import annotations

import json

import pytest

from workbench.drafting.output import DraftOut, parse_answer, repair_messages

GOOD = {
    "subject": "Renewal check-in",
    "body": "Hello Acme team, could we meet?",
    "summary": "Check-in ahead of renewal.",
    "rationale": "Health is low.",
    "confidence": 0.8,
}
GOOD_JSON = json.dumps(GOOD)

ACCEPTED = [
    # (case, answer text, expected subject, expected confidence, expected abstain)
    ("plain object", GOOD_JSON, "Renewal check-in", 0.8, False),
    ("json fence", f"```json\n{GOOD_JSON}\n```", "Renewal check-in", 0.8, False),
    ("bare fence", f"```\n{GOOD_JSON}\n```", "Renewal check-in", 0.8, False),
    ("fence, no newline before end", f"```json\n{GOOD_JSON}```", "Renewal check-in", 0.8, False),
    ("prose before", f"Here is the draft:\n{GOOD_JSON}", "Renewal check-in", 0.8, False),
    ("prose around", f"Sure! {GOOD_JSON} Hope this helps.", "Renewal check-in", 0.8, False),
    ("prose after only", f"{GOOD_JSON}\n\nLet me know if you need changes.", "Renewal check-in", 0.8, False),
    ("prose and fence", f"Draft below.\n```json\n{GOOD_JSON}\n```\nDone.", "Renewal check-in", 0.8, False),
    ("surrounding whitespace", f"\n\n  {GOOD_JSON}  \n", "Renewal check-in", 0.8, False),
    ("extra keys ignored", json.dumps({**GOOD, "tone": "warm"}), "Renewal check-in", 0.8, False),
    ("confidence defaults", json.dumps({k: v for k, v in GOOD.items() if k != "confidence"}), "Renewal check-in", 0.5, False),
    ("confidence as text", json.dumps({**GOOD, "confidence": "0.3"}), "Renewal check-in", 0.3, False),
    ("confidence bounds", json.dumps({**GOOD, "confidence": 1}), "Renewal check-in", 1.0, False),
    ("rationale optional", json.dumps({k: v for k, v in GOOD.items() if k != "rationale"}), "Renewal check-in", 0.8, False),
    ("strings stripped", json.dumps({**GOOD, "subject": "  Renewal check-in \n"}), "Renewal check-in", 0.8, False),
    ("abstain without body", json.dumps({"abstain": True, "abstain_reason": "no facts"}), "", 0.5, True),
    ("abstain without reason", json.dumps({"abstain": True}), "", 0.5, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "subject", "confidence", "abstain"),
    [c[1:] for c in ACCEPTED],
    ids=[c[0] for c in ACCEPTED],
)
def test_accepted_answers(answer: str, subject: str, confidence: float, abstain: bool) -> None:  # fmt: skip
    out, problem = parse_answer(answer)
    assert problem == ""
    assert isinstance(out, DraftOut)
    assert (out.subject, out.confidence, out.abstain) == (subject, confidence, abstain)


REJECTED = [
    # (case, answer text, words the problem must contain)
    ("none", None, ["empty"]),
    ("empty", "", ["empty"]),
    ("blank", "  \n ", ["empty"]),
    ("not json", "Dear customer, thanks for your business.", ["not valid JSON", "line 1"]),
    ("truncated", GOOD_JSON[:40], ["not valid JSON"]),
    ("single quotes", str(GOOD), ["not valid JSON"]),
    ("a list", json.dumps([GOOD]), ["not an object", "list"]),
    ("a string", json.dumps("hello"), ["not an object", "str"]),
    ("missing body", json.dumps({k: v for k, v in GOOD.items() if k != "body"}), ["schema", "body"]),
    ("missing subject and summary", json.dumps({"body": "x", "confidence": 0.5}), ["schema", "subject", "summary"]),
    ("empty subject", json.dumps({**GOOD, "subject": "   "}), ["schema", "subject"]),
    ("confidence above 1", json.dumps({**GOOD, "confidence": 1.5}), ["schema", "confidence", "less than or equal to 1"]),
    ("confidence below 0", json.dumps({**GOOD, "confidence": -0.1}), ["schema", "confidence", "greater than or equal to 0"]),
    ("confidence as percent", json.dumps({**GOOD, "confidence": 85}), ["schema", "confidence"]),
    ("confidence not a number", json.dumps({**GOOD, "confidence": "high"}), ["schema", "confidence"]),
    ("body not a string", json.dumps({**GOOD, "body": ["a", "b"]}), ["schema", "body"]),
    ("subject null", json.dumps({**GOOD, "subject": None}), ["schema", "subject"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "words"), [c[1:] for c in REJECTED], ids=[c[0] for c in REJECTED]
)
def test_rejected_answers_say_what_is_wrong(answer: str | None, words: list[str]) -> None:
    out, problem = parse_answer(answer)
    assert out is None
    for w in words:
        assert w in problem, (w, problem)


def test_repair_request_carries_the_bad_answer_and_the_problem() -> None:
    sent = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    msgs = repair_messages(sent, "oops {", "the answer is not valid JSON (x)")
    assert msgs[:2] == sent
    assert msgs[2] == {"role": "assistant", "content": "oops {"}
    assert msgs[3]["role"] == "user"
    assert "Your answer could not be used: the answer is not valid JSON (x)." in msgs[3]["content"]
    assert '"subject"' in msgs[3]["content"] and "No prose" in msgs[3]["content"]
    assert repair_messages(sent, None, "p")[2]["content"] == ""
    assert len(sent) == 2  # the original conversation is not changed
