"""What the student has done, per question and per section, read from the progress store.

Pure functions of the bank, the store and the clock (no Textual), so the course map, the
dashboard and the tests all agree on what "mastered", "failing" or "due" means:

- quiz: "new" (no attempt), "answered" (some attempt, or a free recall), "mastered" (the
  latest attempt at every quiz item is right);
- exercises: "none" (theory only), "new" (never graded, or only "not implemented"),
  "failing", "changed" (the file was edited since it was last graded), "partial" (some of
  several pass), "passing"; the same rules as `grade`'s summary;
- due: the question's review card is due before the end of today.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from grader.core.bank import Bank, Question
from grader.core.catalog import topic_of
from grader.core.store import GradingRun, Store
from tui.clock import Clock
from tui.scheduler import Reviews


@dataclass(frozen=True)
class QuestionState:
    """A question at a glance."""

    quiz: str  # new / answered / mastered
    items_right: int  # quiz items whose latest attempt is right
    exercises: str  # none / new / failing / changed / partial / passing
    due: bool


@dataclass(frozen=True)
class SectionStats:
    """One row of the dashboard."""

    title_id: str  # a section id, or "" for the whole course
    items_right: int
    items: int
    exercises_passing: int
    exercises: int
    due: int


def file_hash(submission: Path, exercise: str) -> str:
    """The hash `grade` records for an exercise's topic module ('' when it is missing)."""
    try:
        return hashlib.sha256((submission / f"{topic_of(exercise)}.py").read_bytes()).hexdigest()
    except OSError:
        return ""


def parse_time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None


class Progress:
    """Reads the store through the bank's eyes; every method re-reads, so it is never stale."""

    def __init__(self, bank: Bank, store: Store, reviews: Reviews, submission: Path, clock: Clock) -> None:
        self.bank = bank
        self.store = store
        self.reviews = reviews
        self.submission = submission
        self.clock = clock

    # ------------------------------------------------------------------ exercises

    def latest_runs(self) -> dict[str, GradingRun]:
        """exercise -> its latest run, the CPU one when there is one (as `grade` shows)."""
        out: dict[str, GradingRun] = {}
        for (exercise, device), run in self.store.latest_runs().items():
            if device == "cpu" or exercise not in out:
                out[exercise] = run
        return out

    def exercise_states(self) -> dict[str, str]:
        states = {}
        for exercise, run in self.latest_runs().items():
            current = file_hash(self.submission, exercise)
            if current and run.code_hash != current:
                states[exercise] = "changed"
            elif run.passed:
                states[exercise] = "passing"
            else:
                states[exercise] = "new" if run.status == "not_implemented" else "failing"
        return states

    def failing_questions(self) -> dict[str, datetime]:
        """question -> when the latest failing run of one of its exercises was graded."""
        out: dict[str, datetime] = {}
        runs = self.latest_runs()
        for q in self.bank.questions:
            for exercise in q.exercises:
                run = runs.get(exercise)
                when = parse_time(run.graded_at) if run else None
                if run is None or run.passed or run.status == "not_implemented" or when is None:
                    continue
                out[q.id] = max(when, out.get(q.id, when))
        return out

    # ------------------------------------------------------------------ quiz

    def latest_answers(self, qid: str | None = None) -> dict[tuple[str, int], dict[str, Any]]:
        """(question, item) -> the latest quiz attempt."""
        return {(a["question"], a["item"]): a for a in self.store.quiz_attempts(qid)}

    def question_states(self) -> dict[str, QuestionState]:
        answers = self.latest_answers()
        recalled = {a["question"] for a in self.store.recall_attempts()}
        exercises = self.exercise_states()
        due = set(self.reviews.due(self.clock()))
        out = {}
        for q in self.bank.questions:
            latest = [answers.get((q.id, i)) for i in range(len(q.quiz))]
            right = sum(1 for a in latest if a and a["correct"])
            if q.quiz and right == len(q.quiz):
                quiz = "mastered"
            elif any(latest) or q.id in recalled:
                quiz = "answered"
            else:
                quiz = "new"
            out[q.id] = QuestionState(quiz, right, _combine([exercises.get(e, "new") for e in q.exercises]), q.id in due)
        return out

    # ------------------------------------------------------------------ dashboard

    def section_stats(self) -> list[SectionStats]:
        """One row per section, then the whole course (title_id "")."""
        states = self.question_states()
        exercises = self.exercise_states()
        rows = [self._stats(s.id, self.bank.in_section(s.id), states, exercises) for s in self.bank.sections]
        rows.append(self._stats("", list(self.bank.questions), states, exercises))
        return rows

    def _stats(self, sid: str, questions: list[Question], states: dict[str, QuestionState], exercises: dict[str, str]) -> SectionStats:
        linked = sorted({e for q in questions for e in q.exercises})
        return SectionStats(
            sid,
            sum(states[q.id].items_right for q in questions),
            sum(len(q.quiz) for q in questions),
            sum(1 for e in linked if exercises.get(e) == "passing"),
            len(linked),
            sum(1 for q in questions if states[q.id].due),
        )

    def streak(self) -> int:
        """Days in a row with at least one answer, ending today (or yesterday: today is not over)."""
        tz = self.clock().tzinfo
        days: set[date] = set()
        for attempt in [*self.store.quiz_attempts(), *self.store.recall_attempts()]:
            when = parse_time(attempt["answered_at"])
            if when is not None:
                days.add(when.astimezone(tz).date())
        return count_streak(days, self.clock().date())


def count_streak(days: Iterable[date], today: date) -> int:
    days = set(days)
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


def _combine(states: list[str]) -> str:
    """A question's exercise state from its exercises' (the priorities of `grade`'s summary)."""
    if not states:
        return "none"
    if all(s == "passing" for s in states):
        return "passing"
    for state in ("failing", "changed"):
        if state in states:
            return state
    return "partial" if "passing" in states else "new"
