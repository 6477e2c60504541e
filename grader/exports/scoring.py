"""The one place where grades become points: every export and the class report call `score_student`.

An exercise is worth ``policy.points_of(id)``. With ``fraction`` partial credit it earns the
weighted share of its properties that passed (a hidden-tier property weighs ``hidden_weight``,
a public one 1; properties skipped because the course copy has no solutions count for
nothing); with ``all_or_nothing`` it earns everything only when it passed. When an exercise
was graded on several devices, the device where it did worst counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grader.core.results import ExerciseResult, GradeReport, PropertyResult
from grader.exports.policy import Policy


@dataclass
class PropertyScore:
    result: PropertyResult
    points: float
    max_points: float


@dataclass
class ExerciseScore:
    id: str
    result: ExerciseResult | None  # None: never graded (the student's grading failed as a whole)
    fraction: float
    points: float
    max_points: float
    properties: list[PropertyScore] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.result.status if self.result else "error"

    @property
    def started(self) -> bool:
        return self.result is not None and self.result.status != "not_implemented"


@dataclass
class StudentScore:
    student: str
    status: str  # "graded" or "error"
    message: str
    isolation: str
    exercises: list[ExerciseScore]
    report: GradeReport | None

    @property
    def points(self) -> float:
        return _round(sum(e.points for e in self.exercises))

    @property
    def max_points(self) -> float:
        return _round(sum(e.max_points for e in self.exercises))

    @property
    def fraction(self) -> float:
        return self.points / self.max_points if self.max_points else 0.0

    @property
    def percent(self) -> float:
        return round(100.0 * self.fraction, 1)


def _round(x: float) -> float:
    return round(x, 4)


def score_exercise(result: ExerciseResult, policy: Policy) -> ExerciseScore:
    max_points = policy.points_of(result.id)
    counted = [p for p in result.properties if p.status != "skipped"]
    total_weight = sum(policy.property_weight(p.tier) for p in counted)
    if policy.partial_credit == "all_or_nothing":
        fraction = 1.0 if result.passed else 0.0
    else:
        fraction = sum(policy.property_weight(p.tier) for p in counted if p.passed) / total_weight if total_weight else 0.0
    # Shares are rounded, and the last counted property takes the remainder, so that the
    # properties of an exercise add up to exactly its points in every export.
    shares = [_round(max_points * policy.property_weight(p.tier) / total_weight) if total_weight and p.status != "skipped" else 0.0 for p in result.properties]
    counted_at = [i for i, p in enumerate(result.properties) if p.status != "skipped"]
    if counted_at and total_weight:
        last = counted_at[-1]
        shares[last] = _round(max_points - sum(x for i, x in enumerate(shares) if i != last))
    props = []
    for p, share in zip(result.properties, shares):
        earned = share if (p.passed if policy.partial_credit == "fraction" else result.passed) else 0.0
        props.append(PropertyScore(p, earned, share))
    points = _round(sum(p.points for p in props)) if total_weight else 0.0
    return ExerciseScore(result.id, result, fraction, points, _round(max_points), props)


def score_student(student: str, report: GradeReport | None, targets: list[str], policy: Policy, *, status: str = "graded", message: str = "", isolation: str = "none") -> StudentScore:
    """Score every target exercise; one missing from the report (grading failed) earns 0."""
    by_id: dict[str, list[ExerciseResult]] = {}
    for r in report.exercises if report else []:
        by_id.setdefault(r.id, []).append(r)
    order = list(targets) + [e for e in by_id if e not in targets]
    exercises = []
    for exercise_id in order:
        results = by_id.get(exercise_id)
        if not results:
            exercises.append(ExerciseScore(exercise_id, None, 0.0, 0.0, _round(policy.points_of(exercise_id))))
            continue
        exercises.append(min((score_exercise(r, policy) for r in results), key=lambda s: s.fraction))
    return StudentScore(student, status, message, isolation, exercises, report)
