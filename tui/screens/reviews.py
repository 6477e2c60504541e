"""The "due today" queue: questions whose review card is due before the end of the day.

Opening one goes straight to its free recall; rating it reschedules it, and the queue
shrinks when the student comes back.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.markup import escape
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.clock import as_utc
from tui.i18n import t
from tui.messages import OpenQuestion
from tui.screens.base import GenlabScreen
from tui.widgets.keybar import KeyBar


class ReviewScreen(GenlabScreen):
    AUTO_REFRESH = True  # redrawn when `grade` records a run elsewhere (GenlabApp.poll_store)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "back"),
        Binding("enter", "open", "open", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Static(id="rev-title", classes="title")
        yield OptionList(id="due-list")
        yield Static(id="rev-empty")
        yield KeyBar(classes="keybar")

    def on_mount(self) -> None:
        self.refresh_view()
        self.query_one(OptionList).focus()

    def on_screen_resume(self) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        lang, study = self.lang, self.study
        now = study.clock()
        cards = study.reviews.cards()
        due = study.reviews.due(now)
        self.query_one("#rev-title", Static).update(f"[b]{escape(t('rev.title', lang, n=len(due)))}[/b]")
        listing = self.query_one(OptionList)
        highlighted = listing.highlighted
        listing.clear_options()
        for qid in due:
            q = study.bank.question(qid)
            when = cards[qid].due
            label = t("rev.overdue", lang) if when <= as_utc(now) else t("rev.later", lang, time=when.astimezone(now.tzinfo).strftime("%H:%M"))
            listing.add_option(Option(f"{qid:<4} [$accent]{escape(label):<8}[/] {escape(q.topic.get(lang))}", id=qid))
        if due:
            listing.highlighted = min(highlighted or 0, len(due) - 1)
        empty = self.query_one("#rev-empty", Static)
        empty.update(t("rev.empty", lang))
        empty.display = not due
        listing.display = bool(due)
        self.query_one(KeyBar).update_keys()

    @on(OptionList.OptionSelected, "#due-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.post_message(OpenQuestion(event.option.id, len(self.study.bank.question(event.option.id).quiz)))  # to the recall

    def action_open(self) -> None:
        listing = self.query_one(OptionList)
        if listing.highlighted is not None:
            listing.action_select()

    def action_back(self) -> None:
        self.dismiss()
