"""Helpers for testing properties: grade an implementation in-process, quickly."""

from __future__ import annotations

import importlib
import pkgutil
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.connection import LocalConnection
from grader.core.results import ExerciseResult
from grader.properties import load_all
from grader.reference import load_reference
from grader.runner import grade_exercise

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EXERCISES_DIR = ROOT / "exercises"
REGISTRY = load_all()
IMPLEMENTED = sorted(REGISTRY)
ALL_PROPERTIES = [(ex, p.name) for ex in IMPLEMENTED for p in REGISTRY[ex].properties]


def _caught_by() -> dict[tuple[str, str], Any]:
    """(exercise, property) -> the wrong implementation in tests/wrong/ that the property must catch."""
    import tests.wrong

    table: dict[tuple[str, str], Any] = {}
    for info in pkgutil.iter_modules(tests.wrong.__path__):
        table.update(importlib.import_module(f"tests.wrong.{info.name}").CAUGHT_BY)
    return table


CAUGHT_BY = _caught_by()


def grade_impl(exercise_id: str, impl: Callable[..., Any] | type, *, only: str | None = None, device: str = "cpu") -> ExerciseResult:
    """Grade ``impl`` as the student's version of ``exercise_id`` (in-process, plain-data round trip)."""
    exercise = REGISTRY[exercise_id]
    reference = load_reference(SOLUTIONS, exercise.topic)
    # Siblings come from the reference, so a wrong variant may call other functions of its topic.
    namespace = types.SimpleNamespace(**{k: getattr(reference, k) for k in dir(reference) if not k.startswith("__")})
    setattr(namespace, exercise.name, impl)
    return grade_exercise(exercise, LocalConnection({exercise.topic: namespace}), device=device, reference=reference, only=only)


def failed_properties(result: ExerciseResult) -> set[str]:
    return {p.name for p in result.properties if p.status == "failed"}
