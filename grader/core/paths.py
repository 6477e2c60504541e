"""Where the course lives: questions, stubs, solutions and the progress store."""

from __future__ import annotations

import os
from pathlib import Path


def course_root() -> Path:
    """The course checkout: $GENLAB_COURSE, else the folder that holds the `grader` package."""
    env = os.environ.get("GENLAB_COURSE")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[2]


def bank_path() -> Path:
    return course_root() / "questions.yaml"


def exercises_dir() -> Path:
    return course_root() / "exercises"


def solutions_dir() -> Path | None:
    """The reference solutions, or None in a student copy of the course published without them."""
    path = course_root() / "solutions"
    return path if path.is_dir() else None


def progress_path() -> Path:
    """The SQLite progress store ($GENLAB_PROGRESS overrides; ignored by git)."""
    env = os.environ.get("GENLAB_PROGRESS")
    return Path(env).resolve() if env else course_root() / ".genlab" / "progress.sqlite3"


def answers_dir() -> Path | None:
    """The reference's recorded answers of a student copy (`grade release`), or None."""
    path = course_root() / "answers"
    return path if (path / "manifest.json").is_file() else None
