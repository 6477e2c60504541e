"""A scored student as a flat list of tests, the shape every autograding service wants.

One test per property, worth its share of the exercise's policy points; an exercise that was
not graded property by property (not implemented, import error, timed out) is one test.
Gradescope and GitHub Classroom documents are built from these rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from grader.exports.scoring import StudentScore
from grader.exports.text import failure_text


@dataclass(frozen=True)
class TestRow:
    name: str
    number: str  # "2.3": exercise 2, property 3
    score: float
    max_score: float
    passed: bool
    text: str  # what the student reads: the statement and, on failure, why
    hidden: bool  # a hidden-tier property
    skipped: bool = False  # not run here (e.g. it needs the reference solutions this copy lacks)


def test_rows(s: StudentScore) -> Iterator[TestRow]:
    for i, e in enumerate(s.exercises, 1):
        r = e.result
        if r is None or not r.properties:
            message = r.message if r else s.message
            status = e.status.replace("_", " ")
            yield TestRow(e.id, f"{i}", e.points, e.max_points, e.status == "passed", f"{status}: {message}" if message else status, False)
            continue
        for j, p in enumerate(e.properties, 1):
            pr = p.result
            text = pr.statement + "\n" + (failure_text(pr.message, pr.counterexample, pr.diagnosis, pr.trace) if pr.status == "failed" else pr.status.replace("_", " "))
            if j == 1 and r.message:  # why the exercise stopped (not implemented, timed out) comes first
                text = f"{e.status.replace('_', ' ')}: {r.message}\n" + text
            if j == 1 and r.output:
                text += "\n\nyour code printed:\n" + r.output
            yield TestRow(f"{e.id}: {pr.name}", f"{i}.{j}", p.points, p.max_points, pr.passed, text, pr.tier == "hidden", pr.status == "skipped")


def student_notes(s: StudentScore, not_sandboxed: str) -> list[str]:
    """The run's notes, the student's message and the sandbox warning, in that order."""
    notes = list(s.report.notes) if s.report else []
    if s.message:
        notes.append(s.message)
    if s.isolation == "none":
        notes.append(not_sandboxed)
    return notes
