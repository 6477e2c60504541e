"""A single- or multiple-choice quiz item with immediate feedback.

Every option the student chose is explained (and, for a wrong answer, the right options
they missed), straight from the bank's per-option explanations.

Options are shown in the student's own order (grader.shuffle); letters, number keys and the
feedback follow that order, while answers are kept as the options' indices in the file.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from grader.bank import QuizItem
from grader.shuffle import LETTERS
from tui.i18n import t
from tui.widgets.feedback import Feedback


class ChoiceList(OptionList):
    """The options; keys become messages so the owning ChoiceItem keeps all the logic."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "check", show=False),
        Binding("space", "toggle", "tick", show=False),
        *(Binding(str(n), f"pick({n - 1})", show=False) for n in range(1, 10)),
    ]

    class Submit(Message):
        """Enter: answer with the highlighted option (single) or the ticked ones (multiple)."""

    class Toggle(Message):
        """Space or a digit on an option."""

        def __init__(self, index: int) -> None:
            self.index = index
            super().__init__()

    def action_submit(self) -> None:
        self.post_message(self.Submit())

    def action_toggle(self) -> None:
        if self.highlighted is not None:
            self.post_message(self.Toggle(self.highlighted))

    def action_pick(self, index: int) -> None:
        if index < self.option_count:
            self.highlighted = index
            self.post_message(self.Toggle(index))


class ChoiceItem(VerticalScroll, can_focus=False):
    """One choice item; posts ChoiceItem.Answered when the student commits to an answer."""

    class Answered(Message):
        def __init__(self, index: int, answer: list[int], correct: bool) -> None:
            self.index = index  # the item's index in its question
            self.answer = answer  # file indices of the chosen options
            self.correct = correct
            super().__init__()

    def __init__(self, item: QuizItem, index: int, lang: str, previous: list[int] | None = None, order: list[int] | None = None) -> None:
        super().__init__(classes="quiz-item")
        self.item = item
        self.index = index
        self.lang = lang
        # order[p] is the file index of the option shown at position p (letter LETTERS[p]).
        self.order = list(order) if order is not None else list(range(len(item.options)))
        self.ticked: set[int] = set()  # file indices
        self.answer: list[int] | None = previous  # file indices; a previous attempt is shown as answered

    def compose(self) -> ComposeResult:
        yield Static(classes="item-prompt", markup=False)
        yield ChoiceList(classes="choices")
        yield Static(classes="hint", markup=False)
        yield Feedback(classes="feedback")

    def on_mount(self) -> None:
        self.render_item()

    @property
    def multiple(self) -> bool:
        return self.item.kind == "multiple"

    def set_lang(self, lang: str) -> None:
        self.lang = lang
        self.render_item()

    def retry(self) -> None:
        self.answer = None
        self.ticked = set()
        self.render_item()
        self.query_one(ChoiceList).focus()

    def focus_input(self) -> None:
        self.query_one(ChoiceList).focus()

    # ------------------------------------------------------------------ keys

    def on_choice_list_toggle(self, event: ChoiceList.Toggle) -> None:
        event.stop()
        if self.answer is not None:
            return
        chosen = self.order[event.index]
        if not self.multiple:
            self._commit([chosen])
            return
        self.ticked ^= {chosen}
        self.render_item()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        # Only a mouse click gets here (the keys are ChoiceList's own): same as a digit.
        event.stop()
        self.on_choice_list_toggle(ChoiceList.Toggle(event.option_index))

    def on_choice_list_submit(self, event: ChoiceList.Submit) -> None:
        event.stop()
        options = self.query_one(ChoiceList)
        if self.answer is not None:
            return
        if not self.multiple and options.highlighted is not None:
            self._commit([self.order[options.highlighted]])
        elif self.multiple and self.ticked:
            self._commit(sorted(self.ticked))

    def _commit(self, answer: list[int]) -> None:
        self.answer = answer
        correct = self.is_correct(answer)
        self.render_item()
        self.post_message(self.Answered(self.index, answer, correct))

    def is_correct(self, answer: list[int]) -> bool:
        return self.item.check_choice(answer)

    # ------------------------------------------------------------------ drawing

    def render_item(self) -> None:
        lang = self.lang
        self.query_one(".item-prompt", Static).update(self.item.prompt.get(lang))
        options = self.query_one(ChoiceList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options([Option(self._option_label(p), id=f"o{p}") for p in range(len(self.order))])
        options.highlighted = highlighted if highlighted is not None else 0
        answered = self.answer is not None
        hint = "q.hint.answered" if answered else "q.hint.multiple" if self.multiple else "q.hint.single"
        self.query_one(".hint", Static).update(t(hint, lang))
        feedback = self.query_one(Feedback)
        if self.answer is None:
            feedback.clear()
        else:
            feedback.show(self._feedback_lines(self.answer))
            self.call_after_refresh(feedback.scroll_visible, animate=False)

    def _option_label(self, p: int) -> str:
        i = self.order[p]
        option = self.item.options[i]
        text = f"{LETTERS[p]}) {escape(option.text.get(self.lang))}"
        if self.answer is None:
            return f"{'☑' if i in self.ticked else '☐'} {text}" if self.multiple else text
        chosen = i in self.answer
        mark = ("✓" if option.correct else "✗") if chosen else ("○" if option.correct else " ")
        return f"{mark} {text}"

    def _feedback_lines(self, answer: list[int]) -> list[tuple[str, str]]:
        lang = self.lang
        correct = self.is_correct(answer)
        lines = [(t("q.right" if correct else "q.wrong", lang), "right verdict" if correct else "wrong verdict")]
        for p, i in enumerate(self.order):
            option = self.item.options[i]
            if i in answer:
                lines.append((f"{'✓' if option.correct else '✗'} {LETTERS[p]}) {option.explanation.get(lang)}", "right" if option.correct else "wrong"))
            elif option.correct and not correct:
                lines.append((f"○ {LETTERS[p]}) {option.explanation.get(lang)} {t('q.missed', lang)}", "missed"))
        return lines
