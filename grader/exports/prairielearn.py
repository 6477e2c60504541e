"""PrairieLearn's external-grader ``results.json`` for one student: score in [0, 1], a test per property.

``gradable`` is false only when the submission could not be graded at all (the batch record
has no report); an exercise that does not import still counts as graded with 0 points.
"""

from __future__ import annotations

import json
from typing import Any

from grader.exports.classdata import NOT_SANDBOXED, ScoredClass
from grader.exports.scoring import StudentScore
from grader.exports.text import cap, failure_text

OUTPUT_LIMIT = 4_000
MAX_BYTES = 1_000_000  # PrairieLearn rejects results over 1 MB


def document(s: StudentScore, scored: ScoredClass) -> dict[str, Any]:
    tests: list[dict[str, Any]] = []
    for e in s.exercises:
        r = e.result
        if r is None or not r.properties:
            message = r.message if r else s.message
            tests.append({"name": e.id, "description": e.status.replace("_", " "), "points": e.points, "max_points": e.max_points, "message": cap(message, OUTPUT_LIMIT), "output": cap(r.output if r else "", OUTPUT_LIMIT)})
            continue
        for p in e.properties:
            pr = p.result
            tests.append({
                "name": f"{e.id}: {pr.name}",
                "description": pr.statement,
                "points": p.points,
                "max_points": p.max_points,
                "message": cap(failure_text(pr.message, pr.counterexample, pr.diagnosis, pr.trace) if pr.status == "failed" else pr.status.replace("_", " "), OUTPUT_LIMIT),
                "output": "",
            })
    notes = list(s.report.notes) if s.report else []
    if s.isolation == "none":
        notes.append(NOT_SANDBOXED)
    doc = {
        "gradable": s.report is not None,
        "score": min(1.0, max(0.0, round(s.fraction, 6))),
        "message": cap(s.message or f"{s.points:g}/{s.max_points:g} points", OUTPUT_LIMIT),
        "output": cap("\n".join(notes), OUTPUT_LIMIT),
        "tests": tests,
    }
    # Outputs are capped per test; drop the least useful text if a huge class of tests still overflows.
    for _ in range(len(tests)):
        if len(json.dumps(doc, ensure_ascii=False).encode()) < MAX_BYTES:
            break
        longest = max(doc["tests"], key=lambda t: len(t["message"]) + len(t["output"]))
        longest["message"], longest["output"] = cap(longest["message"], 200), ""
    return doc


def render(s: StudentScore, scored: ScoredClass) -> str:
    return json.dumps(document(s, scored), ensure_ascii=False, indent=2) + "\n"
