"""Make Hypothesis's draws depend only on the property, not on what else the process imported.

Since 6.131 Hypothesis mixes into its draws the literal constants of every *local* module in
``sys.modules`` (not site-packages, not tests): the reference solutions the instructor's judge
loads, the grader's own modules when they are a checkout rather than an installed package, the
other topics' properties. A student copy imports other modules than the release-time run on the
solutions, so it would draw other inputs and find no recorded answer for them. The release
records, and the student copy grades, with that pool empty: then the draws depend only on each
property's source text, Hypothesis's version and its built-in constants.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def _providers() -> Any | None:
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a Hypothesis without the module has no local constants
        return None
    return providers if hasattr(providers, "_get_local_constants") else None


def ignore_local_constants() -> None:
    """From now on, this process's draws use no constants of local modules."""
    providers = _providers()
    if providers is None:
        return
    empty = providers.Constants(
        integers=providers.SortedSet(),
        floats=providers.SortedSet(key=providers.float_to_int),
        bytes=providers.SortedSet(),
        strings=providers.SortedSet(),
    )
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE.cache.clear()  # pools computed with the local constants


@contextmanager
def local_constants_ignored() -> Iterator[None]:
    """``ignore_local_constants`` for a block (the release build), then as before."""
    providers = _providers()
    saved = None if providers is None else providers._get_local_constants
    ignore_local_constants()
    try:
        yield
    finally:
        if providers is not None:
            providers._get_local_constants = saved
            providers.CONSTANTS_CACHE.cache.clear()
