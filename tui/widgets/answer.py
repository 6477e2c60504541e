"""A numeric or formula quiz item: type the answer, enter checks it, the explanation follows."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static

from grader.bank import QuizItem, parse_number
from tui.i18n import t
from tui.widgets.feedback import Feedback


class AnswerItem(VerticalScroll, can_focus=False):
    """One numeric or formula item; posts AnswerItem.Answered with the value given."""

    # Esc first leaves the text field (so the question's letter keys work), then goes back.
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "leave_field", show=False)]

    class Answered(Message):
        def __init__(self, index: int, answer: float | str, correct: bool) -> None:
            self.index = index
            self.answer = answer
            self.correct = correct
            super().__init__()

    def __init__(self, item: QuizItem, index: int, lang: str, previous: float | str | None = None) -> None:
        super().__init__(classes="quiz-item")
        self.item = item
        self.index = index
        self.lang = lang
        self.answer = previous
        self.invalid = False

    def compose(self) -> ComposeResult:
        yield Static(classes="item-prompt", markup=False)
        yield Input(value="" if self.answer is None else _show(self.answer), classes="answer-input")
        yield Static(classes="hint", markup=False)
        yield Feedback(classes="feedback")

    def on_mount(self) -> None:
        self.render_item()

    def set_lang(self, lang: str) -> None:
        self.lang = lang
        self.render_item()

    def retry(self) -> None:
        self.answer = None
        field = self.query_one(Input)
        field.value = ""
        self.render_item()
        field.focus()

    def focus_input(self) -> None:
        if self.answer is None:
            self.query_one(Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "leave_field":
            return self.query_one(Input).has_focus
        return True

    def action_leave_field(self) -> None:
        self.screen.set_focus(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.answer is not None:
            return
        value: float | str | None
        if self.item.kind == "numeric":
            value = parse_number(event.value)
            correct = value is not None and self.item.check_numeric(value)
        else:
            value = event.value.strip()
            correct = bool(value) and self.item.check_formula(value)
        self.invalid = value is None or value == ""
        if not self.invalid:
            assert value is not None
            self.answer = value
            self.post_message(self.Answered(self.index, value, correct))
            self.screen.set_focus(None)  # so the question's keys (→, t) work at once
        self.render_item()

    def render_item(self) -> None:
        lang = self.lang
        self.query_one(".item-prompt", Static).update(self.item.shown_prompt(lang))
        form = self.item.answer_form()
        placeholder = t("q.placeholder_form", lang, form=form) if form else t("q.placeholder" if self.item.kind == "numeric" else "q.formula", lang)
        self.query_one(Input).placeholder = placeholder
        self.query_one(".hint", Static).update(t("q.hint.answered" if self.answer is not None else "q.hint.input", lang))
        feedback = self.query_one(Feedback)
        if self.answer is None:
            feedback.show([(t("q.not_number", lang), "note")] if self.invalid else [])
            return
        correct = self.item.check_numeric(float(self.answer)) if self.item.kind == "numeric" else self.item.check_formula(str(self.answer))
        lines = [(t("q.right" if correct else "q.wrong", lang), "right verdict" if correct else "wrong verdict")]
        if not correct:
            lines.append((t("q.answer", lang, answer=self._expected()), "missed"))
        if self.item.explanation is not None:
            lines.append((self.item.explanation.get(lang), "note"))
        feedback.show(lines)
        self.call_after_refresh(feedback.scroll_visible, animate=False)

    def _expected(self) -> str:
        if self.item.kind == "numeric":
            assert self.item.answer is not None
            return f"{self.item.answer:g}" + (f" ± {self.item.tolerance:g}" if self.item.tolerance else "")
        return self.item.accepted[0]


def _show(value: float | str) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
