"""What every genlab screen shares: access to the app's state, and two hooks the app calls."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from tui.app import GenlabApp


class GenlabScreen(Screen[None]):
    """A screen that can redraw itself (language switch, new grading results) and save drafts."""

    @property
    def genlab(self) -> GenlabApp:
        return cast("GenlabApp", self.app)

    @property
    def lang(self) -> str:
        return self.genlab.lang

    def refresh_view(self) -> None:
        """Redraw from the store in the current language."""

    def flush(self) -> None:
        """Write anything typed but not yet stored (the app calls this before quitting)."""
