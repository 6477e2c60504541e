"""A scored class: the batch output folder (or one run) with the policy applied, ready for any format."""

from __future__ import annotations

from dataclasses import dataclass

from grader.core.results import GradeReport
from grader.exports.outdir import GradedClass
from grader.exports.policy import Policy
from grader.exports.scoring import StudentScore, score_student

NOT_SANDBOXED = "submissions were graded without a sandbox (isolation: none): a hostile submission could have read files the grading user can read"


@dataclass
class ScoredClass:
    targets: list[str]
    isolation: str
    policy: Policy
    students: list[StudentScore]

    @property
    def sandboxed(self) -> bool:
        return self.isolation != "none" and all(s.isolation != "none" for s in self.students)


def score_class(graded: GradedClass, policy: Policy) -> ScoredClass:
    students = [score_student(r.student, r.report, graded.targets, policy, status=r.status, message=r.message, isolation=r.isolation) for r in graded.students]
    return ScoredClass(graded.targets, graded.isolation, policy, students)


def score_single_run(report: GradeReport, targets: list[str], policy: Policy, *, student: str = "submission") -> ScoredClass:
    """One `grade` run as a class of one, with the isolation the run got."""
    return ScoredClass(targets, report.isolation, policy, [score_student(student, report, targets, policy, isolation=report.isolation)])
