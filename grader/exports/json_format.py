"""JSON with everything: policy, isolation, and per student every exercise and property with its points."""

from __future__ import annotations

import json
from typing import Any

from grader.exports.classdata import NOT_SANDBOXED, ScoredClass
from grader.exports.scoring import ExerciseScore, StudentScore


def exercise_json(e: ExerciseScore) -> dict[str, Any]:
    r = e.result
    return {
        "id": e.id,
        "status": e.status,
        "started": e.started,
        "points": e.points,
        "max_points": e.max_points,
        "fraction": round(e.fraction, 4),
        "device": r.device if r else None,
        "message": r.message if r else "",
        "duration_s": round(r.duration_s, 3) if r else 0.0,
        "properties": [
            {
                "name": p.result.name,
                "statement": p.result.statement,
                "tier": p.result.tier,
                "status": p.result.status,
                "points": p.points,
                "max_points": p.max_points,
                "message": p.result.message,
                "counterexample": p.result.counterexample,
                "diagnosis": p.result.diagnosis,
                "trace": p.result.trace,
            }
            for p in e.properties
        ],
    }


def student_json(s: StudentScore) -> dict[str, Any]:
    return {
        "student": s.student,
        "status": s.status,
        "message": s.message,
        "isolation": s.isolation,
        "cgroup": s.report.cgroup if s.report is not None else None,  # kernel limits of its workers, or why none
        "score": s.points,
        "max_score": s.max_points,
        "percent": s.percent,
        "exercises": [exercise_json(e) for e in s.exercises],
    }


def document(scored: ScoredClass) -> dict[str, Any]:
    return {
        "schema": 1,
        "policy": scored.policy.to_json(),
        "isolation": scored.isolation,
        "isolation_note": "" if scored.sandboxed else NOT_SANDBOXED,
        "targets": scored.targets,
        "students": [student_json(s) for s in scored.students],
    }


def render(scored: ScoredClass) -> str:
    return json.dumps(document(scored), ensure_ascii=False, indent=2) + "\n"
