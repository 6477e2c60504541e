"""One grading run: start a worker, grade the chosen exercises on each device (Store.record_report saves them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from grader.core.catalog import questions_of, topic_of
from grader.core.results import ExerciseResult, GradeReport
from grader.core.states import code_hash
from grader.errors import UsageError
from grader.limits import Limits


def grade_run(
    exercise_ids: list[str],
    submission: Path,
    *,
    device: str,
    solutions: Path | None,
    limits: Limits,
    isolation: str = "none",
    on_result: Callable[[ExerciseResult], None] | None = None,
) -> GradeReport:
    """Grade exercises of a submission folder; the worker is started before torch is imported
    here, so that both processes import it at the same time."""
    from grader.connection import WorkerConnection

    connection = WorkerConnection(submission, limits=limits, isolation=isolation)
    try:
        # Imports overlap with the worker's own start-up; only then wait for it.
        from grader.properties import load_topics  # also fixes the Hypothesis profile first
        from grader.runner import grade_exercise

        registry = load_topics({topic_of(e) for e in exercise_ids})
        devices = _devices(connection, device)
        report = GradeReport([], isolation=isolation)
        if solutions is None:
            report.notes.append(_student_copy_note(exercise_ids))
        for device in devices:
            for exercise_id in exercise_ids:
                exercise = registry.get(exercise_id)
                if exercise is None:
                    result = ExerciseResult(exercise_id, questions_of(exercise_id), device, "error", message="this exercise has no properties yet")
                else:
                    result = grade_exercise(exercise, connection, device=device, solutions=solutions, call_timeout=limits.call_timeout, exercise_timeout=limits.exercise_timeout)
                result.code_hash = code_hash(submission, exercise_id)
                report.exercises.append(result)
                if on_result:
                    on_result(result)
        if connection.cgroup_status is not None:
            report.cgroup = connection.cgroup_status.to_json()
        return report
    finally:
        connection.close()


def _student_copy_note(exercise_ids: list[str]) -> str:
    """What a copy without solutions/ checks: recorded reference answers (`grade release`) or only the public tier."""
    from grader.core import paths
    from grader.release.student_copy import instructor_only_checks, version_mismatch

    answers = paths.answers_dir()
    if answers is None:
        return "this copy of the course has no solutions/: hidden properties were skipped, only the public ones ran"
    skipped = instructor_only_checks(answers, exercise_ids)
    note = "student copy: checks against the reference use its answers recorded at release time"
    mismatch = version_mismatch(answers)
    if mismatch:
        note += f"; WARNING: {mismatch}"
    if skipped:
        note += f"; {len(skipped)} checks run only in the instructor's copy: " + ", ".join(skipped)
    return note


def _devices(connection: object, device: str) -> list[str]:
    """Resolve --device by asking the worker, so the judge never initialises CUDA."""
    if device == "cpu":
        return ["cpu"]
    answer = connection.request({"op": "devices"}, timeout=120.0).value  # type: ignore[attr-defined]
    has_cuda = isinstance(answer, dict) and answer.get("value") is True
    if device == "cuda" and not has_cuda:
        raise UsageError("--device cuda: PyTorch sees no CUDA device on this machine; use --device cpu or auto")
    return ["cpu", "cuda"] if has_cuda and device == "auto" else (["cuda"] if has_cuda else ["cpu"])

