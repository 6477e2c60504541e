"""`grade show q46 --quiz`: answer a question's quiz items in the terminal, as in the TUI.

Options are shown in the student's order (grader.shuffle) and answered by their letters; the
attempt is graded and stored by option identity (file indices), exactly as the TUI stores it,
so the two can be mixed. Answers are read one line at a time, so the quiz also works with
answers piped in; an empty line skips an item and the end of input stops the quiz, keeping
every answer given so far.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape

from grader.bank import Question, QuizItem, parse_number
from grader.render import quiz_item
from grader.shuffle import LETTERS

MAX_TRIES = 3  # unreadable answers in a row before the item is skipped

ASK = {
    "single": {"ru": "ваш ответ (буква; Enter — пропустить)", "en": "your answer (a letter; Enter skips)"},
    "multiple": {"ru": "ваш ответ (буквы, напр. a,c; Enter — пропустить)", "en": "your answer (letters, e.g. a,c; Enter skips)"},
    "numeric": {"ru": "ваш ответ (число; Enter — пропустить)", "en": "your answer (a number; Enter skips)"},
    "formula": {"ru": "ваш ответ (формула; Enter — пропустить)", "en": "your answer (a formula; Enter skips)"},
}
RIGHT = {"ru": "Верно", "en": "Right"}
WRONG = {"ru": "Неверно", "en": "Wrong"}


@dataclass
class QuizOutcome:
    answered: int = 0
    right: int = 0


def parse_letters(text: str, order: list[int], multiple: bool) -> list[int] | None:
    """Shown letters ('b', 'a,c', 'a c', 'AC') as file indices; None when unreadable."""
    letters = [c for c in text.lower() if c not in " ,;"]
    if not letters or len(set(letters)) != len(letters) or (not multiple and len(letters) != 1):
        return None
    shown = LETTERS[: len(order)]
    if any(c not in shown for c in letters):
        return None
    return sorted(order[shown.index(c)] for c in letters)


def read_answer(item: QuizItem, order: list[int], line: str) -> tuple[Any, bool] | None:
    """(the answer as stored, whether it is right), or None when the line cannot be read."""
    if item.kind in ("single", "multiple"):
        chosen = parse_letters(line, order, item.kind == "multiple")
        return None if chosen is None else (chosen, item.check_choice(chosen))
    if item.kind == "numeric":
        value = parse_number(line)
        return None if value is None else (value, item.check_numeric(value))
    return line.strip(), item.check_formula(line)


def feedback(console: Console, item: QuizItem, answer: Any, correct: bool, order: list[int], lang: str) -> None:
    console.print(f"   [green]{RIGHT[lang]}[/]" if correct else f"   [red]{WRONG[lang]}[/]")
    if item.kind in ("single", "multiple"):
        for j in answer:
            console.print(f"   {LETTERS[order.index(j)]}) [dim]{escape(item.options[j].explanation.get(lang))}[/]")
        if not correct:
            right = ", ".join(LETTERS[order.index(j)] for j in item.correct_options)
            console.print("   " + {"ru": "правильно: ", "en": "correct: "}[lang] + right)
        return
    if not correct:
        expected = f"{item.answer:g}" if item.kind == "numeric" else item.accepted[0]
        console.print("   " + {"ru": "ответ: ", "en": "answer: "}[lang] + escape(expected))
    if item.explanation:
        console.print(f"   [dim]{escape(item.explanation.get(lang))}[/]")


def run_quiz(console: Console, q: Question, lang: str, *, seed: str, read_line: Callable[[str], str], record: Callable[[str, int, Any, bool], None]) -> QuizOutcome:
    """Ask every item of ``q``; ``record(qid, item, answer, correct)`` stores each answer at once."""
    outcome = QuizOutcome()
    for index, item in enumerate(q.quiz):
        order = quiz_item(console, q, index, item, lang, seed=seed, with_answer=False)
        for _ in range(MAX_TRIES):
            try:
                line = read_line(f"   {ASK[item.kind][lang]}: ")
            except EOFError:
                return outcome
            if not line.strip():
                break
            parsed = read_answer(item, order, line)
            if parsed is None:
                console.print("   [yellow]" + {"ru": "не понял ответ, попробуйте ещё раз", "en": "could not read that answer; try again"}[lang] + "[/]")
                continue
            answer, correct = parsed
            record(q.id, index, answer, correct)
            outcome.answered += 1
            outcome.right += correct
            feedback(console, item, answer, correct, order, lang)
            break
        console.print()
    return outcome
