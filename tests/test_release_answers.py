"""The recorded reference of a student copy, in-process: fingerprints, recording, replay, and
`grade release`'s refusals (the whole build is tests/test_release.py)."""

from __future__ import annotations

import copy

import pytest
import torch

from grader.connection import LocalConnection
from grader.reference import load_reference
from grader.release.answers import AnswerBook, NotRecorded, RecordingReference, ReplayReference
from grader.release.determinism import local_constants_ignored
from grader.release.fingerprint import fingerprint
from grader.runner import grade_exercise
from tests.cli_helpers import run_grade
from tests.harness import CAUGHT_BY, REGISTRY, SOLUTIONS

EXERCISE = "vae.kl_standard_normal"


def test_fingerprint_sees_content_only() -> None:
    x = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    net = torch.nn.Linear(3, 2)
    assert fingerprint((x, net, 0.5)) == fingerprint((x.clone().requires_grad_(True), copy.deepcopy(net), 0.5))
    assert fingerprint(x) != fingerprint(x.float())  # dtype
    assert fingerprint(x) != fingerprint(x.reshape(3, 2))  # shape
    y = x.clone()
    y[0, 0] = -0.0
    assert fingerprint(x) != fingerprint(y)  # bits, not ==
    other = copy.deepcopy(net)
    with torch.no_grad():
        other.weight[0, 0] += 1
    assert fingerprint(net) != fingerprint(other)
    assert fingerprint(torch.Generator().manual_seed(1)) != fingerprint(torch.Generator().manual_seed(2))


@pytest.fixture(scope="module")
def book() -> AnswerBook:
    exercise = REGISTRY[EXERCISE]
    reference = load_reference(SOLUTIONS, exercise.topic)
    recorded = AnswerBook()
    with local_constants_ignored():
        result = grade_exercise(exercise, LocalConnection({exercise.topic: reference}), reference=RecordingReference(reference, recorded))
    assert result.status == "passed"
    assert recorded.outputs and recorded.grads  # values and gradients (its gradients_match property)
    return recorded


def _grade(impl: object, book: AnswerBook, tmp_path, only: str | None = None):
    exercise = REGISTRY[EXERCISE]
    book.save(tmp_path / "answers.pt.xz")
    replay = ReplayReference(AnswerBook.load(tmp_path / "answers.pt.xz"), EXERCISE)
    namespace = type("Student", (), {exercise.name: staticmethod(impl)})
    with local_constants_ignored():
        return grade_exercise(exercise, LocalConnection({exercise.topic: namespace}), reference=replay, only=only)


def test_the_reference_passes_on_its_recorded_answers(book, tmp_path) -> None:
    result = _grade(load_reference(SOLUTIONS, "vae").kl_standard_normal, book, tmp_path)
    assert result.status == "passed", [(p.name, p.message) for p in result.properties]
    assert all(p.status == "passed" and not p.message for p in result.properties)


@pytest.mark.parametrize("prop", ["matches_reference", "gradients_match"])
def test_wrong_implementations_fail_on_recorded_answers(book, tmp_path, prop) -> None:
    result = _grade(CAUGHT_BY[(EXERCISE, prop)], book, tmp_path, only=prop)
    assert result.properties[0].status == "failed", result.properties[0]


def test_an_unrecorded_input_is_not_answered(book) -> None:
    replay = ReplayReference(book, EXERCISE)
    with pytest.raises(NotRecorded):
        replay.kl_standard_normal(torch.full((1, 1), 123.0), torch.zeros(1, 1))
    with pytest.raises(AttributeError):
        replay._repr_pretty_  # noqa: B018 - introspection gets no fake reference function


def test_release_refuses_a_folder_that_is_not_empty(tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    proc = run_grade("release", str(tmp_path))
    assert proc.returncode == 2
    assert "exists and is not empty" in proc.stderr and f"rm -r {tmp_path}" in proc.stderr.replace("\n", "")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_release_refuses_a_folder_inside_the_course() -> None:
    proc = run_grade("release", "exercises/copy")
    assert proc.returncode == 2 and "inside the course's exercises/" in proc.stderr


def test_masked_conv2d_hidden_checks_replay_from_the_reference_function(tmp_path) -> None:
    """MaskedConv2d's hidden checks compare with the reference's causal_mask (a function, so
    recorded), not its class: a student copy runs them, and a layer whose bias gets no gradient
    fails gradients_match there (the one wrong implementation the release used to miss)."""
    exercise = REGISTRY["pixelcnn.MaskedConv2d"]
    reference = load_reference(SOLUTIONS, exercise.topic)
    recorded = AnswerBook()
    recorder = RecordingReference(reference, recorded)
    hidden = [p.name for p in exercise.properties if p.tier == "hidden"]
    assert set(hidden) == {"matches_reference", "gradients_match"}
    with local_constants_ignored():
        for prop in hidden:
            assert grade_exercise(exercise, LocalConnection({exercise.topic: reference}), reference=recorder, only=prop).status == "passed"
        assert recorder.objects == 0 and recorder.calls > 0  # no reference object handed out: all replayable
        recorded.save(tmp_path / "answers.pt.xz")
        replay = ReplayReference(AnswerBook.load(tmp_path / "answers.pt.xz"), exercise.id)
        for prop in hidden:
            right = grade_exercise(exercise, LocalConnection({exercise.topic: reference}), reference=replay, only=prop).properties[0]
            assert right.status == "passed" and not right.message, right
            wrong = CAUGHT_BY[(exercise.id, prop)]
            student = type("Student", (), {exercise.name: wrong})
            assert grade_exercise(exercise, LocalConnection({exercise.topic: student}), reference=replay, only=prop).properties[0].status == "failed"
