"""The course map: sections → questions with their state at a glance, search, filters, resume."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.markup import escape
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from grader.core.bank import Bank, Question
from tui.i18n import t
from tui.messages import OpenDashboard, OpenQuestion, OpenReviews
from tui.progress import QuestionState
from tui.screens.base import GenlabScreen
from tui.study import Study
from tui.widgets.keybar import KeyBar

FILTERS = ("all", "due", "failing", "new")

# Glyphs for the states; colours are theme variables, so the palette stays in the theme.
QUIZ_MARKS = {"new": "[$text-muted]·[/]", "answered": "[$warning]◐[/]", "mastered": "[$success]●[/]"}
EXERCISE_MARKS = {
    "none": " ",
    "new": "[$text-muted]·[/]",
    "failing": "[$error]✗[/]",
    "changed": "[$warning]~[/]",
    "partial": "[$warning]◑[/]",
    "passing": "[$success]✓[/]",
}
DUE_MARK = "[$accent]⟳[/]"


def matches(q: Question, query: str) -> bool:
    """A search hit: the id ("q46" or "46") or a substring of the topic or prompt, either language."""
    query = query.strip().lower()
    if not query:
        return True
    if query == q.id or query == q.id[1:]:
        return True
    haystack = " ".join((q.id, q.topic.ru, q.topic.en, q.prompt.ru, q.prompt.en)).lower()
    return all(word in haystack for word in query.split())


def exact_id(bank: Bank, query: str) -> str | None:
    """The question a search names exactly ("q46", "46"), for jumping straight to it."""
    query = query.strip().lower()
    qid = query if query.startswith("q") else f"q{query}"
    return qid if qid in bank.ids() else None


def keep(state: QuestionState, mode: str) -> bool:
    if mode == "due":
        return state.due
    if mode == "failing":
        return state.exercises in ("failing", "changed")
    if mode == "new":
        return state.quiz == "new"
    return True


class QuestionList(OptionList):
    """Sections as headers (not selectable) and their questions as rows."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select", "open", show=False)]  # obvious; listed in help

    class Selected(Message):
        """The student opened a question."""

        def __init__(self, qid: str) -> None:
            self.qid = qid
            super().__init__()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id and not event.option.id.startswith("section:"):
            self.post_message(self.Selected(event.option.id))

    def populate(self, bank: Bank, states: dict[str, QuestionState], lang: str, query: str, mode: str) -> int:
        """Rebuild the rows for a search and a filter; returns how many questions are shown."""
        current = self.highlighted_id
        options: list[Option] = []
        shown = 0
        for section in bank.sections:
            questions = [q for q in bank.in_section(section.id) if matches(q, query) and keep(states[q.id], mode)]
            if not questions:
                continue
            mastered = sum(1 for q in bank.in_section(section.id) if states[q.id].quiz == "mastered")
            counts = t("map.section", lang, mastered=mastered, total=len(bank.in_section(section.id)))
            options.append(Option(f"[b]{escape(section.title.get(lang))}[/b]  [$text-muted]{counts}[/]", id=f"section:{section.id}", disabled=True))
            for q in questions:
                s = states[q.id]
                marks = f"{QUIZ_MARKS[s.quiz]} {EXERCISE_MARKS[s.exercises]} {DUE_MARK if s.due else ' '}"
                options.append(Option(f" {q.id:<4}{marks} {escape(q.topic.get(lang))}", id=q.id))
                shown += 1
        self.clear_options()
        self.add_options(options)
        self.select_id(current)
        return shown

    @property
    def highlighted_id(self) -> str | None:
        if self.highlighted is None:
            return None
        return self.get_option_at_index(self.highlighted).id

    def select_id(self, qid: str | None) -> None:
        """Put the cursor on ``qid`` if shown, else on the first question."""
        for index in range(self.option_count):
            option = self.get_option_at_index(index)
            if option.id == qid:
                self.highlighted = index
                return
        first = next((i for i in range(self.option_count) if not self.get_option_at_index(i).disabled), None)
        self.highlighted = first


class CourseMapScreen(GenlabScreen):
    """The home screen."""

    AUTO_REFRESH = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "search"),
        Binding("f", "filter", "filter"),
        Binding("escape", "clear", "clear", show=False),
        Binding("r", "reviews", "reviews"),
        Binding("d", "progress", "progress"),
    ]

    def __init__(self, study: Study, current: str | None = None, query: str = "", mode: str = "all") -> None:
        super().__init__(study, id="course-map")
        self.current = current
        self.query_text = query
        self.mode = mode

    def compose(self) -> ComposeResult:
        yield Static(id="map-title", classes="title")
        yield Input(self.query_text, id="search")
        yield QuestionList(id="questions")
        yield Static(id="map-empty")
        yield KeyBar(classes="keybar")

    def on_mount(self) -> None:
        questions = self.query_one(QuestionList)
        self.refresh_view()
        questions.select_id(self.current)
        questions.focus()

    def refresh_view(self) -> None:
        lang = self.lang
        progress = self.study.progress
        states = progress.question_states()
        mastered = sum(1 for s in states.values() if s.quiz == "mastered")
        due = sum(1 for s in states.values() if s.due)
        summary = t("map.summary", lang, mastered=mastered, total=len(states), due=due, streak=progress.streak())
        showing = "" if self.mode == "all" else "  ·  " + t("map.showing", lang, filter=t(f"filter.{self.mode}", lang))
        self.query_one("#map-title", Static).update(f"[b]{t('map.title', lang)}[/b]  {summary}{showing}")
        self.query_one("#search", Input).placeholder = t("map.search", lang)
        shown = self.query_one(QuestionList).populate(self.study.bank, states, lang, self.query_text, self.mode)
        empty = self.query_one("#map-empty", Static)
        empty.update(t("map.empty", lang))
        empty.display = shown == 0
        self.query_one(KeyBar).update_keys()

    # ------------------------------------------------------------------ search and filters

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        self.refresh_view()
        self.study.save_resume(query=self.query_text)

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        qid = exact_id(self.study.bank, event.value)
        if qid is not None:  # "/46 enter" jumps straight to q46
            self.query_text = ""
            event.input.value = ""
            self.open_question(qid)
        else:
            self.query_one(QuestionList).focus()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_clear(self) -> None:
        search = self.query_one("#search", Input)
        if search.value:
            search.value = ""  # Changed redraws the list
        self.query_one(QuestionList).focus()

    def action_filter(self) -> None:
        self.mode = FILTERS[(FILTERS.index(self.mode) + 1) % len(FILTERS)]
        self.refresh_view()

    # ------------------------------------------------------------------ navigation

    def on_question_list_selected(self, event: QuestionList.Selected) -> None:
        self.open_question(event.qid)

    @on(OptionList.OptionHighlighted, "#questions")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and not event.option.id.startswith("section:"):
            self.current = event.option.id
            self.study.save_resume(question=self.current)

    def open_question(self, qid: str, step: int = 0) -> None:
        self.current = qid
        self.query_one(QuestionList).select_id(qid)
        self.post_message(OpenQuestion(qid, step))

    def action_reviews(self) -> None:
        self.post_message(OpenReviews())

    def action_progress(self) -> None:
        self.post_message(OpenDashboard())

    def on_screen_resume(self) -> None:
        self.refresh_view()
