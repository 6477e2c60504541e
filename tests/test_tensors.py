"""Comparing results: what counts as close, and what a failure message says."""

from __future__ import annotations

import torch

from grader.tensors import difference, fmt_value


def tol(_dtype: object) -> tuple[float, float]:
    return (1e-5, 1e-8)


def test_infinite_expectation_is_met_only_exactly() -> None:
    expected = torch.tensor([0.0, float("-inf")])
    assert difference(torch.tensor([0.0, float("-inf")]), expected, tol=tol) is None
    problem = difference(torch.tensor([0.0, -1e30]), expected, tol=tol)
    assert problem is not None and "index (1,)" in problem


def test_nan_matches_only_nan() -> None:
    assert difference(torch.tensor([float("nan")]), torch.tensor([float("nan")]), tol=tol) is None
    assert difference(torch.tensor([float("nan")]), torch.tensor([1.0]), tol=tol) is not None


def test_message_names_largest_difference_and_where() -> None:
    problem = difference(torch.tensor([[1.0, 2.0], [3.0, 9.0]]), torch.tensor([[1.0, 2.0], [3.0, 4.0]]), tol=tol)
    assert problem is not None
    assert "max abs difference 5" in problem and "(1, 1)" in problem and "expected 4" in problem and "got 9" in problem


def test_shape_and_dtype_mismatches() -> None:
    assert "expected shape (2,)" in difference(torch.zeros(3), torch.zeros(2), tol=tol)
    assert "expected dtype float64" in difference(torch.zeros(2), torch.zeros(2, dtype=torch.float64), tol=tol)
    assert difference(torch.zeros(2), torch.zeros(2, dtype=torch.float64), tol=tol, check_dtype=False) is None


def test_small_tensors_show_values() -> None:
    assert fmt_value(torch.tensor([0.5, 1.0])) == "float32 (2,) = [0.5, 1]"
    assert fmt_value(torch.zeros(5, 5)) == "float32 (5, 5)"
