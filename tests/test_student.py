"""The judge's side of a call: how worker answers become verdicts."""

from __future__ import annotations

from typing import Any

import pytest

from grader import protocol
from grader.failures import Abort, StudentRaised
from grader.student import Student
from grader.worker import describe_error


class ScriptedConnection:
    """Answers every request with one fixed worker answer and counts restarts."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.restarts = 0

    def request(self, message: dict[str, Any], timeout: float) -> protocol.Decoded:
        return protocol.decode_plain(protocol.encode_plain(self.answer))

    def take_output(self) -> str:
        return ""

    def restart(self) -> None:
        self.restarts += 1

    def close(self) -> None:
        pass


class AcceleratorError(RuntimeError):
    """Stands in for torch.AcceleratorError, which only a GPU can raise."""


def _error(exc: BaseException) -> dict[str, Any]:
    try:
        raise exc
    except BaseException as raised:  # noqa: BLE001 - building a traceback for describe_error
        return {"error": describe_error(raised, None)}


@pytest.mark.parametrize(
    "exc",
    [
        AcceleratorError("CUDA error: device-side assert triggered\nSearch for `cudaErrorAssert' ..."),
        RuntimeError("CUDA error: an illegal memory access was encountered"),
    ],
)
def test_a_sticky_cuda_error_ends_the_exercise_and_restarts_the_worker(exc: BaseException) -> None:
    connection = ScriptedConnection(_error(exc))
    student = Student(connection, "attention", device="cuda")
    with pytest.raises(Abort) as caught:
        student.call("scaled_dot_product_attention", 1)
    assert caught.value.status == "crashed"
    assert "CUDA error" in caught.value.message and "--device cpu" in caught.value.message
    assert "Search for" not in caught.value.message  # only the first line of torch's message
    assert connection.restarts == 1


def test_cuda_out_of_memory_is_not_a_lost_device() -> None:
    connection = ScriptedConnection(_error(RuntimeError("CUDA error: out of memory")))
    with pytest.raises(Abort) as caught:
        Student(connection, "attention", device="cuda").call("f")
    assert caught.value.status == "out_of_memory"
    assert connection.restarts == 0


def test_an_ordinary_error_fails_the_property_and_keeps_the_worker() -> None:
    connection = ScriptedConnection(_error(IndexError("index 5 is out of bounds for dimension 0 with size 3")))
    with pytest.raises(StudentRaised, match="your code raised IndexError: index 5"):
        Student(connection, "attention").call("f")
    assert connection.restarts == 0
