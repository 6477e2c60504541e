"""Grading a question's exercises: the same verdicts as `grade qN`, drawn from its report.

The run itself belongs to the study state (Study.start_grading, run by the app), so leaving this screen
does not stop it: the student can keep studying and come back to the result; `r` re-runs
after they edit the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.widgets import Static

from grader.core.bank import Question
from grader.core.catalog import topic_of
from grader.core.result_lines import Words, body_lines
from grader.core.results import ExerciseResult
from tui.grade_process import Outcome
from tui.i18n import t
from tui.screens.base import GenlabScreen
from tui.study import Study
from tui.widgets.keybar import KeyBar


class GradingScreen(GenlabScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "back"),
        Binding("r", "rerun", "re-run"),
    ]

    def __init__(self, study: Study, question: Question) -> None:
        super().__init__(study, id="grading")
        self.question = question

    def compose(self) -> ComposeResult:
        yield Static(id="g-title", classes="title")
        yield Static(id="g-status")
        yield VerticalScroll(id="g-results")
        yield KeyBar(classes="keybar")

    def on_mount(self) -> None:
        if self.study.outcomes.get(self.question.id) is None and self.question.exercises:
            self.study.start_grading(self.question.id)
        self.refresh_view()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rerun":
            return bool(self.question.exercises) and not self.running
        return True

    @property
    def running(self) -> bool:
        return self.question.id in self.study.jobs

    def files(self) -> str:
        folder = self.study.submission
        topics = dict.fromkeys(topic_of(e) for e in self.question.exercises)
        return ", ".join(str(_short(folder / f"{topic}.py")) for topic in topics) or "—"

    def refresh_view(self) -> None:
        lang, qid = self.lang, self.question.id
        self.query_one("#g-title", Static).update(f"[b]{escape(t('grade.title', lang, question=qid, files=self.files()))}[/b]")
        status = self.query_one("#g-status", Static)
        outcome = self.study.outcomes.get(qid)
        status.remove_class("passed", "failed", "running")
        if not self.question.exercises:
            status.update(escape(t("grade.none", lang, question=qid)))
        elif self.running:
            status.update(escape(t("grade.running", lang, question=qid)))
            status.add_class("running")
        elif outcome is not None and outcome.report is not None:
            report = outcome.report
            status.update(escape(t("grade.score", lang, score=report.score, max_score=report.max_score)) + "   " + escape(t("grade.edit", lang)))
            status.add_class("passed" if outcome.passed else "failed")
        elif outcome is not None:
            status.update(escape(t("grade.no_report", lang)))
            status.add_class("failed")
        self._draw_results(None if self.running else outcome)
        self.refresh_bindings()
        self.query_one(KeyBar).update_keys()

    def _draw_results(self, outcome: Outcome | None) -> None:
        box = self.query_one("#g-results", VerticalScroll)
        box.remove_children()
        if outcome is None:
            return
        if outcome.report is None:
            box.mount(Static(outcome.error, classes="g-line failed", markup=False))
            return
        lines: list[tuple[str, str]] = []
        for note in outcome.report.notes:
            lines.append((f"note: {note}", "note"))
        for exercise in outcome.exercises:
            lines.extend(exercise_lines(exercise, self.lang))
        box.mount_all([Static(text, classes=f"g-line {kind}", markup=False) for text, kind in lines])

    def action_rerun(self) -> None:
        self.study.start_grading(self.question.id)
        self.refresh_view()

    def action_back(self) -> None:
        self.dismiss()


def exercise_lines(r: ExerciseResult, lang: str) -> list[tuple[str, str]]:
    """One exercise as `grade` prints it (grader.core.result_lines), with a translated header.

    Returns (text, CSS class) pairs; the classes colour them in app.tcss.
    """
    verdict = t(f"status.{r.status}", lang)
    head = f"{r.id} ({' '.join(r.questions)}) · {r.device} · {verdict} · {r.score}/{r.max_score}"
    words = Words(**{key: t(f"grade.{key}", lang) for key in ("hidden", "minimal", "diagnosis", "stopped", "printed", "raised_at")})
    return [(head, "head passed" if r.passed else "head failed"), *((line.text, line.kind) for line in body_lines(r, words))]


def _short(path: Path) -> Path:
    """A path relative to the working folder when it is inside it (shorter on an 80-column screen)."""
    try:
        return Path(path).resolve().relative_to(Path.cwd())
    except ValueError:
        return path
