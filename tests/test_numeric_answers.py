"""Numeric quiz items: the prompt states the precision; any correct rounding is accepted."""

from __future__ import annotations

import math

import pytest

from grader.core.bank import QuizItem, Text
from tests.test_tui_helpers import course_bank

# The items the review found with irrational answers and a 0.001 tolerance, with their exact values
# (q54[1], a duplicate of q2[0], was replaced by an item with an integer answer).
EXACT = {
    ("q2", 0): math.sqrt(0.5),
    ("q10", 1): 2 * math.log(2),
    ("q12", 0): -math.log(4),
    ("q12", 2): math.log(2),
    ("q14", 0): math.log(2),
    ("q34", 2): 1 / (1 + math.exp(-1)),
    ("q46", 1): 3 / math.sqrt(2 * math.pi),
    ("q46", 2): math.log(3),
    ("q50", 0): 6000 / (32 * 32 * 3 * math.log(2)),
    ("q65", 0): (1 - 2.5) / math.sqrt(1.25),
    ("q66", 0): math.sin(1),
    ("q66", 1): 2 * math.pi,
    ("q73", 1): 1 / (1 + math.exp(-1)),
}


@pytest.mark.parametrize(("qid", "index"), sorted(EXACT))
def test_listed_item_accepts_every_correct_rounding(qid: str, index: int) -> None:
    item = course_bank().question(qid).quiz[index]
    exact = EXACT[(qid, index)]
    assert item.kind == "numeric" and item.decimals is not None
    assert "decimal place" in item.shown_prompt("en") and "знак" in item.shown_prompt("ru")
    d = item.decimals
    for places in range(d, d + 4):  # the asked rounding, and any finer one
        assert item.check_numeric(round(exact, places)), (places, round(exact, places))
    assert item.check_numeric(exact)
    step = 10.0**-d
    assert not item.check_numeric(round(exact, d) + step)  # one unit off in the last asked place
    assert not item.check_numeric(round(exact, d) - step)
    assert not item.check_numeric(round(exact, d - 1)) or round(exact, d - 1) == round(exact, d)  # too coarse


def _item(**kwargs) -> QuizItem:
    return QuizItem("numeric", Text("?", "?"), **kwargs)


def test_decimals_accept_a_correct_rounding_only() -> None:
    item = _item(answer=0.6931, decimals=2)
    assert item.check_numeric(0.69) and item.check_numeric(0.693) and item.check_numeric(0.6931)
    assert not item.check_numeric(0.7) and not item.check_numeric(0.68) and not item.check_numeric(float("nan"))


def test_an_integer_is_exact() -> None:
    item = _item(answer=256, decimals=0)
    assert item.check_numeric(256) and item.check_numeric(256.4)
    assert not item.check_numeric(257) and not item.check_numeric(255.4)
    assert item.precision("en") == "an integer" and item.answer_form() == "0"


def test_about_means_a_relative_tolerance() -> None:
    item = _item(answer=1000.0, relative=0.05)
    assert item.check_numeric(951) and item.check_numeric(1049)
    assert not item.check_numeric(940) and not item.check_numeric(1060)
    assert "about" in item.shown_prompt("en") and "примерно" in item.shown_prompt("ru")


def test_every_numeric_item_states_its_precision() -> None:
    for q in course_bank().questions:
        for item in q.quiz:
            if item.kind == "numeric":
                assert item.precision("en") and item.precision("ru"), q.id
                assert item.check_numeric(item.answer)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"decimals": -1}, "decimal places"),
        ({"decimals": 1.5}, "decimal places"),
        ({"relative": 2}, "relative error"),
        ({"decimals": 2, "relative": 0.05}, "not several"),
        ({"relative": 0}, "relative error"),
    ],
)
def test_bank_rejects_a_bad_precision(fields: dict, message: str) -> None:
    import yaml

    from grader.core.bank import BankError, parse_bank
    from grader.core.catalog import EXERCISES
    from tests.cli_helpers import ROOT

    data = yaml.safe_load((ROOT / "questions.yaml").read_text(encoding="utf-8"))
    data = {"format_version": 1, "sections": data["sections"], "questions": [q for q in data["questions"] if q["id"] in ("q6", "q46")]}
    item = next(i for i in data["questions"][1]["quiz"] if i["kind"] == "numeric")
    item.pop("decimals", None)
    item.update(fields)
    with pytest.raises(BankError) as info:
        parse_bank(yaml.safe_dump(data, allow_unicode=True), "b.yaml", exercise_ids=set(EXERCISES))
    assert any(message in p.message and p.field.startswith("q46.quiz[") for p in info.value.problems), info.value.problems
