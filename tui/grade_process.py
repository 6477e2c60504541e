"""Grading a question by running `grade` in a separate process and reading its JSON report.

The TUI never imports the grading engine (it would pull in torch and run student code in
the UI's process); it runs ``python -m grader qN --format json --no-record`` and reads the
report on its stdout into the typed results of grader.core.results. That report is the one
way the run reaches the TUI: the app records it in its store itself (Store.record_report, as
`grade` would), and polls the store only for runs of a `grade` typed in another terminal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import grader
from grader.core.results import ExerciseResult, GradeReport

# Where `python -m grader` is importable from, even when the course itself is elsewhere.
ENGINE_ROOT = Path(grader.__file__).resolve().parent.parent
TIMEOUT_S = 1800.0  # a whole question on CPU and GPU; `grade` bounds each exercise itself


@dataclass
class Outcome:
    """The result of one `grade qN` run, as the TUI shows it."""

    question: str
    command: list[str]
    exit_code: int
    report: GradeReport | None = None  # None when `grade` produced no report
    error: str = ""  # why there is no report (a usage error, a crash, a kill)

    @property
    def passed(self) -> bool:
        return self.report is not None and self.report.passed

    @property
    def exercises(self) -> list[ExerciseResult]:
        return self.report.exercises if self.report else []


def command(question: str, submission: Path, device: str) -> list[str]:
    return [sys.executable, "-m", "grader", question, "--format", "json", "--no-record", "--device", device, "--submission", str(submission)]


@dataclass
class Job:
    """A running grading process, so that quitting the app can stop it."""

    question: str
    process: subprocess.Popen[str] | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self.cancelled.set()
        if self.process is not None and self.process.poll() is None:
            self.process.kill()


def run(job: Job, submission: Path, device: str, env: dict[str, str] | None = None) -> Outcome:
    """Run `grade` for ``job.question`` and wait for it (call from a worker thread)."""
    argv = command(job.question, submission, device)
    full_env = {**os.environ, **(env or {})}
    try:
        job.process = subprocess.Popen(argv, cwd=ENGINE_ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
        if job.cancelled.is_set():
            job.process.kill()
        stdout, stderr = job.process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        job.cancel()
        return Outcome(job.question, argv, -1, error=f"grading took longer than {TIMEOUT_S:.0f} s and was stopped")
    except OSError as exc:
        return Outcome(job.question, argv, -1, error=f"cannot start the grader: {exc}")
    code = job.process.returncode
    try:
        report = GradeReport.from_json(json.loads(stdout)) if stdout.strip() else None
    except (ValueError, KeyError, TypeError, AttributeError):  # not a report: a crash, a usage error
        report = None
    if report is not None:
        return Outcome(job.question, argv, code, report)
    reason = "stopped" if job.cancelled.is_set() else (stderr.strip() or stdout.strip() or f"the grader exited with code {code}")
    return Outcome(job.question, argv, code, error=reason)
