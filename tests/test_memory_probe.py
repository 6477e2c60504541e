"""The memory probe: the largest tensor a call allocates, measured in the worker and returned
as plain data; views and in-place writes do not count, and nothing is measured unless asked."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest
import torch

from grader import memory_probe
from grader.connection import LocalConnection
from grader.memory_probe import LargestTensor
from grader.student import Student
from tests.cli_helpers import ROOT


def _largest(fn, *args):
    with memory_probe.probe() as probe:
        fn(*args)
    return probe.largest


def test_records_the_largest_output_with_its_shape_and_op() -> None:
    q, k = torch.randn(2, 3, 4, dtype=torch.float64), torch.randn(2, 5, 4, dtype=torch.float64)
    largest = _largest(lambda: (q @ k.transpose(-2, -1)).sum(-1))
    assert (largest.numel, largest.bytes, largest.shape, largest.dtype) == (30, 240, (2, 3, 5), "float64")
    assert largest.op.startswith("aten.bmm")


def test_views_in_place_and_out_writes_are_not_allocations() -> None:
    x = torch.randn(6, 8)
    buffer = torch.empty(6, 8)

    def no_new_memory() -> None:
        x[:, :2].transpose(0, 1).expand(3, 2, 6)  # views
        x.reshape(8, 6)  # a reshape of a contiguous tensor is a view too
        buffer.add_(1.0)
        torch.mul(x, 2.0, out=buffer)

    assert _largest(no_new_memory) is None
    assert _largest(lambda: x.t().contiguous()).numel == 48  # a real copy counts


def test_inputs_are_not_counted() -> None:
    big = torch.randn(100)
    assert _largest(lambda: big[:3] * 2).numel == 3


def test_first_measured_operation_does_not_import_dynamo() -> None:
    code = "import sys, torch; from grader import memory_probe\nwith memory_probe.probe(): torch.ones(3) + 1\nassert 'torch._dynamo' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_plain_data_round_trip_and_validation() -> None:
    record = LargestTensor(12, 96, (3, 4), "float64", "aten.mm.default")
    assert LargestTensor.from_plain(record.to_plain()) == record
    assert LargestTensor.from_plain(None) is None
    assert "shape (3, 4) = 12 elements (96 bytes), made by aten.mm" in record.describe()
    for bad in ([1, 2], {"numel": -1, "bytes": 0, "shape": []}, {"numel": 1, "bytes": True, "shape": []}, {"numel": 1, "bytes": 1, "shape": "3"}):
        with pytest.raises(ValueError):
            LargestTensor.from_plain(bad)


def _student(fn) -> Student:
    return Student(LocalConnection({"topic": types.SimpleNamespace(f=fn)}), "topic")


def test_measured_only_when_asked_through_the_protocol() -> None:
    student = _student(lambda a, b: a @ b)
    a, b = torch.randn(4, 2), torch.randn(2, 7)
    value, largest = student.call_measuring_memory("f", (a, b), {})
    assert torch.allclose(value, a @ b) and largest.shape == (4, 7)
    answer = student._request({"op": "call", "topic": "topic", "name": "f", "args": (a, b), "kwargs": {}})
    assert "memory" not in answer  # a plain call pays nothing and reports nothing


def test_a_call_that_allocates_nothing_reports_none() -> None:
    _, largest = _student(lambda a: a[1:]).call_measuring_memory("f", (torch.randn(5),), {})
    assert largest is None
