"""The worker's vector-Jacobian product through Σ output·gradient equals autograd.grad's own
grad_outputs path bit for bit (grader.fast_vjp), and the judge's patched autograd.grad gives
torch's own results, falling back to torch for the calls it does not rewrite."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.fast_vjp import grads_without_sympy
from grader.fast_vjp import vjp_loss as _vjp_loss


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


def test_patched_grad_equals_torch_and_leaves_other_calls_to_torch() -> None:
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    g = torch.randn(4, 3, dtype=torch.float64)
    expected = torch.autograd.grad(torch.tanh(x) * 3, x, g)
    second = torch.autograd.grad(torch.autograd.grad((x**3).sum(), x, create_graph=True)[0], x, g)
    original = torch.autograd.grad
    with grads_without_sympy():
        assert torch.autograd.grad is not original
        assert torch.equal(torch.autograd.grad(torch.tanh(x) * 3, x, g)[0], expected[0])
        first = torch.autograd.grad((x**3).sum(), x, create_graph=True)[0]  # double backward: torch's own path
        assert torch.equal(torch.autograd.grad(first, x, g)[0], second[0])
        with pytest.raises(RuntimeError):  # a gradient of another shape is refused, as torch refuses it
            torch.autograd.grad(torch.tanh(x), x, torch.ones(3, dtype=torch.float64))
    assert torch.autograd.grad is original


def test_grading_a_gradient_exercise_does_not_import_sympy() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; import grader.properties; from grader.properties import load_topics;"
        "from grader.connection import LocalConnection; from grader.reference import load_reference; from grader.runner import grade_exercise;"
        "ex = load_topics({'attention'}).get('attention.scaled_dot_product_attention'); ref = load_reference(Path('solutions'), 'attention');"
        "r = grade_exercise(ex, LocalConnection({'attention': ref}), reference=ref, only='gradients_match');"
        "print(r.status, 'sympy' in sys.modules)"
    )
    from tests.cli_helpers import ROOT

    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env={**__import__("os").environ, "GENLAB_MAX_EXAMPLES": "3"})
    assert out.stdout.split() == ["passed", "False"], out.stdout + out.stderr


def test_patched_grad_with_grad_mode_off_is_torchs_own() -> None:
    # A custom autograd.Function's backward runs with grad mode off (the release recorder does this).
    x = torch.randn(3, requires_grad=True)
    y = torch.sin(x)
    g = torch.randn(3)
    expected = torch.autograd.grad(torch.sin(x), x, g)[0]
    with grads_without_sympy(), torch.no_grad():
        assert torch.equal(torch.autograd.grad(y, x, g)[0], expected)
