"""Batch grading for instructors: one folder per student, grades exported as CSV and JSON.

Each student is graded by the same engine as `grade`, with a fresh worker of their own.
The CSV has one row per student (total and one column per exercise), which gradebooks
(Canvas, Moodle, a spreadsheet) import directly; the JSON keeps every property verdict.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from grader.errors import UsageError
from grader.results import GradeReport
from grader.session import grade_run


@dataclass
class StudentGrade:
    student: str
    report: GradeReport


def student_folders(root: Path) -> list[Path]:
    """The sub-folders of ``root`` that hold at least one topic module or notebook, sorted by name."""
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder; pass the folder that holds one sub-folder per student")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and (any(p.glob("*.py")) or any(p.glob("*.ipynb"))))
    if not folders:
        raise UsageError(f"{root}: no student folders found (each student needs a sub-folder with their topic modules, e.g. {root}/alice/attention.py)")
    return folders


def grade_class(
    root: Path,
    exercise_ids: list[str],
    *,
    device: str,
    solutions: Path | None,
    call_timeout: float,
    exercise_timeout: float,
    memory_limit_mb: int,
    on_student: Callable[[StudentGrade], None] | None = None,
) -> list[StudentGrade]:
    grades = []
    for folder in student_folders(root):
        run = partial(grade_run, exercise_ids, device=device, solutions=solutions, call_timeout=call_timeout, exercise_timeout=exercise_timeout, memory_limit_mb=memory_limit_mb)
        report = grade_student_notebook(folder, exercise_ids, device, run) if _notebook_folder(folder) else run(folder.resolve())
        grade = StudentGrade(folder.name, report)
        grades.append(grade)
        if on_student:
            on_student(grade)
    return grades


def _notebook_folder(folder: Path) -> bool:
    """A student who handed in a notebook and no topic module (both: the modules are graded)."""
    return not any(folder.glob("*.py")) and any(folder.glob("*.ipynb"))


def grade_student_notebook(folder: Path, exercise_ids: list[str], device: str, run: Callable[[Path], GradeReport]) -> GradeReport:
    """Grade a student's notebook through its generated topic modules. A notebook that cannot
    be read grades every exercise as an error with the reason, without stopping the class."""
    from grader.catalog import EXERCISES
    from grader.notebook import open_notebook
    from grader.results import ExerciseResult

    notebooks = sorted(folder.glob("*.ipynb"))
    try:
        if len(notebooks) > 1:
            raise UsageError(f"{folder.name} has {len(notebooks)} notebooks ({', '.join(n.name for n in notebooks)}); hand in one")
        with open_notebook(notebooks[0]) as notebook:
            report = run(notebook.folder)
            notebook.relocate(report)
            return report
    except UsageError as exc:
        shown = "cpu" if device == "auto" else device
        return GradeReport([ExerciseResult(e, EXERCISES[e], shown, "error", message=str(exc)) for e in exercise_ids])


def write_csv(path: Path, grades: list[StudentGrade], exercise_ids: list[str]) -> None:
    """One row per student: total, max, percent, then `score/max` per exercise and device."""
    columns = sorted({(e.id, e.device) for g in grades for e in g.report.exercises}, key=lambda c: (exercise_ids.index(c[0]), c[1]))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "score", "max_score", "percent", *(f"{e} [{d}]" if len({c[1] for c in columns}) > 1 else e for e, d in columns)])
        for g in grades:
            by_key = {(e.id, e.device): e for e in g.report.exercises}
            percent = 100.0 * g.report.score / g.report.max_score if g.report.max_score else 0.0
            cells = []
            for key in columns:
                e = by_key.get(key)
                cells.append("" if e is None else f"{e.score}/{e.max_score}" + ("" if e.status in ("passed", "failed") else f" ({e.status.replace('_', ' ')})"))
            writer.writerow([g.student, g.report.score, g.report.max_score, f"{percent:.1f}", *cells])


def write_json(path: Path, grades: list[StudentGrade]) -> None:
    data = {"students": [{"student": g.student, **g.report.to_json()} for g in grades]}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
