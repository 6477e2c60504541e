"""Gradescope's autograder ``results.json`` for one student (its documented fields only).

A test per property, worth its share of the exercise's policy points, so the tests add up to
``score``. Public properties are ``visible``; hidden-tier ones take the policy's
``hidden_visibility`` (default ``after_published``, so students see them once grades are out).
"""

from __future__ import annotations

import json
from typing import Any

from grader.exports.classdata import NOT_SANDBOXED, ScoredClass
from grader.exports.scoring import StudentScore
from grader.exports.text import cap, failure_text

OUTPUT_LIMIT = 8_000  # per test; keeps the whole file far below Gradescope's limits


def document(s: StudentScore, scored: ScoredClass) -> dict[str, Any]:
    policy = scored.policy
    tests: list[dict[str, Any]] = []
    for i, e in enumerate(s.exercises, 1):
        r = e.result
        if r is None or not r.properties:
            message = r.message if r else s.message
            tests.append({
                "name": e.id,
                "number": f"{i}",
                "score": e.points,
                "max_score": e.max_points,
                "status": "passed" if e.status == "passed" else "failed",
                "output": cap(f"{e.status.replace('_', ' ')}: {message}" if message else e.status.replace("_", " "), OUTPUT_LIMIT),
                "visibility": "visible",
            })
            continue
        for j, p in enumerate(e.properties, 1):
            pr = p.result
            output = pr.statement + "\n" + (failure_text(pr.message, pr.counterexample, pr.diagnosis, pr.trace) if pr.status == "failed" else pr.status.replace("_", " "))
            if j == 1 and r.output:
                output += "\n\nyour code printed:\n" + r.output
            tests.append({
                "name": f"{e.id}: {pr.name}",
                "number": f"{i}.{j}",
                "score": p.points,
                "max_score": p.max_points,
                "status": "passed" if pr.passed else "failed",
                "output": cap(output, OUTPUT_LIMIT),
                "visibility": policy.hidden_visibility if pr.tier == "hidden" else "visible",
            })
    notes = list(s.report.notes) if s.report else []
    if s.message:
        notes.append(s.message)
    if s.isolation == "none":
        notes.append(NOT_SANDBOXED)
    return {
        "score": s.points,
        "execution_time": round(sum(e.result.duration_s for e in s.exercises if e.result), 3),
        "output": cap(f"genlab: {s.points:g}/{s.max_points:g} points\n" + "\n".join(notes), OUTPUT_LIMIT),
        "output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def render(s: StudentScore, scored: ScoredClass) -> str:
    return json.dumps(document(s, scored), ensure_ascii=False, indent=2) + "\n"
