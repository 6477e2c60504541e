"""Failure messages that say how to fix the code (issue 17): a gradient cut off from an
argument names the argument and the usual causes, a float64 result from type promotion names
the float64 input, and a raising call shows its input as well as the student's frames."""

from __future__ import annotations

import io

import torch
from rich.console import Console

from grader.render import exercise_result
from tests.harness import grade_impl


def _failed(result, name):
    (prop,) = [p for p in result.properties if p.name == name]
    assert prop.status == "failed", prop
    return prop


def kl_mu_detached(mu, logvar):
    mu = mu.detach()  # the bug: no gradient reaches mu
    return -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(dim=-1)


def kl_mu_as_float(mu, logvar):
    mu = torch.tensor(mu.tolist(), dtype=mu.dtype)  # the same bug through a copy
    return -0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(dim=-1)


def test_missing_gradient_names_the_argument_and_the_causes() -> None:
    for impl in (kl_mu_detached, kl_mu_as_float):
        prop = _failed(grade_impl("vae.kl_standard_normal", impl, only="gradients_match"), "gradients_match")
        first = prop.message.splitlines()[0]
        assert "no gradient reaches `mu`" in first and "`logvar`" not in first
        assert all(cause in first for cause in (".item()", "float(...)", ".detach()", "torch.tensor(t)"))


def test_no_gradient_hint_where_the_reference_has_none_either() -> None:
    """A wrong value with connected gradients gets the plain comparison, no hint."""
    def kl_no_half(mu, logvar):
        return -(1 + logvar - mu.square() - logvar.exp()).sum(dim=-1)

    prop = _failed(grade_impl("vae.kl_standard_normal", kl_no_half, only="gradients_match"), "gradients_match")
    assert "no gradient reaches" not in prop.message


def test_float64_promotion_names_the_float64_input() -> None:
    from tests.wrong.diffusion import ddpm_promoting

    prop = _failed(grade_impl("diffusion.ddpm_step", ddpm_promoting, only="dtype_contract"), "dtype_contract")
    assert "type promotion: `betas` is float64" in prop.message
    assert "should be float32, got float64" in prop.message


def log_prob_raises(x, transforms):
    z = x * 2
    raise ValueError(f"boom {tuple(z.shape)}")


def test_a_raising_call_shows_its_input_and_the_frames() -> None:
    result = grade_impl("flows.log_prob", log_prob_raises)
    prop = next(p for p in result.properties if p.status == "failed")
    assert prop.message.startswith("your code raised ValueError: boom")
    assert prop.counterexample.startswith("x: float"), prop.counterexample  # the input, by parameter name
    assert "transforms:" in prop.counterexample
    assert "in log_prob_raises: raise ValueError" in prop.trace
    out = io.StringIO()
    exercise_result(Console(file=out, width=200, color_system=None), result)
    text = out.getvalue()
    assert text.index("minimal failing input:") < text.index("x: float") < text.index("where your code raised:") < text.index("in log_prob_raises")
