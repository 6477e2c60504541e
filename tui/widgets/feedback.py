"""The feedback under a quiz item: a verdict and explanation lines, coloured by class in app.tcss."""

from __future__ import annotations

from textual.containers import Vertical
from textual.widgets import Static


class Feedback(Vertical):
    """Shows (text, kind) lines; kind is a CSS class: right, wrong, missed, note."""

    def show(self, lines: list[tuple[str, str]]) -> None:
        self.remove_children()
        self.mount_all([Static(text, classes=f"feedback-line {kind}", markup=False) for text, kind in lines])

    def clear(self) -> None:
        self.remove_children()
