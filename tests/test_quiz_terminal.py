"""`grade show qN --quiz`: answers typed as the shown letters, graded and stored by option identity."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from grader.core.bank import QuizItem, load_bank
from grader.core.paths import bank_path
from grader.core.shuffle import LETTERS, option_order
from grader.core.store import Store
from grader.quiz_terminal import parse_letters, read_answer
from tests.cli_helpers import ROOT
from tui.scheduler import Reviews

BANK = load_bank(bank_path())


def quiz(qid: str, answers: str, store: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GENLAB_PROGRESS": str(store)}
    return subprocess.run([sys.executable, "-m", "grader", "show", qid, "--quiz", "--lang", "en"], input=answers, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def first_choice(kind: str) -> tuple[str, int, QuizItem]:
    for q in BANK.questions:
        for i, item in enumerate(q.quiz):
            if item.kind == kind and item.shuffle:
                return q.id, i, item
    raise AssertionError(f"no shuffled {kind} item in the bank")


def test_letters_map_to_file_indices_through_the_shown_order() -> None:
    order = [2, 0, 3, 1]  # shown a) is file option 2, b) is 0, ...
    assert parse_letters("a", order, multiple=False) == [2]
    assert parse_letters("B, d", order, multiple=True) == [0, 1]
    assert parse_letters("ab", order, multiple=False) is None  # two letters for a single choice
    assert parse_letters("e", order, multiple=False) is None and parse_letters("aa", order, multiple=True) is None


def test_numeric_and_formula_answers_use_the_bank_checkers() -> None:
    numeric = next(item for q in BANK.questions for item in q.quiz if item.kind == "numeric")
    assert read_answer(numeric, [], str(numeric.answer).replace(".", ",")) == (numeric.answer, True)
    assert read_answer(numeric, [], "not a number") is None
    formula = next(item for q in BANK.questions for item in q.quiz if item.kind == "formula")
    assert read_answer(formula, [], formula.accepted[0]) == (formula.accepted[0], True)
    assert read_answer(formula, [], "x")[1] is False


def test_right_answer_is_stored_by_identity_and_survives_a_reshuffle(tmp_path) -> None:
    qid, index, item = first_choice("single")
    db = tmp_path / "p.sqlite3"
    with Store.open(db) as store:
        seed = store.shuffle_seed()
    order = option_order(seed, qid, index, item)
    right = item.correct_options[0]
    answers = "\n" * index + LETTERS[order.index(right)] + "\n"
    proc = quiz(qid, answers, db)
    assert "Right" in proc.stdout, proc.stdout + proc.stderr
    with Store.open(db) as store:
        attempts = [a for a in store.quiz_attempts(qid) if a["item"] == index]
        assert [(a["answer"], a["correct"]) for a in attempts] == [([right], True)]
        # A seed whose order moves the right option to another letter (the store's seed is random,
        # so a fixed second seed would repeat the order once in 4! runs).
        other = next(s for s in (f"seed {n}" for n in range(100))
                     if option_order(s, qid, index, item).index(right) != order.index(right))
        store.set_shuffle_seed(other)
    new_order = option_order(other, qid, index, item)
    assert new_order.index(right) != order.index(right)
    proc = quiz(qid, "\n" * index + LETTERS[new_order.index(right)] + "\n", db)
    assert "Right" in proc.stdout
    with Store.open(db) as store:
        assert [a["answer"] for a in store.quiz_attempts(qid) if a["item"] == index] == [[right], [right]]


def test_wrong_answer_makes_the_question_due(tmp_path) -> None:
    qid, index, item = first_choice("single")
    db = tmp_path / "p.sqlite3"
    with Store.open(db) as store:
        seed = store.shuffle_seed()
        assert qid not in Reviews(store).due(datetime.now(UTC))
    order = option_order(seed, qid, index, item)
    wrong = next(j for j in range(len(item.options)) if j not in item.correct_options)
    proc = quiz(qid, "\n" * index + LETTERS[order.index(wrong)] + "\n", db)
    assert "Wrong" in proc.stdout and "correct: " + LETTERS[order.index(item.correct_options[0])] in proc.stdout
    assert proc.returncode == 1
    with Store.open(db) as store:
        assert qid in Reviews(store, fuzz=False).due(datetime.now(UTC))


def test_unreadable_answers_are_asked_again_and_end_of_input_keeps_what_was_given(tmp_path) -> None:
    qid, index, _item = first_choice("multiple")
    db = tmp_path / "p.sqlite3"
    proc = quiz(qid, "\n" * index + "zz\n", db)  # then the input ends
    assert "could not read that answer" in proc.stdout and proc.returncode == 1
    with Store.open(db) as store:
        assert store.quiz_attempts(qid) == []


def test_quiz_and_answer_are_exclusive(tmp_path) -> None:
    proc = subprocess.run([sys.executable, "-m", "grader", "show", "q7", "--quiz", "--answer"], capture_output=True, text=True, cwd=ROOT, env={**os.environ, "GENLAB_PROGRESS": str(tmp_path / "p.sqlite3")}, timeout=60)
    assert proc.returncode == 2 and "--quiz and --answer" in proc.stderr
