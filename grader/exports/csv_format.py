"""CSV for a gradebook: one row per student, policy points per exercise."""

from __future__ import annotations

import csv
import io

from grader.exports.classdata import ScoredClass


def _num(x: float) -> str:
    return f"{x:g}"


def render(scored: ScoredClass) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    # The isolation column says, row by row, whether the grade came from a sandboxed run.
    writer.writerow(["student", "score", "max_score", "percent", "status", "isolation", *scored.targets])
    for s in scored.students:
        by_id = {e.id: e for e in s.exercises}
        cells = [_num(by_id[t].points) if t in by_id else "" for t in scored.targets]
        writer.writerow([s.student, _num(s.points), _num(s.max_points), f"{s.percent:.1f}", s.status, s.isolation, *cells])
    return buf.getvalue()
