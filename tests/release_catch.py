"""Grades every wrong implementation of tests/wrong/ with the grader of a student copy.

Run by tests/test_release.py with the Python of a virtual environment the copy is installed in
(GENLAB_COURSE pointing at it): ``python tests/release_catch.py SOLUTIONS_DIR``. Prints one JSON
object: the grader's own file, and per wrong implementation whether the property it is written
for catches it there, whether any property does, and that property's status and message.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # after site-packages: `tests` comes from here, `grader` from the copy


def _restore_judge_only_helpers() -> int:
    """The wrong implementations of tests/wrong/ are written with the grader's helpers, some of
    which the copy strips (``@judge_only``); a real student's code has none of them. Put the
    instructor's definitions back into this process's (the copy's) modules, so that the wrong
    implementations compute what they compute in the full grader. What is caught does not
    change otherwise: the properties that need a stripped helper are skipped by the copy's
    manifest all the same, and a diagnosis decides no verdict."""
    import ast

    import grader.properties as copy_properties
    from grader.release.strip import marked

    restored = 0
    for path in sorted((ROOT / "grader" / "properties").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = marked(tree)
        if not nodes:
            continue
        name = ".".join(("grader", *path.relative_to(ROOT / "grader").with_suffix("").parts))
        module = importlib.import_module(name)
        namespace = dict(vars(module))
        exec(compile(ast.Module(body=[n for n in tree.body if n in nodes], type_ignores=[]), str(path), "exec"), namespace)  # noqa: S102
        for node in nodes:
            old, new = getattr(module, node.name), namespace[node.name]
            if isinstance(old, type):
                for sub in old.__subclasses__():  # the mistake classes built on the stripped one
                    sub.__bases__ = tuple(new if b is old else b for b in sub.__bases__)
            for holder in (module, *(m for m in list(sys.modules.values()) if getattr(m, "__name__", "").startswith(copy_properties.__name__))):
                for attr, value in list(vars(holder).items()):
                    if value is old:
                        setattr(holder, attr, new)
                    elif isinstance(value, functools.partial) and value.func is old:  # a mistake as the formula with a switch
                        setattr(holder, attr, functools.partial(new, *value.args, **value.keywords))
            restored += 1
    return restored


def main() -> None:
    import grader
    from grader.connection import LocalConnection
    from grader.properties import load_all
    from grader.runner import grade_exercise

    solutions = Path(sys.argv[1])
    registry = load_all()
    restored = _restore_judge_only_helpers()
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
    print(json.dumps({"grader": grader.__file__, "restored": restored, "rows": rows}))


if __name__ == "__main__":
    main()
