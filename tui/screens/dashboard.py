"""The progress dashboard: per section and overall, quiz mastery and exercises passed as bars,
reviews due, and the streak of days with answers."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from tui.i18n import t
from tui.progress import SectionStats
from tui.screens.base import GenlabScreen
from tui.widgets.keybar import KeyBar

BAR_WIDTH = 12


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """`████░░░░ 12/40`: whole cells only, so that 0 and complete are never confused."""
    filled = 0 if total == 0 else round(width * done / total)
    if done and not filled:
        filled = 1  # any progress shows
    if done < total and filled == width:
        filled = width - 1  # and unfinished never looks finished
    return "█" * filled + "░" * (width - filled) + f" {done}/{total}"


class DashboardScreen(GenlabScreen):
    AUTO_REFRESH = True  # redrawn when `grade` records a run elsewhere (GenlabApp.poll_store)

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "back", "back")]

    def compose(self) -> ComposeResult:
        yield Static(id="dash-title", classes="title")
        yield Vertical(id="dash-table")
        yield Static(id="dash-streak")
        yield KeyBar(classes="keybar")

    def on_mount(self) -> None:
        self.refresh_view()

    def on_screen_resume(self) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        lang, study = self.lang, self.study
        self.query_one("#dash-title", Static).update(f"[b]{t('dash.title', lang)}[/b]")
        titles = {s.id: s.title.get(lang) for s in study.bank.sections}
        header = self._row(t("dash.section", lang), t("dash.quiz", lang), t("dash.exercises", lang), t("dash.due", lang), "dash-header")
        rows = [header]
        for stats in study.progress.section_stats():
            name = titles.get(stats.title_id) or t("dash.overall", lang)
            rows.append(self._stats_row(name, stats))
        table = self.query_one("#dash-table", Vertical)
        table.remove_children()
        table.mount_all(rows)
        self.query_one("#dash-streak", Static).update(t("dash.streak", lang, n=study.progress.streak()))
        self.query_one(KeyBar).update_keys()

    def _stats_row(self, name: str, s: SectionStats) -> Horizontal:
        kind = "dash-overall" if not s.title_id else "dash-row"
        return self._row(name, bar(s.items_right, s.items), bar(s.exercises_passing, s.exercises), str(s.due), kind)

    @staticmethod
    def _row(name: str, quiz: str, exercises: str, due: str, kind: str) -> Horizontal:
        return Horizontal(
            Label(name, classes="dash-name", markup=False),
            Label(quiz, classes="dash-bar dash-quiz", markup=False),
            Label(exercises, classes="dash-bar dash-ex", markup=False),
            Label(due, classes="dash-due", markup=False),
            classes=kind,
        )

    def action_back(self) -> None:
        self.dismiss()
