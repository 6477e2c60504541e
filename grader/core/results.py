"""Grading results: plain dataclasses the CLI renders and the progress store records.

They are also the contract between `grade --format json` and its readers (the TUI, batch
folders): ``to_json`` writes a result, ``from_json`` reads it back into the same dataclass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PropertyStatus = Literal["passed", "failed", "skipped", "not_run"]
ExerciseStatus = Literal["passed", "failed", "not_implemented", "timed_out", "out_of_memory", "crashed", "error"]


@dataclass
class PropertyResult:
    """The verdict on one property."""

    name: str
    statement: str
    tier: str
    status: PropertyStatus
    message: str = ""
    counterexample: str = ""
    diagnosis: str | None = None
    trace: str = ""  # when the student's code raised: its frames (file:line in function: code)

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@dataclass
class ExerciseResult:
    """The verdict on one exercise on one device."""

    id: str
    questions: tuple[str, ...]
    device: str
    status: ExerciseStatus
    properties: list[PropertyResult] = field(default_factory=list)
    message: str = ""  # one line for the whole exercise (not implemented, timed out, import error)
    output: str = ""  # what the submission printed, capped
    duration_s: float = 0.0
    code_hash: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def score(self) -> int:
        return sum(p.passed for p in self.properties)

    @property
    def max_score(self) -> int:
        return sum(p.status != "skipped" for p in self.properties)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "questions": list(self.questions),
            "device": self.device,
            "passed": self.passed,
            "status": self.status,
            "message": self.message,
            "score": self.score,
            "max_score": self.max_score,
            "duration_s": round(self.duration_s, 3),
            "code_hash": self.code_hash,
            "output": self.output,
            "properties": [
                {**asdict(p), "passed": p.passed} for p in self.properties
            ],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ExerciseResult:
        """The result ``to_json`` wrote (its derived fields, passed and the scores, are recomputed)."""
        props = [PropertyResult(**{k: v for k, v in p.items() if k != "passed"}) for p in d.get("properties", [])]
        return cls(
            d["id"], tuple(d.get("questions", ())), d["device"], d["status"], props,
            message=d.get("message", ""), output=d.get("output", ""), duration_s=float(d.get("duration_s", 0.0)), code_hash=d.get("code_hash", ""),
        )


@dataclass
class GradeReport:
    """Everything one `grade` run graded."""

    exercises: list[ExerciseResult]
    notes: list[str] = field(default_factory=list)  # e.g. "hidden properties skipped: no solutions/"
    isolation: str = "none"  # "bwrap": the worker ran in the OS sandbox (grader.sandbox); "none": not
    # The kernel limits its workers got (grader.cgroup_limits.CgroupStatus.to_json); None: not recorded.
    cgroup: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return all(e.passed for e in self.exercises)

    @property
    def score(self) -> int:
        return sum(e.score for e in self.exercises)

    @property
    def max_score(self) -> int:
        return sum(e.max_score for e in self.exercises)

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "max_score": self.max_score,
            "passed": self.passed,
            "notes": self.notes,
            "isolation": self.isolation,
            "cgroup": self.cgroup,
            "exercises": [e.to_json() for e in self.exercises],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> GradeReport:
        """The report ``to_json`` wrote; raises KeyError or TypeError on anything else."""
        return cls([ExerciseResult.from_json(e) for e in d["exercises"]], list(d.get("notes", [])), d.get("isolation", "none"), d.get("cgroup"))
