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


def q_sample_x0_rounded(x0, t, noise, alphas_cumprod):
    a = alphas_cumprod[t].to(x0.dtype).view(-1, *([1] * (x0.dim() - 1)))
    return a.sqrt() * torch.round(x0 * 1e6) / 1e6 + (1 - a).sqrt() * noise  # round: derivative 0


def test_zero_gradient_is_named_without_the_reference() -> None:
    """A student copy cannot differentiate the reference: the property's own expected gradient
    shows that a zero one is wrong, and the hint names the argument by position."""
    import types

    from grader.connection import LocalConnection
    from grader.reference import load_reference
    from grader.runner import grade_exercise
    from tests.harness import REGISTRY, SOLUTIONS

    ref = load_reference(SOLUTIONS, "diffusion")
    namespace = types.SimpleNamespace(**{k: getattr(ref, k) for k in dir(ref) if not k.startswith("__")})
    namespace.q_sample = q_sample_x0_rounded
    recorded = types.SimpleNamespace(recorded=True)  # answers nothing, as a student copy's recordings of a vjp
    result = grade_exercise(REGISTRY["diffusion.q_sample"], LocalConnection({"diffusion": namespace}), reference=recorded, only="input_gradients")
    first = _failed(result, "input_gradients").message.splitlines()[0]
    assert first.startswith("the gradient reaching argument 0 is zero or missing"), first
    assert "torch.round" in first and "straight through" in first and ".detach()" in first


def test_zero_gradient_hint_names_a_module_parameter() -> None:
    from grader.properties.hints import zero_gradient_hint
    from grader.student import VjpCall

    shift = torch.zeros(3)
    call = VjpCall("log_prob", (), {}, None, [0, ["params", 1]], {"inputs": [torch.ones(3)], "params": {"args[1].0.shift": shift}})
    hint = zero_gradient_hint(call, {"c": shift}, {"c": torch.ones(3)}, ["x", "transforms"])
    assert hint is not None and hint.startswith("the gradient reaching `transforms` (its parameter `0.shift`) is zero")
    assert zero_gradient_hint(call, {"c": shift}, {"c": torch.zeros(3)}, ["x", "transforms"]) is None  # expected zero: right


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
