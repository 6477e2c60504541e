"""Check that every property gives the same verdict alone as in its exercise's full run.

`grade watch` grades an exercise's properties in two judges at once (grader.split_grading),
so a property must not depend on state an earlier property left behind in the judge. For each
exercise, in a fresh process: each property is graded alone (``only``), in reverse order —
so a property that reads what an earlier one set runs before that one — and then the whole
exercise; the verdicts (status, message, counterexample, diagnosis) must agree. The student
is the reference and every wrong implementation of tests/wrong/ for that exercise.

    python tools/property_independence.py            # every exercise, exit 1 on a difference
    python tools/property_independence.py attention  # topics or exercise ids
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def check_exercise(exercise_id: str) -> list[str]:
    """The differences for one exercise (run in a fresh process by ``main``)."""
    from tests.harness import CAUGHT_BY, REGISTRY, SOLUTIONS, grade_impl, load_reference

    exercise = REGISTRY[exercise_id]
    reference = getattr(load_reference(SOLUTIONS, exercise.topic), exercise.name)
    students = {"reference": reference} | {f"wrong for {prop}": impl for (ex, prop), impl in CAUGHT_BY.items() if ex == exercise_id}
    problems = []
    names = [p.name for p in exercise.properties]
    for label, impl in students.items():
        alone = {name: grade_impl(exercise_id, impl, only=name).properties[0] for name in reversed(names)}
        together = grade_impl(exercise_id, impl)
        if together.status not in ("passed", "failed"):
            continue  # stopped early: later properties were not run in the full run
        for prop in together.properties:
            one = alone[prop.name]
            seen = (one.status, one.message, one.counterexample, one.diagnosis)
            full = (prop.status, prop.message, prop.counterexample, prop.diagnosis)
            if seen != full:
                problems.append(f"{exercise_id} [{label}] {prop.name}: alone {seen[:2]} but in the full run {full[:2]}")
    return problems


def main(selection: list[str]) -> int:
    from grader.core.catalog import EXERCISES

    wanted = [e for e in EXERCISES if not selection or e in selection or e.split(".")[0] in selection]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(exercise_id: str) -> str:
        done = subprocess.run([sys.executable, __file__, "--one", exercise_id], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode not in (0, 1):
            return f"{exercise_id}: the check itself failed:\n{done.stderr[-2000:]}"
        return done.stdout.strip()

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        outputs = [out for out in pool.map(run, wanted) if out]
    for out in outputs:
        print(out)
    print(f"{len(wanted)} exercises checked; {'no differences' if not outputs else f'{len(outputs)} with differences'}")
    return 1 if outputs else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        differences = check_exercise(sys.argv[2])
        print("\n".join(differences))
        sys.exit(1 if differences else 0)
    sys.exit(main(sys.argv[1:]))
