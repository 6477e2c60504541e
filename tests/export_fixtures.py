"""A graded class folder in the format `grade batch CLASS --out DIR` writes, built by real in-process grading."""

from __future__ import annotations

import json
from pathlib import Path

from grader.core.results import GradeReport
from grader.properties import attention as props
from tests.harness import grade_impl
from tests.wrong.attention import sdpa_keys_sorted

SDPA, MASK = "attention.scaled_dot_product_attention", "attention.causal_mask"
TARGETS = [SDPA, MASK]


def _stub(*args, **kwargs):
    raise NotImplementedError


def _reference(exercise_id: str):
    import solutions.attention

    return getattr(solutions.attention, exercise_id.split(".")[1])


# student -> implementation per exercise (None: the student's grading failed as a whole)
STUDENTS = {
    "alice": {SDPA: _reference(SDPA), MASK: _reference(MASK)},  # everything right
    "bob": {SDPA: props._softmax_over_queries, MASK: _reference(MASK)},  # a diagnosed mistake
    "carol": {SDPA: sdpa_keys_sorted, MASK: _stub},  # partly right, one exercise not started
    "dave": None,
}


def graded_reports() -> dict[str, GradeReport | None]:
    return {s: (GradeReport([grade_impl(e, impl) for e, impl in impls.items()]) if impls else None) for s, impls in STUDENTS.items()}


def write_outdir(folder: Path, reports: dict[str, GradeReport | None], isolation: str = "none") -> Path:
    (folder / "students").mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"schema": 1, "targets": TARGETS, "isolation": isolation}))
    for student, report in reports.items():
        record = {
            "schema": 1,
            "student": student,
            "submission_hash": f"hash-{student}",
            "isolation": isolation,
            "status": "graded" if report else "error",
            "message": "" if report else "the worker could not start: attention.py has a syntax error",
            "report": report.to_json() if report else None,
            "graded_at": "2026-12-03T12:00:00Z",
        }
        (folder / "students" / f"{student}.json").write_text(json.dumps(record))
    return folder
