"""`grade release OUT`: write a student copy of the course.

The copy holds the stubs, the question bank, the grader, the TUI and the README, and
``answers/``: the reference's recorded answers (see ``grader.release.record``) in place of
``solutions/``. It leaves out the solutions, the grader's own tests (their wrong
implementations are near-solutions), the benchmarks and tools, compiled files and version
control. Helpers marked ``@judge_only`` (correct implementations the diagnoses use) lose their
bodies in the copy (``grader.release.strip``). The finished copy is audited for the reference's source (``grader.release.audit``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from grader.core import paths
from grader.errors import UsageError

# What a student gets, relative to the course root (missing optional items are skipped).
COPIED = ("pyproject.toml", "README.md", "questions.yaml", "grading.toml", "LICENSE", ".gitignore", "docs", "grader", "tui", "exercises")
REQUIRED = ("pyproject.toml", "questions.yaml", "grader", "tui", "exercises")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".genlab", "*.egg-info")


@dataclass
class Release:
    """What `grade release` wrote."""

    out: Path
    files: int
    answers_bytes: int
    exercises: int
    instructor_only: list[str]
    leaks: list[str]  # the reference's source found in the copy (should be empty)
    stripped: dict[str, list[str]] = field(default_factory=dict)  # file -> @judge_only helpers emptied there


def check_out(out: Path, course: Path) -> None:
    """Refuse an OUT that holds anything, is a file, or lies inside what is copied."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file; pass a folder that does not exist yet (grade release student-copy/)")
    if out.is_dir() and any(out.iterdir()):
        raise UsageError(f"{out} exists and is not empty; pass a new folder, or empty this one first (rm -r {out})")
    resolved = out.resolve()
    for item in (*COPIED, "solutions"):
        if resolved == (course / item).resolve() or (course / item).resolve() in resolved.parents:
            raise UsageError(f"{out} is inside the course's {item}/; pass a folder outside it (e.g. ../student-copy)")


def build_release(out: Path, course: Path | None = None) -> Release:
    """Copy the student's part of the course into ``out`` and record the reference's answers."""
    from grader.release.audit import find_reference_source
    from grader.release.record import record_course
    from grader.release.strip import strip_folder

    course = (course or paths.course_root()).resolve()
    solutions = course / "solutions"
    if not solutions.is_dir():
        raise UsageError(f"{course} has no solutions/: build the release from the instructor's copy of the course, which has them")
    check_out(out, course)
    missing = [item for item in REQUIRED if not (course / item).exists()]
    if missing:
        raise UsageError(f"{course} lacks {', '.join(missing)}: is GENLAB_COURSE the course root?")
    out.mkdir(parents=True, exist_ok=True)
    for item in COPIED:
        source = course / item
        if source.is_dir():
            shutil.copytree(source, out / item, ignore=IGNORED)
        elif source.is_file():
            shutil.copy2(source, out / item)
    _pin_hypothesis(out / "pyproject.toml")
    stripped = strip_folder(out / "grader")
    recorded = record_course(solutions, out / "answers")
    leaks = find_reference_source(solutions, out, stubs=course / "exercises")
    files = sum(1 for p in out.rglob("*") if p.is_file())
    return Release(out, files, recorded.bytes_written, len(recorded.exercises), recorded.instructor_only, leaks, stripped)


def _pin_hypothesis(pyproject: Path) -> None:
    """The copy requires the Hypothesis the answers are recorded with: another version draws
    other inputs (torch's version is recorded too, but the README's install pins it already)."""
    import re

    import hypothesis

    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(re.sub(r'"hypothesis[^"]*"', f'"hypothesis=={hypothesis.__version__}"', text, count=1), encoding="utf-8")
