"""Record the reference's answers for every exercise, then check that they replay.

Both runs grade the solutions themselves, in-process, with the grading settings students get
(derandomized Hypothesis, the same number of examples): the first with the real reference
wrapped in a recorder, the second with only the recordings. A property that does not pass on
the recordings alone (it builds a reference object, or the reference answers the same input
differently twice) is listed as instructor-only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from grader.connection import LocalConnection
from grader.errors import UsageError
from grader.properties import MAX_EXAMPLES, judge_only, load_all
from grader.properties.api import Exercise
from grader.reference import load_reference
from grader.release.answers import AnswerBook, RecordingReference, ReplayReference
from grader.release.determinism import local_constants_ignored
from grader.release.student_copy import INSTRUCTOR_ONLY, JUDGE_ONLY, MANIFEST, versions
from grader.runner import grade_exercise

NOT_REPLAYABLE = f"{INSTRUCTOR_ONLY}: it compares with a reference object (a class), which this copy has no recorded answers for"
NOT_REPRODUCIBLE = f"{INSTRUCTOR_ONLY}: the reference's recorded answers do not reproduce its verdict on the solutions"


@dataclass
class Recorded:
    """What the recording of a course gave: answers per exercise and the instructor-only checks."""

    exercises: dict[str, dict[str, object]] = field(default_factory=dict)
    bytes_written: int = 0

    @property
    def instructor_only(self) -> list[str]:
        return [f"{e}: {p}" for e, entry in self.exercises.items() for p in entry["instructor_only"]]  # type: ignore[union-attr]


def record_course(solutions: Path, answers: Path) -> Recorded:
    """Write ``answers/<exercise>.pt.xz`` and ``answers/manifest.json`` from the solutions."""
    answers.mkdir(parents=True, exist_ok=True)
    with local_constants_ignored():
        recorded = _record(solutions, answers)
    manifest = {"format": 1, "max_examples": MAX_EXAMPLES, "versions": versions(), "exercises": recorded.exercises}
    (answers / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return recorded


def _record(solutions: Path, answers: Path) -> Recorded:
    recorded = Recorded()
    for exercise in load_all().values():
        assert isinstance(exercise, Exercise)
        reference = load_reference(solutions, exercise.topic)
        if reference is None:
            raise UsageError(f"{solutions / (exercise.topic + '.py')} is missing: the release records the reference's answers from it")
        book = AnswerBook()
        recorder = RecordingReference(reference, book)
        needs_reference, instructor_only = [], {}
        for prop in exercise.properties:  # one at a time, to know which ones ask the reference
            before = (recorder.calls, recorder.objects, judge_only.calls)
            result = grade_exercise(exercise, LocalConnection({exercise.topic: reference}), reference=recorder, only=prop.name)
            if result.status != "passed":
                raise UsageError(f"the reference solution of {exercise.id} does not pass its property {prop.name} ({result.properties[0].message or result.message}); run `grade --all --submission solutions` and fix it first")
            if recorder.objects > before[1]:
                instructor_only[prop.name] = NOT_REPLAYABLE
            elif judge_only.calls > before[2]:  # the student copy's helper raises (grader.release.strip)
                instructor_only[prop.name] = JUDGE_ONLY
            elif recorder.calls > before[0]:
                needs_reference.append(prop.name)
        name = f"{exercise.id}.pt.xz"
        book.save(answers / name)
        recorded.bytes_written += (answers / name).stat().st_size
        replay = ReplayReference(AnswerBook.load(answers / name), exercise.id)
        for prop_name in needs_reference:  # the rest never asks the reference: nothing to replay
            replayed = grade_exercise(exercise, LocalConnection({exercise.topic: reference}), reference=replay, only=prop_name).properties[0]
            if replayed.status != "passed" or replayed.message:
                instructor_only[prop_name] = NOT_REPRODUCIBLE
        recorded.exercises[exercise.id] = {"file": name, "calls": len(book.outputs), "instructor_only": instructor_only}
    return recorded
