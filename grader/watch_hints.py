"""Progressive hints of `grade watch` (`h`): each press shows one more.

1. what the latest grading says is wrong: the failing property's diagnosis (else its message);
2. the formula and conventions from the stub's docstring (the course's own stub, read with
   ``ast``: the judge never imports a topic module);
3. the key points of the exercise's question in the bank.
"""

from __future__ import annotations

import ast
from pathlib import Path

from grader import paths
from grader.catalog import EXERCISES, name_of, topic_of
from grader.results import ExerciseResult

LEVELS = 3

TEXT = {
    "diagnosis": {"en": "Hint 1/3 — what is wrong", "ru": "Подсказка 1/3 — что не так"},
    "docstring": {"en": "Hint 2/3 — the formula, from the stub's docstring", "ru": "Подсказка 2/3 — формула из docstring заготовки"},
    "key_points": {"en": "Hint 3/3 — key points of {q}", "ru": "Подсказка 3/3 — ключевые пункты {q}"},
    "passes": {"en": "It passes: no hint needed. Press n for the next exercise.", "ru": "Упражнение проходит, подсказка не нужна. Нажмите n для следующего."},
    "not_graded": {"en": "Not graded yet: save the file or press r.", "ru": "Ещё не проверено: сохраните файл или нажмите r."},
    "no_docstring": {"en": "The stub of {e} has no docstring.", "ru": "У заготовки {e} нет docstring."},
    "no_more": {"en": "No more hints. The reference answer: grade show {q} --answer", "ru": "Подсказок больше нет. Эталонный ответ: grade show {q} --answer"},
    "no_bank": {"en": "The question bank cannot be read: {why}", "ru": "Банк вопросов не читается: {why}"},
}


def say(key: str, lang: str, **fields: str) -> str:
    return TEXT[key][lang].format(**fields)


def question_of(exercise_id: str, asked: str | None) -> str:
    """The question a hint refers to: the one the student asked for, else the exercise's first."""
    questions = EXERCISES[exercise_id]
    return asked if asked in questions else questions[0]


def hint(level: int, exercise_id: str, result: ExerciseResult | None, lang: str, question: str) -> tuple[str, list[str]]:
    """(title, lines) of hint ``level`` (1-based) for an exercise given its latest result."""
    if level == 1:
        if result is None:
            return say("diagnosis", lang), [say("not_graded", lang)]
        if result.passed:
            return say("diagnosis", lang), [say("passes", lang)]
        return say("diagnosis", lang), diagnosis_lines(result)
    if level == 2:
        doc = stub_docstring(exercise_id)
        return say("docstring", lang), doc.splitlines() if doc else [say("no_docstring", lang, e=exercise_id)]
    if level == 3:
        return say("key_points", lang, q=question), key_points(question, lang)
    return say("no_more", lang, q=question), []


def diagnosis_lines(result: ExerciseResult) -> list[str]:
    """The first failing property's diagnosis (or message); the exercise's message otherwise."""
    for prop in result.properties:
        if prop.status == "failed":
            lines = [prop.statement]
            if prop.diagnosis:
                lines.append(prop.diagnosis)
            elif prop.message:
                lines += prop.message.splitlines()
            return lines
    return [result.message or result.status.replace("_", " ")]


def stub_docstring(exercise_id: str, stubs: Path | None = None) -> str:
    """The docstring of the exercise's function or class in the course's stub (parsed, not run)."""
    path = (stubs or paths.exercises_dir()) / f"{topic_of(exercise_id)}.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return ""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name_of(exercise_id):
            return ast.get_docstring(node) or ""
    return ""


def key_points(question: str, lang: str) -> list[str]:
    from grader.bank import BankError, load_bank

    try:
        bank = load_bank(paths.bank_path())
        return [f"• {point}" for point in bank.question(question).key_points.get(lang)]
    except (BankError, KeyError) as exc:
        return [say("no_bank", lang, why=str(exc))]
