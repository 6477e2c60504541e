"""Turning `grade` arguments (q46, flows.log_prob, flows) into exercise ids."""

from __future__ import annotations

import difflib
import re

from grader.core.catalog import EXERCISES, TOPICS, exercises_of_topic, links
from grader.errors import UsageError


def resolve(targets: list[str]) -> tuple[list[str], list[str]]:
    """(exercise ids in catalog order without repeats, notes for theory-only questions).

    A question's exercises are those its `exercises:` in questions.yaml lists."""
    by_question = links().exercises
    chosen: list[str] = []
    notes: list[str] = []
    for raw in targets:
        target = raw.strip()
        key = target.lower()
        if re.fullmatch(r"q\d+", key) and key in by_question:
            if not by_question[key]:
                notes.append(f"{key} is theory only: study it in the quiz (`genlab`, or `grade show {key}`)")
            chosen += by_question[key]
        elif target in EXERCISES:
            chosen.append(target)
        elif target in TOPICS:
            chosen += exercises_of_topic(target)
        else:
            raise UsageError(_unknown(target, list(by_question)))
    order = list(EXERCISES)
    return sorted(dict.fromkeys(chosen), key=order.index), notes


def _unknown(target: str, question_ids: list[str]) -> str:
    universe = question_ids + list(EXERCISES) + list(TOPICS)
    lowered = target.lower()
    guess = difflib.get_close_matches(lowered, universe, n=3, cutoff=0.6)
    if not guess and "." in lowered:  # a misspelled name inside a known topic
        topic = lowered.split(".")[0]
        guess = [e for e in EXERCISES if e.startswith(topic + ".")][:3]
    kind = "question" if re.fullmatch(r"q\d+", lowered) else "exercise or topic"
    hint = f"; did you mean {' or '.join(guess)}?" if guess else f"; questions are {question_ids[0]}–{question_ids[-1]}, topics: " + ", ".join(TOPICS)
    return f"unknown {kind} '{target}'{hint}"
