"""The app's notion of "now", injected so that tests and snapshots see a fixed day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def local_now() -> datetime:
    """The real time, aware, in the local zone (so "today" is the student's today)."""
    return datetime.now().astimezone()


def fixed(when: datetime) -> Clock:
    """A clock that always says ``when`` (aware); for tests and snapshots."""
    return lambda: when


def as_utc(when: datetime) -> datetime:
    """fsrs insists on UTC datetimes."""
    return when.astimezone(UTC)


def end_of_day(now: datetime) -> datetime:
    """The first instant of tomorrow in ``now``'s zone: "due today" means due before it."""
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1)


def describe_due(due: datetime, now: datetime, lang: str) -> str:
    """When a review comes back, as a student reads it: "in 10 min", "in 3 d (2030-01-18)"."""
    from tui.i18n import t

    seconds = (due - now).total_seconds()
    if seconds <= 30:
        return t("when.now", lang)
    if seconds < 3600:
        return t("when.minutes", lang, n=max(1, round(seconds / 60)))
    if seconds < 86400:
        return t("when.hours", lang, n=round(seconds / 3600))
    local = due.astimezone(now.tzinfo)
    return t("when.days", lang, n=round(seconds / 86400), date=local.date().isoformat())
