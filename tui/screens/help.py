"""The help screen: every key, grouped by where it works, in the interface language."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.i18n import key_label, t

# (group, [(keys, binding description)]); descriptions are translated like the key bar's.
KEYS = [
    ("help.map", [("↑ ↓", "choose"), ("enter", "open"), ("/", "search"), ("esc", "clear"), ("f", "filter"), ("r", "reviews"), ("d", "progress")]),
    (
        "help.question",
        [
            ("→ n", "next"),
            ("← p", "previous"),
            ("↑ ↓ enter 1–9", "choose"),
            ("space", "tick"),
            ("t", "try again"),
            ("f", "recall"),
            ("g", "grade"),
            ("esc", "back"),
        ],
    ),
    ("help.recall", [("ctrl+r", "reveal"), ("space", "tick"), ("1", "again"), ("2", "hard"), ("3", "good"), ("4", "easy")]),
    ("help.grading", [("r", "re-run"), ("esc", "back")]),
    ("help.anywhere", [("?", "help"), ("l", "language"), ("q ctrl+q", "quit")]),
]


def help_text(lang: str) -> str:
    lines = []
    for group, keys in KEYS:
        lines.append(f"[b]{t(group, lang)}[/b]")
        cells = [f"  [b]{keys_:<13}[/b] {key_label(desc, lang)}" for keys_, desc in keys]
        # two columns: the whole list fits an 80×24 terminal
        for i in range(0, len(cells), 2):
            left = cells[i]
            right = cells[i + 1] if i + 1 < len(cells) else ""
            lines.append(f"{left:<45}{right}")
    lines.append(f"[b]{t('help.legend', lang)}[/b]")
    lines.extend(f"  {line}" for line in t("help.legend_text", lang).splitlines())
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,question_mark,q", "close", "close")]

    def __init__(self, lang: str) -> None:
        super().__init__(id="help")
        self.lang = lang

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(f"[b]{t('help.title', self.lang)}[/b]", id="help-title")
            yield Static(help_text(self.lang), id="help-text")

    def set_lang(self, lang: str) -> None:
        self.lang = lang
        self.query_one("#help-title", Static).update(f"[b]{t('help.title', self.lang)}[/b]")
        self.query_one("#help-text", Static).update(help_text(self.lang))

    def action_close(self) -> None:
        self.dismiss()
