"""The student copy's side: the recorded reference of an exercise and what only the instructor runs.

``answers/manifest.json`` (written by ``grader.release.build``) lists, per exercise, the file
of its recorded answers and the properties that cannot be replayed, with the reason.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from grader.release.answers import AnswerBook, ReplayReference

MANIFEST = "manifest.json"

# Shown for a property whose reference answers the student copy does not have.
INSTRUCTOR_ONLY = "only the instructor's copy runs this check"
UNRECORDED = f"{INSTRUCTOR_ONLY}: it compares with the reference on inputs this copy has no recorded answers for (inputs built from your own output)"
JUDGE_ONLY = f"{INSTRUCTOR_ONLY}: it compares with a correct implementation of the grader's own, which this copy does not ship"
PARTLY = "checked on the inputs this copy has the reference's answers for; the instructor's copy checks the rest"


@cache
def manifest(answers: Path) -> dict[str, Any]:
    return json.loads((answers / MANIFEST).read_text(encoding="utf-8"))


def recorded_reference(answers: Path | None, exercise_id: str) -> tuple[ReplayReference | None, dict[str, str]]:
    """The replaying reference of an exercise and {property: why only the instructor runs it}."""
    if answers is None:
        return None, {}
    entry = manifest(answers)["exercises"].get(exercise_id)
    if entry is None:
        return None, {}
    book = AnswerBook.load(answers / entry["file"])
    return ReplayReference(book, exercise_id), dict(entry.get("instructor_only", {}))


def instructor_only_checks(answers: Path | None, exercise_ids: list[str]) -> list[str]:
    """'exercise: property' for every check of these exercises the student copy leaves to the instructor."""
    if answers is None:
        return []
    exercises = manifest(answers)["exercises"]
    return [f"{e}: {p}" for e in exercise_ids for p in exercises.get(e, {}).get("instructor_only", {})]


def versions() -> dict[str, str]:
    """The versions the draws and the reference's numbers depend on."""
    import hypothesis
    import torch

    return {"hypothesis": hypothesis.__version__, "torch": torch.__version__}


def version_mismatch(answers: Path | None) -> str | None:
    """A warning when this copy runs other versions than its answers were recorded with."""
    if answers is None:
        return None
    recorded = manifest(answers).get("versions", {})
    now = versions()
    changed = [f"{name} {recorded[name]} (this copy has {now[name]})" for name in sorted(recorded) if recorded[name] != now.get(name)]
    if not changed:
        return None
    return "the reference's answers were recorded with " + ", ".join(changed) + ": other versions draw other inputs, and checks that find no answer are skipped; install those versions"
