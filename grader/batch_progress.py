"""What `grade batch` shows while it runs: a rich progress bar, or one plain line per student."""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def _summary(record: dict[str, Any]) -> str:
    report = record.get("report")
    if record["status"] != "graded" or report is None:
        return f"error: {record['message']}"
    return f"{report['score']}/{report['max_score']}"


class PlainProgress:
    """One line per finished student (not a terminal, or --quiet)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.total = self.finished = self.failures = 0
        self._lock = threading.Lock()
        self._started = time.monotonic()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def start(self, students: list[str], already: int) -> None:
        self.total = len(students)
        if already:
            self.console.print(f"resuming: {already} of {self.total} students already graded with unchanged files")

    def done(self, record: dict[str, Any], resumed: bool) -> None:
        with self._lock:
            self.finished += 1
            self.failures += record["status"] == "error"
            if not resumed:
                self.console.print(f"{record['student']}: {_summary(record)}  [{self.finished}/{self.total}]", markup=False, soft_wrap=True)  # one line each, for grep


class BarProgress(PlainProgress):
    """done/total, elapsed, ETA, failures so far; the finished students scroll above the bar."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self._bar = Progress(
            TextColumn("grading"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[failures]} failed"),
            console=console,
            transient=True,
        )
        self._task: Any = None

    def __enter__(self) -> BarProgress:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)

    def start(self, students: list[str], already: int) -> None:
        super().start(students, already)
        self._task = self._bar.add_task("grading", total=len(students), failures=0)

    def done(self, record: dict[str, Any], resumed: bool) -> None:
        super().done(record, resumed)
        self._bar.update(self._task, completed=self.finished, failures=self.failures)


def make_progress(console: Console, *, plain: bool) -> PlainProgress:
    return PlainProgress(console) if plain else BarProgress(console)
