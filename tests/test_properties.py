"""The properties themselves are tested: the reference passes, stubs are 'not implemented',
and every property catches at least one wrong implementation."""

from __future__ import annotations

import pytest

from grader.catalog import EXERCISES, exercises_of_topic, topic_of
from grader.connection import LocalConnection
from grader.runner import grade_exercise
from grader.worker import load_topic_from
from tests.harness import ALL_PROPERTIES, CAUGHT_BY, EXERCISES_DIR, IMPLEMENTED, REGISTRY, SOLUTIONS, failed_properties, grade_impl


def test_registry_uses_catalog_ids() -> None:
    assert set(REGISTRY) <= set(EXERCISES)


def test_each_topic_registers_in_catalog_order() -> None:
    """A topic's package imports its exercise modules in the catalog's order (listings follow it)."""
    for topic in {topic_of(ex) for ex in REGISTRY}:
        registered = [ex for ex in REGISTRY if topic_of(ex) == topic]
        assert registered == [ex for ex in exercises_of_topic(topic) if ex in registered], topic


@pytest.mark.parametrize("exercise_id", IMPLEMENTED)
def test_reference_passes_every_property(exercise_id: str) -> None:
    from grader.reference import load_reference

    exercise = REGISTRY[exercise_id]
    reference = load_reference(SOLUTIONS, exercise.topic)
    result = grade_impl(exercise_id, getattr(reference, exercise.name))
    assert result.status == "passed", [(p.name, p.message, p.counterexample) for p in result.properties if not p.passed]
    assert len(exercise.properties) >= 2
    assert {p.tier for p in exercise.properties} == {"public", "hidden"}


@pytest.mark.parametrize("exercise_id", IMPLEMENTED)
def test_stub_is_not_implemented(exercise_id: str) -> None:
    exercise = REGISTRY[exercise_id]
    stub = load_topic_from(EXERCISES_DIR)(exercise.topic)
    result = grade_exercise(exercise, LocalConnection({exercise.topic: stub}), solutions=SOLUTIONS)
    assert result.status == "not_implemented", (result.status, result.message)
    assert result.message.startswith("not implemented yet"), result.message


@pytest.mark.parametrize("exercise_id", IMPLEMENTED)
def test_at_least_two_known_mistakes(exercise_id: str) -> None:
    assert len(REGISTRY[exercise_id].mistakes) >= 2


@pytest.mark.parametrize(("exercise_id", "prop"), ALL_PROPERTIES, ids=[f"{e}:{p}" for e, p in ALL_PROPERTIES])
def test_property_catches_a_wrong_implementation(exercise_id: str, prop: str) -> None:
    wrong = CAUGHT_BY.get((exercise_id, prop))
    assert wrong is not None, f"no wrong implementation in tests/wrong/ for {exercise_id}:{prop}"
    result = grade_impl(exercise_id, wrong, only=prop)
    assert prop in failed_properties(result), f"{prop} let a wrong implementation pass: {result.properties}"


@pytest.mark.parametrize("exercise_id", IMPLEMENTED)
def test_every_mistake_is_diagnosed(exercise_id: str) -> None:
    """Each known mistake fails some property, and the report names it."""
    for mistake in REGISTRY[exercise_id].mistakes:
        # A variant wrapped by unless_right raises where it is right; graded as student code,
        # it is the plain wrong function.
        result = grade_impl(exercise_id, getattr(mistake.impl, "__wrapped__", mistake.impl))
        assert result.status == "failed", f"{mistake.name} passed every property"
        diagnoses = {p.diagnosis for p in result.properties if p.status == "failed"}
        assert mistake.message in diagnoses, f"{mistake.name} was never diagnosed: {diagnoses}"


def test_grading_is_reproducible() -> None:
    """The same wrong code gets the same verdicts and counterexamples on every run."""
    exercise = "attention.scaled_dot_product_attention"
    wrong = REGISTRY[exercise].mistakes[0].impl
    first, second = grade_impl(exercise, wrong), grade_impl(exercise, wrong)
    assert [(p.name, p.status, p.message, p.counterexample) for p in first.properties] == [(p.name, p.status, p.message, p.counterexample) for p in second.properties]
