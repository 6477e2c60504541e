"""Correct implementations written independently of the reference (tests/right/<topic>.py):
each must get full marks, so that no property is stricter than the catalog."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import tests.right
from tests.harness import grade_impl


def _must_pass() -> list[tuple[str, object]]:
    found = []
    for info in pkgutil.iter_modules(tests.right.__path__):
        found += importlib.import_module(f"tests.right.{info.name}").MUST_PASS
    return found


MUST_PASS = _must_pass()


@pytest.mark.parametrize(("exercise_id", "impl"), MUST_PASS, ids=[f"{e}:{i.__name__}" for e, i in MUST_PASS])
def test_correct_implementation_gets_full_marks(exercise_id: str, impl: object) -> None:
    result = grade_impl(exercise_id, impl)
    failures = [(p.name, p.message, p.counterexample) for p in result.properties if p.status != "passed"]
    assert result.status == "passed" and not failures, failures


def test_every_topic_has_must_pass_implementations() -> None:
    assert len({e.split(".")[0] for e, _ in MUST_PASS}) >= 5
