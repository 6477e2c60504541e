"""Grades every wrong implementation of tests/wrong/ with the grader of a student copy.

Run by tests/test_release.py with the Python of a virtual environment the copy is installed in
(GENLAB_COURSE pointing at it): ``python tests/release_catch.py SOLUTIONS_DIR``. Prints one JSON
object: the grader's own file, and per wrong implementation whether the property it is written
for catches it there, whether any property does, and that property's status and message.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # after site-packages: `tests` comes from here, `grader` from the copy


def main() -> None:
    import grader
    from grader.connection import LocalConnection
    from grader.properties import load_all
    from grader.runner import grade_exercise

    solutions = Path(sys.argv[1])
    registry = load_all()
    siblings: dict[str, types.ModuleType] = {}
    rows = []
    from tests.harness import CAUGHT_BY  # every tests/wrong/ module's table (some import the harness)

    for (exercise_id, prop), impl in CAUGHT_BY.items():
        exercise = registry[exercise_id]
        if exercise.topic not in siblings:  # the student's other functions: the reference's, as in tests/harness.py
            spec = importlib.util.spec_from_file_location(f"student_{exercise.topic}", solutions / f"{exercise.topic}.py")
            siblings[exercise.topic] = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(siblings[exercise.topic])
        module = siblings[exercise.topic]
        namespace = types.SimpleNamespace(**{k: getattr(module, k) for k in dir(module) if not k.startswith("__")})
        setattr(namespace, exercise.name, impl)
        own = grade_exercise(exercise, LocalConnection({exercise.topic: namespace}), only=prop).properties[0]
        caught = own.status == "failed"
        if not caught:
            caught = grade_exercise(exercise, LocalConnection({exercise.topic: namespace})).status != "passed"
        rows.append({"exercise": exercise_id, "property": prop, "own": own.status == "failed", "caught": caught, "status": own.status, "message": own.message})
    print(json.dumps({"grader": grader.__file__, "rows": rows}))


if __name__ == "__main__":
    main()
