"""The bounds of one grading run, defined once and passed down from the CLI to the worker."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Time and memory bounds of a grading run.

    call_timeout: seconds one call of the student's code may take.
    exercise_timeout: seconds one exercise may take in all.
    memory_mb: memory the worker may use (host memory; on CUDA also GPU memory).
    threads: torch/OpenMP threads of the worker (parallel batch slots share the cores).
    """

    call_timeout: float = 10.0
    exercise_timeout: float = 120.0
    memory_mb: int = 4096
    threads: int = 1
