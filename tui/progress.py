"""What the student has done, per question and per section, read from the progress store.

Pure functions of the bank, the store and the clock (no Textual), so the course map, the
dashboard and the tests all agree on what "mastered", "failing" or "due" means:

- quiz: "new" (no attempt), "answered" (some attempt, or a free recall), "mastered" (the
  latest attempt at every quiz item is right);
- exercises: the states of grader.core.states, the same as `grade`'s summary;
- due: the question's review card is due before the end of today.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from grader.core.bank import Bank, Question
from grader.core.states import ExerciseState, exercise_states, latest_per_exercise, question_state
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
        return latest_per_exercise(self.store.latest_runs())

    def exercise_states(self) -> dict[str, ExerciseState]:
        """The state of every graded exercise (the others are "new")."""
        return exercise_states(self.store.latest_runs(), self.submission)

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
            out[q.id] = QuestionState(quiz, right, question_state([exercises.get(e, "new") for e in q.exercises]), q.id in due)
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

