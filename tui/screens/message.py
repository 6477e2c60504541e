"""A full-screen message for problems the student must fix outside the app (a corrupt or newer
progress store, a broken question bank): says what and how, changes nothing, q quits."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Static

from tui.i18n import t


class MessageScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q,escape,enter", "quit", "quit")]

    def __init__(self, title: str, message: str, lang: str) -> None:
        super().__init__(id="message")
        self.title_text = title
        self.message = message
        self.lang = lang

    def compose(self) -> ComposeResult:
        with Vertical(id="message-box"):
            yield Static(self.title_text, id="message-title", markup=False)
            yield Static(self.message, id="message-text", markup=False)
            yield Static(t("error.quit", self.lang), id="message-hint", markup=False)

    def action_quit(self) -> None:
        self.app.exit(return_code=1)
