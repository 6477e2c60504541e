"""The interface and course language: Russian or English."""

from __future__ import annotations

import os

LANGS = ("ru", "en")


def default_lang() -> str:
    """From $GENLAB_LANG, else the locale, else English (`grade show` and the TUI alike)."""
    for var in ("GENLAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "ru" if value.lower().startswith("ru") else "en"
    return "en"
