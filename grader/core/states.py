"""Exercise states and code hashes: what `grade`'s summary and the TUI say about an exercise.

One vocabulary for both:

- an exercise is "new" (never graded, or only "not implemented"), "failing", "changed" (its
  topic module was edited since it was last graded) or "passing", judged on its latest run,
  the CPU one when there is one;
- a question's exercises together are "none" (theory only), "new", "failing", "changed",
  "partial" (some of several pass) or "passing", in that order of priority.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from grader.core.catalog import topic_of
from grader.core.store import GradingRun

ExerciseState = Literal["new", "failing", "changed", "passing"]
QuestionState = Literal["none", "new", "failing", "changed", "partial", "passing"]


def code_hash(submission: Path, exercise_id: str) -> str:
    """sha256 of the topic module the exercise lives in ('' when it is missing); runs record it."""
    try:
        return hashlib.sha256((submission / f"{topic_of(exercise_id)}.py").read_bytes()).hexdigest()
    except OSError:
        return ""


def latest_per_exercise(latest: Mapping[tuple[str, str], GradingRun]) -> dict[str, GradingRun]:
    """exercise -> its latest run, the CPU one when there is one (Store.latest_runs' keys are (exercise, device))."""
    out: dict[str, GradingRun] = {}
    for (exercise, device), run in latest.items():
        if device == "cpu" or exercise not in out:
            out[exercise] = run
    return out


def exercise_state(run: GradingRun | None, current_hash: str) -> ExerciseState:
    """The state of an exercise from its latest run and the hash of its file now ('' if missing)."""
    if run is None:
        return "new"
    if current_hash and run.code_hash != current_hash:
        return "changed"
    if run.passed:
        return "passing"
    return "new" if run.status == "not_implemented" else "failing"


def exercise_states(latest: Mapping[tuple[str, str], GradingRun], submission: Path) -> dict[str, ExerciseState]:
    """The state of every graded exercise of a submission folder (the others are "new")."""
    return {exercise: exercise_state(run, code_hash(submission, exercise)) for exercise, run in latest_per_exercise(latest).items()}


def question_state(states: list[ExerciseState]) -> QuestionState:
    """A question's state from its exercises' states."""
    if not states:
        return "none"
    if all(s == "passing" for s in states):
        return "passing"
    for state in ("failing", "changed"):
        if state in states:
            return state  # type: ignore[return-value]
    return "partial" if "passing" in states else "new"
