"""Shuffled options: a per-student, per-item order that is stable, graded by option identity."""

from __future__ import annotations

import dataclasses
import os

import pytest
import yaml

from grader.bank import BankError, parse_bank, position_warning
from grader.catalog import EXERCISES
from grader.shuffle import LETTERS, option_order
from grader.store import Store
from tests.cli_helpers import ROOT, run_grade
from tests.test_tui_helpers import course_bank, key_of, make_app, pilot_test, screen_text
from tui.widgets.choice import ChoiceItem


def _item(qid: str = "q1", index: int = 0):
    return course_bank().question(qid).quiz[index]


def test_order_is_a_permutation_that_depends_on_the_seed_and_the_item() -> None:
    item = _item()
    orders = {tuple(option_order(f"seed{n}", "q1", 0, item)) for n in range(20)}
    assert all(sorted(o) == list(range(len(item.options))) for o in orders)
    assert len(orders) > 1  # two seeds give different orders
    # different items under one seed are not all in the same order
    bank = course_bank()
    choice = [(q.id, i, it) for q in bank.questions for i, it in enumerate(q.quiz) if it.kind == "single" and len(it.options) == 4]
    assert len({tuple(option_order("s", qid, i, it)) for qid, i, it in choice}) > 1


def test_correct_options_spread_over_positions() -> None:
    bank = course_bank()
    positions = [option_order("student", q.id, i, it).index(it.correct_options[0]) for q in bank.questions for i, it in enumerate(q.quiz) if it.kind == "single"]
    assert max(positions.count(p) for p in set(positions)) < 0.5 * len(positions)


def test_shuffle_false_keeps_the_file_order() -> None:
    item = dataclasses.replace(_item(), shuffle=False)
    assert option_order("any seed", "q1", 0, item) == list(range(len(item.options)))


def test_the_seed_is_kept_in_the_store_across_restarts(tmp_path) -> None:
    path = tmp_path / "progress.sqlite3"
    with Store.open(path) as store:
        seed = store.shuffle_seed()
    with Store.open(path) as store:
        assert store.shuffle_seed() == seed
    other = tmp_path / "other.sqlite3"
    with Store.open(other) as store:
        assert store.shuffle_seed() != seed  # another course copy, another order


def _minimal() -> dict:
    data = yaml.safe_load((ROOT / "questions.yaml").read_text(encoding="utf-8"))
    return {"format_version": 1, "sections": data["sections"], "questions": [q for q in data["questions"] if q["id"] in ("q6", "q46")]}


def test_bank_accepts_shuffle_false_and_rejects_a_non_boolean() -> None:
    data = _minimal()
    data["questions"][0]["quiz"][0]["shuffle"] = False
    bank = parse_bank(yaml.safe_dump(data, allow_unicode=True), "b.yaml", exercise_ids=set(EXERCISES))
    assert bank.question("q6").quiz[0].shuffle is False and bank.question("q6").quiz[1].shuffle is True
    data["questions"][0]["quiz"][0]["shuffle"] = "no"
    with pytest.raises(BankError) as info:
        parse_bank(yaml.safe_dump(data, allow_unicode=True), "b.yaml", exercise_ids=set(EXERCISES))
    assert any(p.field == "q6.quiz[0].shuffle" and "true or false" in p.message for p in info.value.problems)


def test_position_warning_flags_keys_stuck_in_one_position() -> None:
    bank = course_bank()
    stuck = position_warning(bank)  # the shipped file lists every key first
    if all(it.correct_options[0] == 0 for q in bank.questions for it in q.quiz if it.correct_options):
        assert stuck and "position 1" in stuck
    spread = dataclasses.replace(
        bank,
        questions=tuple(
            dataclasses.replace(q, quiz=tuple(dataclasses.replace(it, options=tuple(it.options[k] for k in option_order("x", q.id, i, it))) for i, it in enumerate(q.quiz)))
            for q in bank.questions
        ),
    )
    assert position_warning(spread) is None


def test_check_bank_passes_with_the_position_check_on() -> None:
    proc = run_grade("check-bank")
    assert proc.returncode == 0, proc.stderr
    assert "all valid" in proc.stdout
    assert "position" not in proc.stdout + proc.stderr  # the course's own bank spreads its keys


def test_grade_show_uses_the_students_order(tmp_path) -> None:
    progress = tmp_path / "progress.sqlite3"
    with Store.open(progress) as store:
        seed = store.shuffle_seed()
    proc = run_grade("show", "q1", "--answer", "--lang", "en", env={"GENLAB_PROGRESS": str(progress)})
    assert proc.returncode == 0, proc.stderr
    item = _item()
    order = option_order(seed, "q1", 0, item)
    right = order.index(item.correct_options[0])
    # rich wraps long lines: compare the start of the right option's text
    assert f"✓ {LETTERS[right]}) {item.options[item.correct_options[0]].text.en[:20]}" in proc.stdout
    again = run_grade("show", "q1", "--lang", "en", env={"GENLAB_PROGRESS": str(progress)})
    first = next(line for line in again.stdout.splitlines() if line.strip().startswith("a)"))
    assert item.options[order[0]].text.en[:20] in first  # the same order on every run


@pilot_test
async def test_tui_shows_the_order_and_records_by_identity(tmp_path) -> None:
    item = _item()
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")  # q1
        widget = app.screen.query_one(ChoiceItem)
        assert widget.order == option_order(app.shuffle_seed, "q1", 0, item)
        wrong = next(i for i in widget.order if i not in item.correct_options)
        await pilot.press(key_of(app, "q1", 0, wrong))
        assert app.store.quiz_attempts("q1")[-1]["answer"] == [wrong]  # the file index, not the letter
        letter = LETTERS[widget.order.index(wrong)]
        assert f"✗ {letter}) {item.options[wrong].explanation.en}" in screen_text(app)


@pilot_test
async def test_an_attempt_reads_back_after_a_reshuffle(tmp_path) -> None:
    item = _item()
    right = item.correct_options[0]
    path = tmp_path / "progress.sqlite3"
    with Store.open(path) as store:
        store.record_quiz_attempt("q1", 0, [right], True, "en")  # as recorded before shuffling existed
        store.set_shuffle_seed(os.urandom(8).hex())  # a new order
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        widget = app.screen.query_one(ChoiceItem)
        assert widget.answer == [right] and widget.is_correct(widget.answer)
        letter = LETTERS[widget.order.index(right)]
        assert f"✓ {letter}) {item.options[right].explanation.en}" in screen_text(app)
