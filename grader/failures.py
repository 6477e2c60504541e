"""Exceptions that carry a verdict from a property check to the runner."""

from __future__ import annotations


class PropertyFailure(Exception):
    """A property does not hold: the message says how, for the minimal failing input."""

    def __init__(self, message: str, *, details: str = "", diagnosis: str | None = None, trace: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details  # the minimal failing input, one line per argument
        self.diagnosis = diagnosis
        self.trace = trace  # where the student's code raised: its own frames, innermost last


class StudentRaised(PropertyFailure):
    """The student's code raised an exception on a valid input."""


class ContractViolation(PropertyFailure):
    """A result broke the course-wide contract (device, in-place change, not differentiable)."""


class Abort(BaseException):
    """Stops an exercise at once, without shrinking (BaseException: Hypothesis re-raises it)."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status  # "not_implemented" | "timed_out" | "out_of_memory" | "crashed" | "error"
        self.message = message
