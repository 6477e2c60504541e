"""Grading a question's exercises: the same verdicts as `grade qN`, drawn from its JSON report.

The run itself belongs to the app (tui.app.GenlabApp.start_grading), so leaving this screen
does not stop it: the student can keep studying and come back to the result; `r` re-runs
after they edit the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.widgets import Static

from grader.bank import Question
from grader.catalog import topic_of
from tui.grading import Outcome
from tui.i18n import t
from tui.screens.base import GenlabScreen
from tui.widgets.keybar import KeyBar

MARKS = {"passed": "✓", "failed": "✗", "skipped": "○", "not_run": "·"}


class GradingScreen(GenlabScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "back"),
        Binding("r", "rerun", "re-run"),
    ]

    def __init__(self, question: Question) -> None:
        super().__init__(id="grading")
        self.question = question

    def compose(self) -> ComposeResult:
        yield Static(id="g-title", classes="title")
        yield Static(id="g-status")
        yield VerticalScroll(id="g-results")
        yield KeyBar(classes="keybar")

    def on_mount(self) -> None:
        if self.genlab.outcomes.get(self.question.id) is None and self.question.exercises:
            self.genlab.start_grading(self.question.id)
        self.refresh_view()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rerun":
            return bool(self.question.exercises) and not self.running
        return True

    @property
    def running(self) -> bool:
        return self.question.id in self.genlab.jobs

    def files(self) -> str:
        folder = self.genlab.submission
        topics = dict.fromkeys(topic_of(e) for e in self.question.exercises)
        return ", ".join(str(_short(folder / f"{topic}.py")) for topic in topics) or "—"

    def refresh_view(self) -> None:
        lang, qid = self.lang, self.question.id
        self.query_one("#g-title", Static).update(f"[b]{escape(t('grade.title', lang, question=qid, files=self.files()))}[/b]")
        status = self.query_one("#g-status", Static)
        outcome = self.genlab.outcomes.get(qid)
        status.remove_class("passed", "failed", "running")
        if not self.question.exercises:
            status.update(escape(t("grade.none", lang, question=qid)))
        elif self.running:
            status.update(escape(t("grade.running", lang, question=qid)))
            status.add_class("running")
        elif outcome is not None and outcome.report is not None:
            report = outcome.report
            status.update(
                escape(t("grade.score", lang, score=report.get("score", 0), max_score=report.get("max_score", 0))) + "   " + escape(t("grade.edit", lang))
            )
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
        for note in outcome.report.get("notes", []):
            lines.append((f"note: {note}", "note"))
        for exercise in outcome.exercises:
            lines.extend(exercise_lines(exercise, self.lang))
        box.mount_all([Static(text, classes=f"g-line {kind}", markup=False) for text, kind in lines])

    def action_rerun(self) -> None:
        self.genlab.start_grading(self.question.id)
        self.refresh_view()

    def action_back(self) -> None:
        self.dismiss()


def exercise_lines(r: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """One exercise as `grade` prints it: a header, a line per property, failures explained.

    Returns (text, CSS class) pairs; the classes colour them in app.tcss.
    """
    status = r.get("status", "error")
    verdict = t(f"status.{status}", lang)
    head = f"{r.get('id')} ({' '.join(r.get('questions', []))}) · {r.get('device')} · {verdict} · {r.get('score')}/{r.get('max_score')}"
    lines = [(head, "head passed" if r.get("passed") else "head failed")]
    if status in ("not_implemented", "error"):
        lines.append((f"  ✗ {r.get('message', '')}", "failed"))
    else:
        for p in r.get("properties", []):
            tier = t("grade.hidden", lang) if p.get("tier") == "hidden" else ""
            state = p.get("status", "not_run")
            lines.append((f"  {MARKS.get(state, '·')} {tier}{p.get('statement', p.get('name', ''))}", state))
            if state == "failed":
                lines.extend((f"      {line}", "detail") for line in str(p.get("message", "")).splitlines())
                if p.get("counterexample"):
                    lines.append((f"      {t('grade.minimal', lang)}", "detail"))
                    lines.extend((f"        {line}", "counterexample") for line in str(p["counterexample"]).splitlines())
                if p.get("trace"):
                    lines.append((f"      {t('grade.raised_at', lang)}", "detail"))
                    lines.extend((f"        {line}", "counterexample") for line in str(p["trace"]).splitlines())
                if p.get("diagnosis"):
                    lines.append((f"      {t('grade.diagnosis', lang)} {p['diagnosis']}", "diagnosis"))
            elif state == "skipped" and p.get("message"):
                lines.append((f"      {p['message']}", "detail"))
        if status in ("timed_out", "out_of_memory", "crashed"):
            lines.append((f"  {t('grade.stopped', lang)} {r.get('message', '')}", "failed"))
    output = str(r.get("output", "")).rstrip()
    if output:
        lines.append((f"  {t('grade.printed', lang)}", "detail"))
        lines.extend((f"  │ {line}", "detail") for line in output.splitlines()[:40])
    return lines


def _short(path: Path) -> Path:
    """A path relative to the working folder when it is inside it (shorter on an 80-column screen)."""
    try:
        return Path(path).resolve().relative_to(Path.cwd())
    except ValueError:
        return path
