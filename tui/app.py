"""genlab's terminal UI: `genlab` opens the course map.

The app opens the store and the bank, builds the study state (tui.study.Study) and hands it
to every screen it opens (state down); screens ask for navigation with messages (tui.messages;
messages up) and never import the app. The app also owns the worker threads: the bank's
first validation and the `grade` processes. Nothing here imports torch: grading runs `grade`
in a separate process (tui.grade_process).
"""

from __future__ import annotations

import argparse
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
from tui import grade_process
from tui.clock import Clock, local_now
from tui.grade_process import Job, Outcome
from tui.i18n import other, t
from tui.messages import OpenDashboard, OpenGrading, OpenQuestion, OpenReviews
from tui.screens.base import GenlabScreen
from tui.screens.course_map import CourseMapScreen
from tui.screens.loading import LoadingScreen
from tui.study import LANG_KEY, Study

# The other screens are imported when first opened: the question screen alone pulls in
# Textual's TextArea, and start-up to the course map has a one-second budget.

POLL_S = 2.0  # how often to look for grading runs recorded by a `grade` in another terminal


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
        self._lang = lang or default_lang()  # until the study state exists (error screens)
        self._explicit_lang = lang
        self._given_bank = bank
        self.store: Store | None = None  # opened in on_mount (or an error screen says why not)
        self.study: Study = None  # type: ignore[assignment]  # built once the bank is loaded
        self._runs_seen: tuple[tuple[str, str, str], ...] = ()

    @property
    def lang(self) -> str:
        return self.study.lang if self.study is not None else self._lang

    # ------------------------------------------------------------------ start-up

    def on_mount(self) -> None:
        try:
            self.store = Store.open(self.progress_path)
        except StoreError as exc:
            # Never a crash, never an overwrite: say what is wrong and let the student fix it.
            from tui.screens.message import MessageScreen

            self.push_screen(MessageScreen(t("error.store", self.lang), str(exc), self.lang))
            return
        self._lang = self._explicit_lang or self.store.get_state(LANG_KEY) or self._lang
        bank = self._given_bank or cached_bank(self.bank_path)
        if bank is not None:
            self._start(bank)
        else:  # first start after the bank changed: validate it off the UI thread
            self.push_screen(LoadingScreen(self.lang))
            self.run_worker(partial(load_cached, self.bank_path), thread=True, name="bank", exit_on_error=False)

    def _start(self, bank: Bank) -> None:
        assert self.store is not None
        self.study = Study.open(
            bank, self.store, submission=self.submission, clock=self.clock, lang=self._lang, fuzz=self.fuzz,
            report_write_error=self._write_failed, start_grading=self.start_grading,
        )
        self.study.bring_failing_forward()
        resume = self.study.resume_state()
        qid = resume.get("question") if resume.get("question") in bank.ids() else None
        self.push_screen(CourseMapScreen(self.study, qid, str(resume.get("query", ""))))
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
            self.pop_screen()
            self._start(worker.result)
        elif state == WorkerState.ERROR:
            error = worker.error
            message = str(error) if isinstance(error, BankError) else f"{type(error).__name__}: {error}"
            from tui.screens.message import MessageScreen

            self.switch_screen(MessageScreen(t("error.bank", self.lang), message, self.lang))

    def _write_failed(self, exc: Exception) -> None:
        self.notify(t("error.write", self.lang, error=exc), severity="error", timeout=30)

    # ------------------------------------------------------------------ runs recorded elsewhere

    def _runs_signature(self) -> tuple[tuple[str, str, str], ...]:
        return tuple(sorted((exercise, device, run.graded_at) for (exercise, device), run in self.study.store.latest_runs().items()))

    def poll_store(self) -> None:
        """`grade` may run in another terminal at the same time: pick up the runs it records.

        (A run the TUI started reaches it once, as its report: see _graded.)"""
        seen = self._runs_signature()
        if seen == self._runs_seen:
            return
        self._runs_seen = seen
        self.study.bring_failing_forward()
        for screen in self.screen_stack:
            if isinstance(screen, GenlabScreen) and screen.AUTO_REFRESH and screen.is_mounted:
                screen.refresh_view()

    def refresh_views(self) -> None:
        from tui.screens.help import HelpScreen

        for screen in self.screen_stack:
            if isinstance(screen, GenlabScreen) and screen.is_mounted:
                screen.refresh_view()
            elif isinstance(screen, HelpScreen) and screen.is_mounted:
                screen.set_lang(self.lang)

    # ------------------------------------------------------------------ navigation

    def on_open_question(self, message: OpenQuestion) -> None:
        self.open_question(message.qid, message.step)

    def on_open_grading(self, message: OpenGrading) -> None:
        self.open_grading(message.qid)

    def on_open_reviews(self, _message: OpenReviews) -> None:
        self.open_reviews()

    def on_open_dashboard(self, _message: OpenDashboard) -> None:
        self.open_dashboard()

    def open_question(self, qid: str, step: int = 0) -> None:
        from tui.screens.question import QuestionScreen

        self.push_screen(QuestionScreen(self.study, self.study.bank.question(qid), step))

    def open_grading(self, qid: str) -> None:
        from tui.screens.grading import GradingScreen

        self.push_screen(GradingScreen(self.study, self.study.bank.question(qid)))

    def open_reviews(self) -> None:
        from tui.screens.reviews import ReviewScreen

        self.push_screen(ReviewScreen(self.study, id="reviews"))

    def open_dashboard(self) -> None:
        from tui.screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen(self.study, id="dashboard"))

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.lang))

    def action_toggle_lang(self) -> None:
        if self.study is None:
            return
        self.study.set_lang(other(self.lang))
        self.refresh_views()

    async def action_quit(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, GenlabScreen):
                screen.flush()
        self.exit()

    def on_unmount(self) -> None:
        if self.study is not None:
            for job in self.study.jobs.values():
                job.cancel()  # a grading process must not outlive the app
        if self.store is not None:
            self.store.close()

    # ------------------------------------------------------------------ grading

    def start_grading(self, qid: str) -> None:
        """Run `grade qid` in a worker thread; the result arrives in _graded."""
        if qid in self.study.jobs:
            return
        job = Job(qid)
        self.study.jobs[qid] = job
        self.run_worker(partial(grade_process.run, job, self.submission, self.device, self.grade_env), thread=True, group="grading", name=qid, exit_on_error=False)

    def _graded(self, worker: Worker[Outcome]) -> None:
        qid = worker.name
        study = self.study
        study.jobs.pop(qid, None)
        if worker.result is not None:
            outcome = worker.result
        else:
            outcome = Outcome(qid, [], -1, error=str(worker.error or "stopped"))
        study.outcomes[qid] = outcome
        if outcome.report is not None:
            report = outcome.report
            study.write(study.store.record_report, report)  # `grade` ran with --no-record: its report is the one copy
            self._runs_seen = self._runs_signature()  # so the store poll does not deliver this run a second time
            self.notify(
                t("grade.done", self.lang, question=qid, score=report.score, max_score=report.max_score),
                severity="information" if outcome.passed else "warning",
            )
        else:
            self.notify(t("grade.done_error", self.lang, question=qid), severity="error")
        study.bring_failing_forward()
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
