"""A question: its prompt, its quiz items one after another, then free recall.

Steps 0…n-1 are the quiz items, step n is free recall. Every answer is written to the store
the moment it is given, and a free-recall draft shortly after each edit, so quitting at any
point loses nothing; where the student is (question and step) is saved for resuming.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.timer import Timer
from textual.widgets import Static

from grader.core.bank import Question
from grader.core.shuffle import option_order
from tui.i18n import t
from tui.messages import OpenGrading
from tui.screens.base import GenlabScreen
from tui.study import Study
from tui.widgets.answer import AnswerItem
from tui.widgets.choice import ChoiceItem
from tui.widgets.keybar import KeyBar
from tui.widgets.recall import RecallPanel

DRAFT_DELAY_S = 0.5  # a draft is saved this long after the last keystroke (and on leaving)


class QuestionScreen(GenlabScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "back"),
        Binding("right,n", "step(1)", "next"),
        Binding("left,p", "step(-1)", "previous", show=False),
        Binding("f", "recall", "recall"),
        Binding("t", "retry", "try again"),
        Binding("g", "grade", "grade"),
    ]

    def __init__(self, study: Study, question: Question, step: int = 0) -> None:
        super().__init__(study, id="question")
        self.question = question
        self.step = max(0, min(step, len(question.quiz)))
        self._draft_timer: Timer | None = None
        self._draft: str | None = None

    @property
    def recall_step(self) -> int:
        return len(self.question.quiz)

    def compose(self) -> ComposeResult:
        yield Static(id="q-title", classes="title")
        with VerticalScroll(id="q-prompt-box", can_focus=False):
            yield Static(id="q-prompt", markup=False)
        yield VerticalScroll(id="q-body", can_focus=False)
        yield KeyBar(classes="keybar")

    async def on_mount(self) -> None:
        await self.show_step(self.step)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "grade":
            return bool(self.question.exercises)
        if action == "retry":
            return self._answered()
        if action == "recall":
            return self.step != self.recall_step  # hidden where it would do nothing
        if action == "step":
            step = self.step + int(parameters[0])  # type: ignore[call-overload]
            return 0 <= step <= self.recall_step
        return True

    # ------------------------------------------------------------------ steps

    async def show_step(self, step: int) -> None:
        self.flush()
        self.step = step
        body = self.query_one("#q-body", VerticalScroll)
        await body.remove_children()
        await body.mount(self._step_widget())
        self.study.save_resume(screen="question", question=self.question.id, step=step)
        self._render_header()
        self.call_after_refresh(self._focus_step)
        self.refresh_bindings()

    def _focus_step(self) -> None:
        widget = self.current_widget
        if widget is not None:
            widget.focus_input()

    def _step_widget(self) -> ChoiceItem | AnswerItem | RecallPanel:
        lang, q = self.lang, self.question
        if self.step == self.recall_step:
            draft = self.study.store.get_state(f"draft:{q.id}", "") or ""
            return RecallPanel(q, lang, draft)
        item = q.quiz[self.step]
        previous = self.study.progress.latest_answers(q.id).get((q.id, self.step))
        answer = previous["answer"] if previous else None
        if item.kind in ("single", "multiple"):
            order = option_order(self.study.shuffle_seed, q.id, self.step, item)
            return ChoiceItem(item, self.step, lang, list(answer) if isinstance(answer, list) else None, order)
        if item.kind == "numeric" and isinstance(answer, (int, float)):
            answer = float(answer)
        return AnswerItem(item, self.step, lang, answer if isinstance(answer, (float, str)) else None)

    @property
    def current_widget(self) -> ChoiceItem | AnswerItem | RecallPanel | None:
        found = self.query("#q-body > *")
        return found.first() if found else None  # type: ignore[return-value]

    def _answered(self) -> bool:
        widget = self.current_widget
        if isinstance(widget, RecallPanel):
            return widget.phase == "rated"
        return widget is not None and widget.answer is not None

    def _render_header(self) -> None:
        lang, q = self.lang, self.question
        where = t("q.item", lang, i=self.step + 1, n=len(q.quiz)) if self.step < self.recall_step else t("q.recall_short", lang)
        exercises = t("q.exercises", lang, names=", ".join(q.exercises)) if q.exercises else t("q.theory", lang)
        self.query_one("#q-title", Static).update(
            f"[b]{q.id}[/b] · {escape(q.topic.get(lang))}  [$text-muted]{escape(where)}[/]\n[$text-muted]{escape(exercises)}[/]"
        )
        self.query_one("#q-prompt", Static).update(q.prompt.get(lang))

    def refresh_view(self) -> None:
        self._render_header()
        widget = self.current_widget
        if widget is not None:
            widget.set_lang(self.lang)
        self.query_one(KeyBar).update_keys()

    # ------------------------------------------------------------------ answers: stored at once

    def on_choice_item_answered(self, event: ChoiceItem.Answered) -> None:
        self.study.record_quiz(self.question.id, event.index, event.answer, event.correct)
        self.refresh_bindings()

    def on_answer_item_answered(self, event: AnswerItem.Answered) -> None:
        self.study.record_quiz(self.question.id, event.index, event.answer, event.correct)
        self.refresh_bindings()

    def on_recall_panel_draft_changed(self, event: RecallPanel.DraftChanged) -> None:
        self._draft = event.text
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(DRAFT_DELAY_S, self.flush)

    def on_recall_panel_rated(self, event: RecallPanel.Rated) -> None:
        card = self.study.record_recall(self.question.id, event.text, event.key_points, event.rating)
        if card is None:
            return  # not stored (the app said why): stay revealed so the rating can be given again
        self._draft = ""
        self.flush()
        panel = self.query_one(RecallPanel)
        panel.show_rated(event.rating, card.due, self.study.clock())
        self.refresh_bindings()

    def flush(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        if self._draft is not None:
            self.study.save_draft(self.question.id, self._draft)
            self._draft = None

    # ------------------------------------------------------------------ keys

    async def action_step(self, delta: int) -> None:
        step = self.step + delta
        if 0 <= step <= self.recall_step:
            await self.show_step(step)

    async def action_recall(self) -> None:
        if self.step != self.recall_step:
            await self.show_step(self.recall_step)

    def action_retry(self) -> None:
        widget = self.current_widget
        if widget is not None:
            widget.retry()
        self.refresh_bindings()

    def action_grade(self) -> None:
        self.flush()
        self.post_message(OpenGrading(self.question.id))

    def action_back(self) -> None:
        self.flush()
        self.study.save_resume(screen="map", question=self.question.id)
        self.dismiss()

    def on_unmount(self) -> None:
        self.flush()
