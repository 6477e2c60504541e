"""What every study screen shares: the study state it is given, and two hooks the app calls."""

from __future__ import annotations

from typing import ClassVar

from textual.screen import Screen

from tui.study import Study


class GenlabScreen(Screen[None]):
    """A screen over the study state that can redraw itself (language switch, new grading
    results) and save drafts. It reads and writes ``self.study`` and asks the app for anything
    else with a message (tui.messages); it never imports the app."""

    AUTO_REFRESH: ClassVar[bool] = False  # redrawn when `grade` records a run in another terminal

    def __init__(self, study: Study, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.study = study

    @property
    def lang(self) -> str:
        return self.study.lang

    def refresh_view(self) -> None:
        """Redraw from the store in the current language."""

    def flush(self) -> None:
        """Write anything typed but not yet stored (the app calls this before quitting)."""
