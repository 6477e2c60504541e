"""genlab's terminal UI: `genlab` opens the course map.

The app owns the shared state (the bank, the store, the review scheduler, grading jobs) and
the navigation between screens; the screens draw and handle their keys. Nothing here
imports torch: grading runs `grade` in a separate process (tui.grading).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from grader.core import paths
from grader.core.bank import Bank, BankError
from grader.core.bankcache import cached_bank, load_cached
from grader.core.lang import default_lang
from grader.core.store import Store, StoreError
from tui import grading
from tui.clock import Clock, local_now
from tui.grading import Job, Outcome
from tui.i18n import other, t
from tui.progress import Progress
from tui.scheduler import Reviews
from tui.screens.course_map import CourseMapScreen
from tui.screens.loading import LoadingScreen

# The other screens are imported when first opened: the question screen alone pulls in
# Textual's TextArea, and start-up to the course map has a one-second budget.

POLL_S = 2.0  # how often to look for grading runs recorded by a `grade` in another terminal
RESUME_KEY = "resume"  # ui_state: where the student was (screen, question, step, search)
LANG_KEY = "lang"  # ui_state: the chosen language


class GenlabApp(App[None]):
    """The whole TUI. Every argument has a default for `genlab`; tests inject their own."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses (the benchmark's) live elsewhere
    TITLE = "genlab"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark,f1", "help", "help"),
        Binding("l", "toggle_lang", "language"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(
        self,
        *,
        progress_path: Path | None = None,
        bank: Bank | None = None,
        bank_path: Path | None = None,
        submission: Path | None = None,
        device: str = "auto",
        lang: str | None = None,
        clock: Clock = local_now,
        fuzz: bool = True,
        grade_env: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.progress_path = progress_path or paths.progress_path()
        self.bank_path = bank_path or paths.bank_path()
        self.submission = Path(submission or paths.exercises_dir()).resolve()
        self.device = device
        self.clock = clock
        self.fuzz = fuzz
        self.grade_env = grade_env or {}
        self.lang = lang or default_lang()
        self._explicit_lang = lang
        self._given_bank = bank
        self.store: Store = None  # type: ignore[assignment]  # set in on_mount (or an error screen)
        self.bank: Bank = None  # type: ignore[assignment]
        self.reviews: Reviews = None  # type: ignore[assignment]
        self.progress: Progress = None  # type: ignore[assignment]
        self.jobs: dict[str, Job] = {}
        self.outcomes: dict[str, Outcome] = {}
        self._runs_seen: tuple[tuple[str, str, str], ...] = ()

    # ------------------------------------------------------------------ start-up

    def on_mount(self) -> None:
        try:
            self.store = Store.open(self.progress_path)
        except StoreError as exc:
            # Never a crash, never an overwrite: say what is wrong and let the student fix it.
            from tui.screens.message import MessageScreen

            self.push_screen(MessageScreen(t("error.store", self.lang), str(exc), self.lang))
            return
        self.lang = self._explicit_lang or self.store.get_state(LANG_KEY) or self.lang
        bank = self._given_bank or cached_bank(self.bank_path)
        if bank is not None:
            self.bank = bank
            self._start()
        else:  # first start after the bank changed: validate it off the UI thread
            self.push_screen(LoadingScreen(self.lang))
            self.run_worker(partial(load_cached, self.bank_path), thread=True, name="bank", exit_on_error=False)

    def _start(self) -> None:
        self.reviews = Reviews(self.store, fuzz=self.fuzz)
        # The order of choice options (grader.core.shuffle); '' (file order) if the store is read-only.
        self.shuffle_seed: str = self._write(self.store.shuffle_seed) or ""
        self.progress = Progress(self.bank, self.store, self.reviews, self.submission, self.clock)
        self._write(self.reviews.bring_forward, self.progress.failing_questions(), self.clock())
        resume = self.resume_state()
        qid = resume.get("question") if resume.get("question") in self.bank.ids() else None
        self.push_screen(CourseMapScreen(qid, str(resume.get("query", ""))))
        if qid and resume.get("screen") == "question":
            self.open_question(qid, int(resume.get("step") or 0))
        self._runs_seen = self._runs_signature()
        self.set_interval(POLL_S, self.poll_store)
        self.call_after_refresh(self.map_ready)

    def map_ready(self) -> None:
        """Called once the first screen is drawn (the start-up benchmark hooks in here)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name == "bank":
            self._bank_loaded(worker, event.state)
        elif worker.group == "grading" and event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self._graded(worker)

    def _bank_loaded(self, worker: Worker[Any], state: WorkerState) -> None:
        # event.state, not worker.state: a fast worker is already done when RUNNING arrives
        if state == WorkerState.SUCCESS:
            self.bank = worker.result
            self.pop_screen()
            self._start()
        elif state == WorkerState.ERROR:
            error = worker.error
            message = str(error) if isinstance(error, BankError) else f"{type(error).__name__}: {error}"
            from tui.screens.message import MessageScreen

            self.switch_screen(MessageScreen(t("error.bank", self.lang), message, self.lang))

    # ------------------------------------------------------------------ state shared by screens

    def resume_state(self) -> dict[str, Any]:
        try:
            value = json.loads(self.store.get_state(RESUME_KEY) or "{}")
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def save_resume(self, **fields: Any) -> None:
        state = self.resume_state()
        new = {**state, **fields}
        if new != state:
            self._write(self.store.set_state, RESUME_KEY, json.dumps(new))

    def save_draft(self, qid: str, text: str) -> None:
        self._write(self.store.set_state, f"draft:{qid}", text)

    def record_quiz(self, qid: str, item: int, answer: Any, correct: bool) -> None:
        self._write(self.store.record_quiz_attempt, qid, item, answer, correct, self.lang)
        if not correct:
            # A wrong answer shows the question needs study: due now, like a failing exercise
            # (tui.scheduler). Unstudied, unattempted questions never are: no wall of reviews.
            self._write(self.reviews.bring_forward, {qid: self.clock()}, self.clock())

    def record_recall(self, qid: str, text: str, key_points: list[int], rating: int) -> Any:
        """Store a free recall and its self-rating, reschedule the card; returns the card."""
        self._write(self.store.record_recall, qid, text, key_points, rating, self.lang)
        return self._write(self.reviews.rate, qid, rating, self.clock())

    def _write(self, write: Any, *args: Any) -> Any:
        """A store write that cannot crash the app: a locked or full disk is reported, loudly."""
        try:
            return write(*args)
        except (sqlite3.Error, OSError) as exc:
            self.notify(t("error.write", self.lang, error=exc), severity="error", timeout=30)
            return None

    def _runs_signature(self) -> tuple[tuple[str, str, str], ...]:
        return tuple(sorted((exercise, device, run.graded_at) for (exercise, device), run in self.store.latest_runs().items()))

    def poll_store(self) -> None:
        """`grade` may run in another terminal at the same time: pick up the runs it records.

        (A run the TUI started reaches it once, as its report: see _graded.)"""
        seen = self._runs_signature()
        if seen == self._runs_seen:
            return
        self._runs_seen = seen
        self._write(self.reviews.bring_forward, self.progress.failing_questions(), self.clock())
        for screen in self.screen_stack:
            if getattr(screen, "AUTO_REFRESH", False) and screen.is_mounted:
                screen.refresh_view()  # type: ignore[attr-defined]

    def refresh_views(self) -> None:
        for screen in self.screen_stack:
            redraw = getattr(screen, "refresh_view", None)
            if redraw is not None and screen.is_mounted:
                redraw()

    # ------------------------------------------------------------------ navigation

    def open_question(self, qid: str, step: int = 0) -> None:
        from tui.screens.question import QuestionScreen

        self.push_screen(QuestionScreen(self.bank.question(qid), step))

    def open_grading(self, qid: str) -> None:
        from tui.screens.grading import GradingScreen

        self.push_screen(GradingScreen(self.bank.question(qid)))

    def open_reviews(self) -> None:
        from tui.screens.reviews import ReviewScreen

        self.push_screen(ReviewScreen(id="reviews"))

    def open_dashboard(self) -> None:
        from tui.screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen(id="dashboard"))

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.lang))

    def action_toggle_lang(self) -> None:
        if self.store is None:
            return
        self.lang = other(self.lang)
        self._write(self.store.set_state, LANG_KEY, self.lang)
        self.refresh_views()

    async def action_quit(self) -> None:
        for screen in self.screen_stack:
            flush = getattr(screen, "flush", None)
            if flush is not None:
                flush()
        self.exit()

    def on_unmount(self) -> None:
        for job in self.jobs.values():
            job.cancel()  # a grading process must not outlive the app
        if self.store is not None:
            self.store.close()

    # ------------------------------------------------------------------ grading

    def start_grading(self, qid: str) -> None:
        """Run `grade qid` in a worker thread; the result arrives in _graded."""
        if qid in self.jobs:
            return
        job = Job(qid)
        self.jobs[qid] = job
        self.run_worker(partial(grading.run, job, self.submission, self.device, self.grade_env), thread=True, group="grading", name=qid, exit_on_error=False)

    def _graded(self, worker: Worker[Outcome]) -> None:
        qid = worker.name
        self.jobs.pop(qid, None)
        if worker.result is not None:
            outcome = worker.result
        else:
            outcome = Outcome(qid, [], -1, error=str(worker.error or "stopped"))
        self.outcomes[qid] = outcome
        if outcome.report is not None:
            report = outcome.report
            self._write(self.store.record_report, report)  # `grade` ran with --no-record: its report is the one copy
            self._runs_seen = self._runs_signature()  # so the store poll does not deliver this run a second time
            self.notify(
                t("grade.done", self.lang, question=qid, score=report.score, max_score=report.max_score),
                severity="information" if outcome.passed else "warning",
            )
        else:
            self.notify(t("grade.done_error", self.lang, question=qid), severity="error")
        # A failing exercise brings its questions back for review (tui.scheduler).
        self._write(self.reviews.bring_forward, self.progress.failing_questions(), self.clock())
        self.refresh_views()


def main(argv: list[str] | None = None) -> None:
    """Console entry point of `genlab`."""
    parser = argparse.ArgumentParser(prog="genlab", description="Study the generative-models course: quizzes, reviews, grading, progress.")
    parser.add_argument("--submission", type=Path, help="folder with your topic modules [default: the course's exercises/]")
    parser.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto", help="where `grade` runs your code [default: auto]")
    parser.add_argument("--lang", choices=("ru", "en"), help="interface and course language [default: the last one chosen, else the locale]")
    args = parser.parse_args(argv)
    if args.submission is not None and not args.submission.is_dir():
        parser.error(f"--submission {args.submission}: no such folder")
    GenlabApp(submission=args.submission, device=args.device, lang=args.lang).run()


if __name__ == "__main__":
    main()
