"""The release's rewrite of ``@judge_only`` helpers (grader.release.strip) on a small module."""

from __future__ import annotations

import ast

import pytest

from grader.properties.judge_only import JudgeOnly, judge_only
from grader.release.strip import IMPORT, strip_folder, strip_source, surviving

MODULE = '''"""A property module."""

from __future__ import annotations

from grader.properties.judge_only import judge_only


@judge_only
def _right(x, *, flag=False):
    # the right answer, with a switch
    y = x * 2
    return y + (1 if flag else 0)


def _mistake(x):
    return _right(x, flag=True)


@judge_only
class _Layer(list):
    """A right layer."""

    size = 3

    def forward(self, x):
        return x + self.size


class _Wrong(_Layer):
    size = 4


def untouched(x):  # a property body: its text must not change
    return x - 1
'''


def _load(source: str) -> dict:
    namespace: dict = {}
    exec(compile(source, "<stripped>", "exec"), namespace)
    return namespace


def test_marked_bodies_are_replaced_and_the_rest_is_kept_character_for_character() -> None:
    out, names = strip_source(MODULE)
    assert names == ["_right", "_Layer"]
    assert "y = x * 2" not in out and "size = 3" not in out and "return x + self.size" not in out
    assert "the right answer" not in out and "A right layer" not in out
    for kept in ('def _mistake(x):\n    return _right(x, flag=True)\n', "class _Wrong(_Layer):\n    size = 4\n", "def untouched(x):  # a property body: its text must not change\n    return x - 1\n"):
        assert kept in out
    assert IMPORT in out
    ast.parse(out)  # still compiles
    namespace = _load(out)
    with pytest.raises(JudgeOnly, match="_right"):
        namespace["_mistake"](1)
    with pytest.raises(JudgeOnly, match="_Layer"):
        namespace["_Wrong"]()  # a subclass of a stripped class cannot be built either
    assert namespace["untouched"](3) == 2


def test_the_instructors_copy_runs_marked_helpers_unchanged() -> None:
    namespace = _load(MODULE)
    assert namespace["_mistake"](1) == 3
    assert namespace["_Wrong"]().forward(1) == 5
    assert judge_only(len)([1, 2]) == 2


def test_a_module_without_marks_is_left_alone_and_surviving_bodies_are_found(tmp_path) -> None:
    assert strip_source("def f(x):\n    return x\n") == ("def f(x):\n    return x\n", [])
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text(MODULE)
    (tmp_path / "plain.py").write_text("x = 1\n")
    assert [s.split(" ")[1] for s in surviving(tmp_path)] == ["_right", "_Layer"]
    assert strip_folder(tmp_path) == {"pkg/m.py": ["_right", "_Layer"]}
    assert surviving(tmp_path) == []
    assert (tmp_path / "plain.py").read_text() == "x = 1\n"


def test_judge_only_is_not_recorded_so_a_diagnosis_that_needs_it_is_skipped() -> None:
    """Context.diagnose skips a variant that raises an Exception; JudgeOnly is one (a NotRecorded)."""
    from grader.release.answers import NotRecorded

    assert issubclass(JudgeOnly, NotRecorded) and issubclass(JudgeOnly, Exception)
