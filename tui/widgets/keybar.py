"""The key bar at the bottom of every screen: the keys that work here, in the UI language.

Textual's Footer shows binding descriptions as written in the code; genlab's interface
switches language at run time, so this bar translates each description through i18n.
"""

from __future__ import annotations

from textual.app import App
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Static

from tui.i18n import key_label
from tui.screens.base import GenlabScreen


class KeyBar(Static):
    """One line: `key description` for every shown binding, the screen's before the app's."""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.update_keys()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: Screen[object]) -> None:
        self.update_keys()

    def update_keys(self) -> None:
        lang = self.screen.lang if isinstance(self.screen, GenlabScreen) else "en"
        local, global_ = [], []
        seen: set[str] = set()
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.show or not binding.description or binding.description in seen:
                continue
            seen.add(binding.description)
            entry = f"[b]{escape(self.app.get_key_display(binding))}[/b] {escape(key_label(binding.description, lang))}"
            (global_ if isinstance(active.node, App) else local).append(entry)
        self.update("  ".join(local + global_))
