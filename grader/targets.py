"""Turning `grade` arguments (q46, flows.log_prob, flows) into exercise ids."""

from __future__ import annotations

import difflib
import re

from grader.core.catalog import EXERCISES, THEORY_ONLY, TOPICS, exercises_of_topic
from grader.errors import UsageError

QUESTION_IDS = [f"q{n}" for n in range(1, 83)]


def questions_to_exercises() -> dict[str, list[str]]:
    table: dict[str, list[str]] = {q: [] for q in QUESTION_IDS}
    for exercise, questions in EXERCISES.items():
        for q in questions:
            table[q].append(exercise)
    return table


def resolve(targets: list[str]) -> tuple[list[str], list[str]]:
    """(exercise ids in catalog order without repeats, notes for theory-only questions)."""
    by_question = questions_to_exercises()
    chosen: list[str] = []
    notes: list[str] = []
    for raw in targets:
        target = raw.strip()
        key = target.lower()
        if re.fullmatch(r"q\d+", key) and key in by_question:
            if not by_question[key]:
                kind = "is theory only" if key in THEORY_ONLY else "has no code exercise"
                notes.append(f"{key} {kind}: study it in the quiz (`genlab`, or `grade show {key}`)")
            chosen += by_question[key]
        elif target in EXERCISES:
            chosen.append(target)
        elif target in TOPICS:
            chosen += exercises_of_topic(target)
        else:
            raise UsageError(_unknown(target))
    order = list(EXERCISES)
    return sorted(dict.fromkeys(chosen), key=order.index), notes


def _unknown(target: str) -> str:
    universe = QUESTION_IDS + list(EXERCISES) + list(TOPICS)
    lowered = target.lower()
    guess = difflib.get_close_matches(lowered, universe, n=3, cutoff=0.6)
    if not guess and "." in lowered:  # a misspelled name inside a known topic
        topic = lowered.split(".")[0]
        guess = [e for e in EXERCISES if e.startswith(topic + ".")][:3]
    kind = "question" if re.fullmatch(r"q\d+", lowered) else "exercise or topic"
    hint = f"; did you mean {' or '.join(guess)}?" if guess else "; questions are q1–q82, topics: " + ", ".join(TOPICS)
    return f"unknown {kind} '{target}'{hint}"
