"""GitHub Classroom's autograding result for one student, as `autograding-grading-reporter` reads it.

The reporter takes, per runner, base64 of a JSON document ``{"version": 1, "status", "max_score",
"tests": [{"name", "status", "score", "message", "line_no"}]}`` from the environment variable
``<RUNNER>_RESULTS``. It adds up each test's ``score`` against ``max_score``, so one genlab step
reports partial scores property by property (not all-or-nothing per command).
"""

from __future__ import annotations

import json
from typing import Any

from grader.exports.classdata import NOT_SANDBOXED, ScoredClass
from grader.exports.scoring import StudentScore
from grader.exports.test_rows import student_notes, test_rows
from grader.exports.text import cap

MESSAGE_LIMIT = 4_000  # per test: the log stays readable and the step output small
RUNNER = "genlab"  # the step id the workflow gives the grading step; the reporter reads GENLAB_RESULTS


def document(s: StudentScore, scored: ScoredClass) -> dict[str, Any]:
    tests: list[dict[str, Any]] = [
        {
            "name": row.name,
            "status": "pass" if row.passed else "fail",
            "score": round(row.score, 6),
            "message": cap(row.text, MESSAGE_LIMIT),
            "line_no": 0,
            "execution_time": "",
        }
        for row in test_rows(s)
        if not row.skipped  # the reporter knows only pass/fail/error; the notes say what was skipped
    ]
    notes = student_notes(s, NOT_SANDBOXED)
    if s.report is None:  # the grader could not run at all: the reporter shows an error, not a failure
        tests = tests or [{"name": "genlab", "status": "error", "score": 0, "message": cap(s.message or "could not grade", MESSAGE_LIMIT), "line_no": 0}]
        status = "error"
    else:
        status = "pass" if tests and all(t["status"] == "pass" for t in tests) else "fail"
    return {"version": 1, "status": status, "max_score": s.max_points, "notes": notes, "tests": tests}


def render(s: StudentScore, scored: ScoredClass) -> str:
    return json.dumps(document(s, scored), ensure_ascii=False, indent=2) + "\n"


def error_document(message: str) -> dict[str, Any]:
    """What the step reports when grading crashed before it could write a document."""
    return {"version": 1, "status": "error", "max_score": 0, "tests": [{"name": "genlab", "status": "error", "score": 0, "message": cap(message, MESSAGE_LIMIT), "line_no": 0}]}
