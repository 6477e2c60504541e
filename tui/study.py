"""The study state every screen works on, passed down to the screens as one object.

The bank, the progress store, the review scheduler, what the student has done (Progress),
the grading runs in flight and their results, and the language. Screens read it and write
the student's work through it; they never reach into the app (state down), and ask the app
to navigate or to start a grading run with messages (tui.messages; messages up).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fsrs import Card

from grader.core.bank import Bank
from grader.core.store import Store
from tui.clock import Clock
from tui.grade_process import Job, Outcome
from tui.progress import Progress
from tui.scheduler import Reviews

RESUME_KEY = "resume"  # ui_state: where the student was (screen, question, step, search)
LANG_KEY = "lang"  # ui_state: the chosen language


@dataclass
class Study:
    """One student's study session over one course copy."""

    bank: Bank
    store: Store
    reviews: Reviews
    progress: Progress
    submission: Path  # the folder `grade` grades
    clock: Clock
    lang: str
    report_write_error: Callable[[Exception], None]  # a failed store write, shown loudly by the app
    start_grading: Callable[[str], None]  # run `grade` for a question in the background (the app owns the worker threads)
    shuffle_seed: str = ""  # the order of choice options (grader.core.shuffle); '' = file order
    jobs: dict[str, Job] = field(default_factory=dict)  # question -> its grading run in flight
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # question -> its latest grading result

    @classmethod
    def open(
        cls, bank: Bank, store: Store, *, submission: Path, clock: Clock, lang: str, fuzz: bool,
        report_write_error: Callable[[Exception], None], start_grading: Callable[[str], None],
    ) -> Study:
        reviews = Reviews(store, fuzz=fuzz)
        progress = Progress(bank, store, reviews, submission, clock)
        study = cls(bank, store, reviews, progress, submission, clock, lang, report_write_error, start_grading)
        study.shuffle_seed = study.write(store.shuffle_seed) or ""  # '' if the store is read-only
        return study

    def write(self, write: Callable[..., Any], *args: Any) -> Any:
        """A store write that cannot crash the app: a locked or full disk is reported, loudly."""
        try:
            return write(*args)
        except (sqlite3.Error, OSError) as exc:
            self.report_write_error(exc)
            return None

    # ------------------------------------------------------------------ where the student was

    def resume_state(self) -> dict[str, Any]:
        try:
            value = json.loads(self.store.get_state(RESUME_KEY) or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def save_resume(self, **fields: Any) -> None:
        state = self.resume_state()
        new = {**state, **fields}
        if new != state:
            self.write(self.store.set_state, RESUME_KEY, json.dumps(new))

    def save_draft(self, qid: str, text: str) -> None:
        self.write(self.store.set_state, f"draft:{qid}", text)

    def set_lang(self, lang: str) -> None:
        self.lang = lang
        self.write(self.store.set_state, LANG_KEY, lang)

    # ------------------------------------------------------------------ answers

    def record_quiz(self, qid: str, item: int, answer: Any, correct: bool) -> None:
        self.write(self.store.record_quiz_attempt, qid, item, answer, correct, self.lang)
        if not correct:
            # A wrong answer shows the question needs study: due now, like a failing exercise
            # (tui.scheduler). Unstudied, unattempted questions never are: no wall of reviews.
            self.write(self.reviews.bring_forward, {qid: self.clock()}, self.clock())

    def record_recall(self, qid: str, text: str, key_points: list[int], rating: int) -> Card | None:
        """Store a free recall and its self-rating, reschedule the card; returns the card."""
        self.write(self.store.record_recall, qid, text, key_points, rating, self.lang)
        return self.write(self.reviews.rate, qid, rating, self.clock())

    def bring_failing_forward(self) -> None:
        """A failing exercise brings its questions back for review (tui.scheduler)."""
        self.write(self.reviews.bring_forward, self.progress.failing_questions(), self.clock())
