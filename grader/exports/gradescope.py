"""Gradescope's autograder ``results.json`` for one student (its documented fields only).

A test per property, worth its share of the exercise's policy points, so the tests add up to
``score``. Public properties are ``visible``; hidden-tier ones take the policy's
``hidden_visibility`` (default ``after_published``, so students see them once grades are out).
"""

from __future__ import annotations

import json
from typing import Any

from grader.exports.classdata import NOT_SANDBOXED, ScoredClass
from grader.exports.scoring import StudentScore
from grader.exports.test_rows import student_notes, test_rows
from grader.exports.text import cap

OUTPUT_LIMIT = 8_000  # per test; keeps the whole file far below Gradescope's limits


def document(s: StudentScore, scored: ScoredClass) -> dict[str, Any]:
    policy = scored.policy
    tests = [
        {
            "name": row.name,
            "number": row.number,
            "score": row.score,
            "max_score": row.max_score,
            "status": "passed" if row.passed else "failed",
            "output": cap(row.text, OUTPUT_LIMIT),
            "visibility": policy.hidden_visibility if row.hidden else "visible",
        }
        for row in test_rows(s)
    ]
    notes = student_notes(s, NOT_SANDBOXED)
    return {
        "score": s.points,
        "execution_time": round(sum(e.result.duration_s for e in s.exercises if e.result), 3),
        "output": cap(f"genlab: {s.points:g}/{s.max_points:g} points\n" + "\n".join(notes), OUTPUT_LIMIT),
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def render(s: StudentScore, scored: ScoredClass) -> str:
    return json.dumps(document(s, scored), ensure_ascii=False, indent=2) + "\n"
