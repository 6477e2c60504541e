"""Free recall: type an answer, reveal the reference beside it, tick key points, rate yourself.

Three phases, switched by CSS classes on the panel (layout in app.tcss): typing → revealed
(the two answers side by side, key points to tick, keys 1–4 rate) → rated (shows when the
question comes back).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.widgets import OptionList, Static, TextArea
from textual.widgets.option_list import Option

from grader.core.bank import Question
from tui.clock import describe_due
from tui.i18n import t


class KeyPointList(OptionList):
    """Key points to tick (space or enter). Unlike a choice list it leaves digits alone:
    1–4 are the self-ratings."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("space,enter", "toggle", "tick", show=False)]

    class Toggled(Message):
        def __init__(self, index: int) -> None:
            self.index = index
            super().__init__()

    def action_toggle(self) -> None:
        if self.highlighted is not None:
            self.post_message(self.Toggled(self.highlighted))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()  # a mouse click ticks too
        self.post_message(self.Toggled(event.option_index))


class RecallPanel(Vertical):
    """Posts DraftChanged while typing and Rated when the student rates themselves."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "reveal", "reveal"),
        # Esc first leaves the text area (the draft is kept), then goes back.
        Binding("escape", "leave_field", show=False),
        Binding("1", "rate(1)", "again"),
        Binding("2", "rate(2)", "hard"),
        Binding("3", "rate(3)", "good"),
        Binding("4", "rate(4)", "easy"),
    ]

    class DraftChanged(Message):
        def __init__(self, text: str) -> None:
            self.text = text
            super().__init__()

    class Rated(Message):
        def __init__(self, text: str, key_points: list[int], rating: int) -> None:
            self.text = text
            self.key_points = key_points
            self.rating = rating
            super().__init__()

    def __init__(self, question: Question, lang: str, draft: str = "") -> None:
        super().__init__(id="recall")
        self.question = question
        self.lang = lang
        self.draft = draft
        self.phase = "typing"
        self.rated: tuple[int, datetime, datetime] | None = None
        self.ticked: set[int] = set()

    def compose(self) -> ComposeResult:
        yield Static(classes="item-prompt", markup=False)
        yield TextArea(self.draft, id="recall-text", soft_wrap=True, show_line_numbers=False)
        with Horizontal(id="recall-compare"):
            # Key points sit under the student's own answer: they are ticked against it.
            with VerticalScroll(id="recall-yours", can_focus=False):
                yield Static(classes="recall-heading", markup=False)
                yield Static(id="recall-yours-text", markup=False)
                yield Static(classes="recall-heading", id="recall-points-heading", markup=False)
                yield KeyPointList(id="recall-points")
            with VerticalScroll(id="recall-reference", can_focus=False):
                yield Static(classes="recall-heading", markup=False)
                yield Static(id="recall-answer", markup=False)
        yield Static(classes="hint", id="recall-hint", markup=False)

    def on_mount(self) -> None:
        self.render_panel()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Only the keys of the current phase are live (and shown in the key bar).
        if action == "reveal":
            return self.phase == "typing"
        if action == "rate":
            return self.phase == "revealed"
        if action == "leave_field":
            return self.query_one(TextArea).has_focus
        return True

    def action_leave_field(self) -> None:
        self.screen.set_focus(None)

    def focus_input(self) -> None:
        if self.phase == "typing":
            self.query_one(TextArea).focus()
        else:
            self.query_one(KeyPointList).focus()

    # ------------------------------------------------------------------ phases

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self.post_message(self.DraftChanged(event.text_area.text))

    def on_key_point_list_toggled(self, event: KeyPointList.Toggled) -> None:
        event.stop()
        if self.phase == "revealed":
            self.ticked ^= {event.index}
            self._render_points()
            self._render_hint()

    def action_reveal(self) -> None:
        self.draft = self.query_one(TextArea).text
        self._set_phase("revealed")
        points = self.query_one(KeyPointList)
        points.focus()
        self.call_after_refresh(points.scroll_visible, animate=False)

    def action_rate(self, rating: int) -> None:
        self.post_message(self.Rated(self.draft, sorted(self.ticked), rating))

    def show_rated(self, rating: int, due: datetime, now: datetime) -> None:
        """Called by the screen once the rating is stored, with when the question comes back."""
        self.rated = (rating, due, now)
        self._set_phase("rated")

    def retry(self) -> None:
        self.draft = ""
        self.query_one(TextArea).text = ""
        self.ticked = set()
        self._set_phase("typing")
        self.query_one(TextArea).focus()

    def _set_phase(self, phase: str) -> None:
        self.phase = phase
        self.set_class(phase != "typing", "-revealed")
        self.render_panel()
        self.refresh_bindings()

    # ------------------------------------------------------------------ drawing

    def set_lang(self, lang: str) -> None:
        self.lang = lang
        self.render_panel()

    def render_panel(self) -> None:
        lang, q = self.lang, self.question
        self.query_one(".item-prompt", Static).update(t("q.recall", lang))
        self.query_one(TextArea).placeholder = t("recall.placeholder", lang)
        yours, points, reference = self.query(".recall-heading").results(Static)
        yours.update(t("recall.yours", lang))
        reference.update(t("recall.reference", lang))
        points.update(t("recall.key_points", lang))
        self.query_one("#recall-yours-text", Static).update(self.draft.strip() or t("recall.empty", lang))
        self.query_one("#recall-answer", Static).update(q.answer.get(lang))
        self._render_points()
        self._render_hint()

    def _render_points(self) -> None:
        points = self.query_one(KeyPointList)
        highlighted = points.highlighted
        points.clear_options()
        points.add_options([Option(f"{'☑' if i in self.ticked else '☐'} {escape(p)}") for i, p in enumerate(self.question.key_points.get(self.lang))])
        if points.option_count:
            points.highlighted = highlighted if highlighted is not None else 0

    def _render_hint(self) -> None:
        lang = self.lang
        if self.phase == "typing":
            text = t("recall.placeholder", lang)
        elif self.phase == "revealed":
            text = t("recall.rate", lang, ticked=len(self.ticked), total=len(self.question.key_points.get(lang)))
        elif self.rated is not None:
            rating, due, now = self.rated
            text = t("recall.rated", lang, rating=t(f"rating.{rating}", lang), when=describe_due(due, now, lang))
        else:
            text = ""
        self.query_one("#recall-hint", Static).update(text)
