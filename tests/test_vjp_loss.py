"""The worker's vector-Jacobian product through Σ output·gradient equals autograd.grad's own
grad_outputs path bit for bit (grader.worker._vjp_loss)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.worker import _vjp_loss


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), rows=st.integers(1, 4), cols=st.integers(1, 5), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_same_gradients_as_grad_outputs(seed: int, rows: int, cols: int, dtype: torch.dtype) -> None:
    gen = torch.Generator().manual_seed(seed)
    x = (torch.randn(rows, cols, generator=gen, dtype=dtype) * 10).requires_grad_(True)
    w = torch.randn(cols, cols, generator=gen, dtype=dtype).requires_grad_(True)
    g1, g2 = torch.randn(rows, cols, generator=gen, dtype=dtype), torch.randn(rows, generator=gen, dtype=dtype)

    def outputs() -> list[torch.Tensor]:
        h = torch.softmax(x @ w, dim=-1)
        return [h, torch.logsumexp(x, dim=-1)]

    expected = torch.autograd.grad(outputs(), (x, w), (g1, g2))
    got = torch.autograd.grad(_vjp_loss(outputs(), [g1, g2]), (x, w))
    for a, b in zip(got, expected, strict=True):
        assert torch.equal(a, b)


def test_a_gradient_of_another_shape_is_refused_not_broadcast() -> None:
    x = torch.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        _vjp_loss([x * 2], [torch.ones(1)])
