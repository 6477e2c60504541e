"""``@judge_only``: a helper that is (or, with a switch, contains) a correct implementation.

Known-mistake diagnoses and a few properties compute the right answer the grader's own way
(``_loss_right``, a mistake family written as the formula with a switch). A student copy
(`grade release`) must not ship them: ``grader.release.strip`` replaces the body of every
helper marked here by ``raise JudgeOnly(name)``. In the student copy a diagnosis that needs
one is simply not offered (``Context.diagnose`` skips variants that raise), and a property
that reaches one is reported as run only by the instructor (``grader.runner``).

In the instructor's copy the decorator changes nothing but counting calls, so that the
release's recording can list the properties that reach a marked helper.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from grader.release.answers import NotRecorded

T = TypeVar("T")

calls = 0  # calls of marked helpers so far (grader.release.record compares before and after a property)


class JudgeOnly(NotRecorded):
    """A helper stripped from the student copy (it was a correct implementation) was called."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is a correct implementation the student copy does not ship")
        self.name = name


def _count() -> None:
    global calls
    calls += 1


def judge_only(obj: T) -> T:
    """Mark a function or class as a correct implementation, stripped from the student copy."""
    if isinstance(obj, type):
        init = obj.__init__

        @functools.wraps(init)
        def counted_init(self: Any, *args: Any, **kwargs: Any) -> None:
            _count()
            init(self, *args, **kwargs)

        obj.__init__ = counted_init  # type: ignore[misc]
        return obj

    @functools.wraps(obj)  # type: ignore[arg-type]
    def counted(*args: Any, **kwargs: Any) -> Any:
        _count()
        return obj(*args, **kwargs)  # type: ignore[operator]

    return counted  # type: ignore[return-value]
