"""Grade the reference, the stubs, every wrong implementation in tests/wrong/ and every known
mistake, in-process, and write one JSON document of all the reports (durations removed).

Used to show that a refactoring leaves every grade and message byte-identical:

    python tools/report_snapshot.py before.json   # on the old commit
    python tools/report_snapshot.py after.json    # on the new one
    cmp before.json after.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _clean(report: dict) -> dict:
    report = dict(report)
    report.pop("duration_s", None)
    return report


def main(out: str, topics: list[str]) -> None:
    from grader.connection import LocalConnection
    from grader.reference import load_reference
    from grader.runner import grade_exercise
    from grader.worker import load_topic_from
    from tests.harness import CAUGHT_BY, EXERCISES_DIR, IMPLEMENTED, REGISTRY, SOLUTIONS, grade_impl

    reports: dict[str, dict] = {}
    for exercise_id in IMPLEMENTED:
        if topics and exercise_id.split(".")[0] not in topics:
            continue
        exercise = REGISTRY[exercise_id]
        reference = load_reference(SOLUTIONS, exercise.topic)
        reports[f"{exercise_id}|reference"] = _clean(grade_impl(exercise_id, getattr(reference, exercise.name)).to_json())
        stub = load_topic_from(EXERCISES_DIR)(exercise.topic)
        reports[f"{exercise_id}|stub"] = _clean(grade_exercise(exercise, LocalConnection({exercise.topic: stub}), solutions=SOLUTIONS).to_json())
        for prop in exercise.properties:
            wrong = CAUGHT_BY.get((exercise_id, prop.name))
            if wrong is not None:
                reports[f"{exercise_id}|wrong:{prop.name}"] = _clean(grade_impl(exercise_id, wrong).to_json())
        for mistake in exercise.mistakes:
            reports[f"{exercise_id}|mistake:{mistake.name}"] = _clean(grade_impl(exercise_id, mistake.impl).to_json())
        print(exercise_id, file=sys.stderr, flush=True)
    Path(out).write_text(json.dumps(reports, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
