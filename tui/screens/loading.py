"""Shown while the question bank loads (only the first run after it changes is slow)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from tui.i18n import t


class LoadingScreen(Screen[None]):
    def __init__(self, lang: str) -> None:
        super().__init__(id="loading")
        self.lang = lang

    def compose(self) -> ComposeResult:
        yield Static(t("loading", self.lang), id="loading-text")
