"""What the class got wrong: the numbers behind `grade report` (terminal and HTML), from the scored class."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from grader.exports.classdata import ScoredClass


@dataclass
class Rate:
    label: str
    passed: int
    total: int

    @property
    def percent(self) -> float:
        return round(100.0 * self.passed / self.total, 1) if self.total else 0.0


@dataclass
class Mistake:
    exercise: str
    diagnosis: str
    students: int


@dataclass
class ClassStats:
    students: int
    percents: list[float]  # one per student, as in the JSON export
    exercise_rates: list[Rate]  # students whose exercise passed / students
    property_rates: list[Rate]  # students who passed the property / students on whom it ran
    mistakes: list[Mistake]  # ranked by the number of students who made them
    not_started: list[Rate]  # students who did not start the exercise / students, most first


def class_stats(scored: ScoredClass) -> ClassStats:
    n = len(scored.students)
    exercise_rates, property_rates, not_started, mistakes = [], [], [], []
    for target in scored.targets:
        scores = [next((e for e in s.exercises if e.id == target), None) for s in scored.students]
        exercise_rates.append(Rate(target, sum(e is not None and e.status == "passed" for e in scores), n))
        not_started.append(Rate(target, sum(e is None or not e.started for e in scores), n))
        ran: dict[str, list[bool]] = {}
        diagnoses: Counter[str] = Counter()
        for e in scores:
            seen = set()
            for p in e.properties if e else []:
                if p.result.status in ("passed", "failed"):
                    ran.setdefault(p.result.name, []).append(p.result.passed)
                if p.result.diagnosis:
                    seen.add(p.result.diagnosis)
            diagnoses.update(seen)  # a student counts once per mistake, however many properties show it
        property_rates += [Rate(f"{target}: {name}", sum(v), len(v)) for name, v in ran.items()]
        mistakes += [Mistake(target, d, c) for d, c in diagnoses.items()]
    mistakes.sort(key=lambda m: (-m.students, m.exercise, m.diagnosis))
    not_started = sorted((r for r in not_started if r.passed), key=lambda r: -r.passed)
    return ClassStats(n, [s.percent for s in scored.students], exercise_rates, property_rates, mistakes, not_started)
