"""`grade watch [TARGET]`: grade the current exercise on every save, in the spirit of rustlings.

A plain terminal loop: the verdicts scroll like `grade`'s output and keys are read one at a
time (``n`` next, ``h`` hint, ``l`` list, ``r`` re-run, ``q`` quit). The loop sleeps in one
``select`` on the keyboard and the file watcher's wake-up pipe, so it costs nothing while the
student edits; on idle ticks it replaces a dead spare worker (grader.warm). Each verdict is
recorded in the progress store, exactly as `grade` records it.

The current exercise is the first one in course order (the catalog's, EXERCISES.md) whose
latest grading did not pass, or the first such one of TARGET. Once it passes, ``n`` moves to
the next unfinished exercise; nothing jumps on its own.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import termios
import time
import tty
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from grader import render
from grader.core import paths
from grader.core.catalog import EXERCISES, topic_of
from grader.core.results import ExerciseResult, GradeReport
from grader.core.states import code_hash, exercise_states
from grader.warm import WarmGrader
from grader.watch_changes import FileChanges
from grader.watch_hints import LEVELS, hint, question_of

TICK_S = 0.5  # idle tick: replace a dead spare worker

TEXT = {
    "keys": {
        "en": "[dim]watching {file} — save to re-grade · h hint · l list · r re-run · q quit[/]",
        "ru": "[dim]слежу за {file} — сохраните файл для проверки · h подсказка · l список · r заново · q выход[/]",
    },
    "keys_manual": {
        "en": "[dim]{file}: save, then press r to grade · h hint · l list · q quit[/]",
        "ru": "[dim]{file}: сохраните и нажмите r для проверки · h подсказка · l список · q выход[/]",
    },
    "passed": {
        "en": "[bold green]✓ {e} passes![/] Press [bold]n[/] for the next exercise ({next}), or keep improving it.",
        "ru": "[bold green]✓ {e} проходит![/] Нажмите [bold]n[/] для следующего упражнения ({next}) или продолжайте улучшать.",
    },
    "all_done": {"en": "[bold green]Every exercise passes.[/] Review the theory with `genlab`.", "ru": "[bold green]Все упражнения проходят.[/] Повторите теорию: `genlab`."},
    "not_yet": {"en": "{e} does not pass yet: n moves on once it passes (h for a hint).", "ru": "{e} ещё не проходит: n сработает, когда пройдёт (h — подсказка)."},
    "grading": {"en": "[dim]grading {e} …[/]", "ru": "[dim]проверяю {e} …[/]"},
    "watch_failed": {
        "en": "[yellow]The file watcher stopped ({why}); press r after saving, or restart with --manual-run.[/]",
        "ru": "[yellow]Слежение за файлом остановилось ({why}); нажимайте r после сохранения или перезапустите с --manual-run.[/]",
    },
    "bye": {"en": "Bye. Progress is saved; `grade` shows it.", "ru": "До встречи. Прогресс сохранён; `grade` его покажет."},
}

# `l`: an exercise's state (grader.core.states), in the session's language like every other line.
STATE_MARKS = {
    "passing": {"en": "[green]✓ passing[/]", "ru": "[green]✓ проходит[/]"},
    "failing": {"en": "[red]✗ failing[/]", "ru": "[red]✗ не проходит[/]"},
    "new": {"en": "[dim]· not started[/]", "ru": "[dim]· не начато[/]"},
    "changed": {"en": "[yellow]✓ passed, edited since[/]", "ru": "[yellow]✓ проходило, с тех пор изменено[/]"},
}


@dataclass
class WatchOptions:
    submission: Path
    solutions: Path | None
    isolation: str
    lang: str = "en"
    manual: bool = False
    trace: bool = False  # GENLAB_WATCH_TRACE: print worker readiness (benchmarks, tests)


class Watch:
    """The state of one `grade watch` session and its loop."""

    def __init__(self, grader: WarmGrader, options: WatchOptions, targets: list[str], asked: str | None, console: Console) -> None:
        self.grader = grader
        self.options = options
        self.console = console
        self.asked = asked  # the question the student named, for hints
        self.latest = _latest_runs()
        first = self._first_unfinished(targets)
        self.finished = first is None and targets == list(EXERCISES)  # `grade watch` with the whole course passing
        self.current = first or targets[0]
        self.result: ExerciseResult | None = None
        self.hint_level = 0
        self.graded_hash: str | None = None
        self._announced: int | None = None  # the spare whose readiness the trace reported
        self.changes: FileChanges | None = None  # its filter follows the current file
        self.seen_at: float | None = None  # when the loop woke up for the save being graded (trace)

    # ------------------------------------------------------------------ state

    def say(self, key: str, **fields: str) -> None:
        self.console.print(TEXT[key][self.options.lang].format(**fields))

    @property
    def file(self) -> Path:
        return self.options.submission / f"{topic_of(self.current)}.py"

    def _done(self, exercise: str) -> bool:
        run = self.latest.get((exercise, "cpu"))
        return run is not None and run.passed

    def _first_unfinished(self, candidates: list[str]) -> str | None:
        return next((e for e in candidates if not self._done(e)), None)

    def _next_unfinished(self) -> str | None:
        order = list(EXERCISES)
        start = order.index(self.current) + 1
        return self._first_unfinished(order[start:] + order[:start])

    # ------------------------------------------------------------------ actions

    def grade(self) -> None:

        if self.changes is not None:
            self.changes.target = self.file
        self.say("grading", e=self.current)
        self.graded_hash = code_hash(self.options.submission, self.current)
        retried, shared, start = self.grader.retried, self.grader.shared, time.monotonic()
        self.result = self.grader.grade(self.current)
        if self.options.trace:  # before the verdict: a benchmark stops its clock at the verdict
            self._trace_grading(start, retried, shared)
        render.exercise_result(self.console, self.result)
        if self.result.passed:
            following = self._next_unfinished()
            self.say("passed", e=self.current, next=following or "—")
        self._record(self.result)
        self.grader.recycle()
        self.prompt()

    def _trace_grading(self, start: float, retried: int, shared: int) -> None:
        """GENLAB_WATCH_TRACE: when the change was seen and how long grading took (monotonic
        clock, shared by processes on Linux: bench/watch_latency.py splits its latency with it)."""
        seen = f"{self.seen_at:.4f}" if self.seen_at is not None else "-"
        self.console.print(f"[dim]trace: change seen at {seen}, graded in {time.monotonic() - start:.3f} s[/]")
        if self.grader.second is not None and self.grader.shared != shared:
            self.console.print("[dim]trace: shared with the second judge[/]")
        if self.grader.retried != retried:
            self.console.print("[dim]trace: the worker died while grading; graded again on a fresh one[/]")
        self.seen_at = None

    def _record(self, result: ExerciseResult) -> None:
        from grader.core.store import GradingRun, Store, StoreError

        try:
            with Store.open(paths.progress_path()) as store:
                store.record_report(GradeReport([result], isolation=self.options.isolation))
                self.latest = store.latest_runs()
        except StoreError as exc:
            self.console.print(f"[yellow]Warning:[/] progress not recorded: {escape(str(exc))}")
            self.latest[(result.id, result.device)] = GradingRun(result.id, result.code_hash, result.device, result.status, result.passed, result.score, result.max_score, result.duration_s, "", [], result.message)

    def prompt(self) -> None:
        shown = _shown_path(self.file)
        self.say("keys_manual" if self.options.manual else "keys", file=shown)

    def next_exercise(self) -> bool:
        """`n`: move on once the current exercise passes; False when the course is done."""
        if self.result is None or not self.result.passed:
            self.say("not_yet", e=self.current)
            return True
        following = self._next_unfinished()
        if following is None:
            self.say("all_done")
            return False
        self.current, self.result, self.hint_level, self.asked = following, None, 0, None
        self.grade()
        return True

    def show_hint(self) -> None:
        self.hint_level = min(self.hint_level + 1, LEVELS + 1)
        question = question_of(self.current, self.asked)
        title, lines = hint(self.hint_level, self.current, self.result, self.options.lang, question)
        self.console.print(f"[bold yellow]{escape(title)}[/]")
        for line in lines:
            self.console.print(f"  {escape(line)}")
        self.console.print()

    def list_exercises(self) -> None:
        states = exercise_states(self.latest, self.options.submission)
        for exercise in EXERCISES:
            state = states.get(exercise, "new")
            arrow = "[bold]→[/]" if exercise == self.current else " "
            self.console.print(f" {arrow} {exercise:<45} {STATE_MARKS[state][self.options.lang]}")
        self.console.print()
        self.prompt()

    def on_change(self, seen_at: float | None = None) -> None:
        """A save: re-grade unless the content is what was last graded (one save, one grading)."""

        if code_hash(self.options.submission, self.current) != self.graded_hash:
            self.seen_at = seen_at
            self.grade()

    def on_tick(self) -> None:
        self.grader.workers.replenish()
        spare = self.grader.workers.spare_pid
        if self.options.trace and spare != self._announced and self.grader.ready():
            self._announced = spare
            second = self.grader.second
            judges = "second judge ready" if second is not None and not second.dead else "one judge"
            self.console.print(f"[dim]trace: worker ready (pid {self.grader.workers.spare_pid}, replaced {self.grader.workers.replaced}), {judges}[/]")

    # ------------------------------------------------------------------ loop

    def run(self, keys: Keys, changes: FileChanges | None) -> int:
        if self.finished:
            self.say("all_done")
            return 0
        self.grade()
        while True:
            fds = [keys.fd] + ([changes.wake_r] if changes is not None else [])
            ready, _, _ = select.select(fds, [], [], TICK_S)
            if changes is not None and changes.wake_r in ready:
                if changes.take():
                    self.on_change(time.monotonic())
                if changes.error:
                    self.say("watch_failed", why=escape(changes.error))
                    changes = None
            if keys.fd in ready:
                key = keys.read()
                if key is None or key in ("q", "\x03", "\x04"):
                    self.say("bye")
                    return 0
                if not self.on_key(key):
                    return 0
            self.on_tick()

    def on_key(self, key: str) -> bool:
        if key == "r":
            self.grade()
        elif key == "n":
            return self.next_exercise()
        elif key == "h":
            self.show_hint()
        elif key == "l":
            self.list_exercises()
        return True


class Keys:
    """One key at a time from stdin (a terminal in cbreak mode, or a pipe); None at the end."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def read(self) -> str | None:
        data = os.read(self.fd, 1)
        return data.decode("utf-8", errors="replace").lower() if data else None


@contextlib.contextmanager
def cbreak(fd: int) -> Iterator[None]:
    """Keys arrive without Enter and are not echoed; the terminal is restored on exit."""
    if not os.isatty(fd):
        yield
        return
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _latest_runs() -> dict:
    from grader.core.store import Store, StoreError

    try:
        if paths.progress_path().exists():
            with Store.open(paths.progress_path()) as store:
                return store.latest_runs()
    except StoreError:
        pass
    return {}


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def run_watch(grader: WarmGrader, options: WatchOptions, targets: list[str], asked: str | None, console: Console) -> int:
    watch = Watch(grader, options, targets, asked, console)
    if not options.manual:
        watch.changes = FileChanges(options.submission, watch.file)
        watch.changes.start()
    fd = sys.stdin.fileno()
    try:
        with cbreak(fd):
            return watch.run(Keys(fd), watch.changes)
    except KeyboardInterrupt:
        watch.say("bye")
        return 0
    finally:
        if watch.changes is not None:
            watch.changes.stop()
        grader.close()
