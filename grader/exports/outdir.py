"""Read the folder `grade batch CLASS --out DIR` writes, so a class graded once exports in every format.

    DIR/manifest.json           {"schema": 1, "targets": [exercise ids], "isolation": "bwrap"|"none"}
    DIR/students/<student>.json {"schema": 1, "student", "submission_hash", "isolation",
                                 "status": "graded"|"error", "message", "report": GradeReport JSON
                                 or null, "graded_at"}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import UsageError
from grader.results import ExerciseResult, GradeReport, PropertyResult

SCHEMA = 1


@dataclass
class StudentRecord:
    student: str
    submission_hash: str
    isolation: str
    status: str
    message: str
    report: GradeReport | None
    graded_at: str


@dataclass
class GradedClass:
    folder: Path
    targets: list[str]
    isolation: str
    students: list[StudentRecord]


def report_from_json(data: dict[str, Any]) -> GradeReport:
    """The inverse of ``GradeReport.to_json`` (derived fields such as score are recomputed)."""
    exercises = []
    for e in data.get("exercises", []):
        props = [
            PropertyResult(p["name"], p.get("statement", ""), p.get("tier", "public"), p["status"], p.get("message", ""), p.get("counterexample", ""), p.get("diagnosis"), p.get("trace", ""))
            for p in e.get("properties", [])
        ]
        exercises.append(
            ExerciseResult(e["id"], tuple(e.get("questions", ())), e.get("device", "cpu"), e["status"], props, e.get("message", ""), e.get("output", ""), float(e.get("duration_s", 0.0)), e.get("code_hash", ""))
        )
    return GradeReport(exercises, list(data.get("notes", [])))


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror}); pass the folder `grade batch CLASS --out DIR` wrote") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); re-run `grade batch` to rewrite it") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(f"{path}: not a genlab batch file of schema {SCHEMA}; re-run `grade batch CLASS --out DIR` with this version of genlab")
    return data


def read_outdir(folder: Path) -> GradedClass:
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise UsageError(f"{folder}: no manifest.json; pass the folder written by `grade batch CLASS --out DIR`")
    manifest = _load(manifest_path)
    students = []
    for path in sorted((folder / "students").glob("*.json")):
        data = _load(path)
        try:
            report = report_from_json(data["report"]) if data.get("report") is not None else None
            students.append(StudentRecord(data["student"], data.get("submission_hash", ""), data.get("isolation", manifest.get("isolation", "none")), data["status"], data.get("message", ""), report, data.get("graded_at", "")))
        except (KeyError, TypeError) as exc:
            raise UsageError(f"{path}: malformed student record (missing {exc}); re-run `grade batch` to rewrite it") from None
    if not students:
        raise UsageError(f"{folder}/students: no student records; `grade batch CLASS --out {folder}` writes them")
    return GradedClass(folder, list(manifest.get("targets", [])), manifest.get("isolation", "none"), students)
