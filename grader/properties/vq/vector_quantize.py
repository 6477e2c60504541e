"""Properties and known mistakes of ``vq.vector_quantize``."""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import example, given

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import unless_right
from grader.properties.judge_only import judge_only
from grader.properties.stability import EXPANDED_DISTANCE
from grader.properties.vq import strategies as gs

# ----------------------------------------------------------------------------- known mistakes

def _by_distance(flat, codebook):
    return ((flat[:, None, :] - codebook[None]) ** 2).sum(-1).argmin(1)


def _by_dot_product(flat, codebook):
    return (flat @ codebook.T).argmax(1)


def _by_expanded_distance(flat, codebook):
    return (flat.pow(2).sum(1, keepdim=True) + codebook.pow(2).sum(1) - 2 * flat @ codebook.T).argmin(1)


@judge_only
def _variant(z_e, codebook, beta, *, flatten="permute", nearest=_by_distance, loss_reduce="mean", index_shape="grid"):
    b, d, h, w = z_e.shape
    flat = z_e.permute(0, 2, 3, 1).reshape(-1, d) if flatten == "permute" else z_e.reshape(-1, d)
    idx = nearest(flat, codebook)
    e_flat = codebook[idx]
    e = e_flat.reshape(b, h, w, d).permute(0, 3, 1, 2) if flatten == "permute" else e_flat.reshape(b, d, h, w)
    if loss_reduce == "mean":
        loss = torch.mean((z_e.detach() - e) ** 2) + beta * torch.mean((z_e - e.detach()) ** 2)
    else:  # squared distance summed over channels, averaged over positions
        loss = ((z_e.detach() - e) ** 2).sum(1).mean() + beta * ((z_e - e.detach()) ** 2).sum(1).mean()
    z_q = z_e + (e - z_e).detach()
    return z_q, idx.reshape(b, h, w) if index_shape == "grid" else idx, loss


def _no_permute(z_e, codebook, beta=0.25):
    return _variant(z_e, codebook, beta, flatten="reshape")


def _dot_product_nearest(z_e, codebook, beta=0.25):
    return _variant(z_e, codebook, beta, nearest=_by_dot_product)


def _flat_indices(z_e, codebook, beta=0.25):
    return _variant(z_e, codebook, beta, index_shape="flat")


def _loss_sums_channels(z_e, codebook, beta=0.25):
    return _variant(z_e, codebook, beta, loss_reduce="sum_channels")


def _expanded_distance(z_e, codebook, beta=0.25):
    return _variant(z_e, codebook, beta, nearest=_by_expanded_distance)


vector_quantize = Exercise(
    "vq.vector_quantize",
    mistakes=[
        Mistake("no_permute", "your output reshapes z_e (B, D, H, W) straight to (-1, D), which mixes channels of different positions; move the channels last first: z_e.permute(0, 2, 3, 1).reshape(-1, D)", _no_permute),
        Mistake("expanded_distance", f"your output picks codewords by ‖z‖² + ‖e‖² − 2z·e: {EXPANDED_DISTANCE}", unless_right(_expanded_distance, _variant)),
        Mistake("dot_product_nearest", "your output picks the codeword with the largest dot product z·e; the nearest codeword minimises ‖z − e‖² = ‖z‖² − 2z·e + ‖e‖², and the ‖e‖² term matters", _dot_product_nearest),
        Mistake("flat_indices", "your indices are flat, one per position (B·H·W,); return them on the latent grid, shape (B, H, W)", _flat_indices),
        Mistake("loss_sums_channels", "your loss sums the squared error over channels before averaging; both terms are means over all B·D·H·W entries (F.mse_loss)", _loss_sums_channels),
    ],
)


# ----------------------------------------------------------------------------- helpers

def _forget_calls(ctx: Context) -> None:
    """The checks that follow are about gradients or dtypes, not values: forget the recorded
    calls, so that a failure names no value-level mistake (one may coincide with the right
    values on this input). Values are checked, with diagnoses, before this is called."""
    ctx.student.calls.clear()


def _brute_force(z_e: torch.Tensor, codebook: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest codeword of every position, all K distances in float64: (indices (B, H, W), e (B, D, H, W))."""
    z = z_e.double().permute(0, 2, 3, 1)[..., None, :]  # (B, H, W, 1, D)
    idx = ((z - codebook.double()) ** 2).sum(-1).argmin(-1)  # (B, H, W)
    return idx, codebook[idx].permute(0, 3, 1, 2)


def _triple(ctx: Context, result: Any, a: dict[str, Any]) -> tuple[Any, Any, Any]:
    ctx.check(isinstance(result, (tuple, list)) and len(result) == 3, f"vector_quantize should return (z_q, indices, loss), got {type(result).__name__}", inputs=a)
    return tuple(result)


def _as_zero(g: Any, like: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(like) if g is None else g


# ----------------------------------------------------------------------------- properties

@vector_quantize.property("nearest_codeword", "indices (B, H, W) name the nearest codeword of every position, and z_q holds that codeword there", tier="public")
@given(a=gs.vq_inputs())
@example(a={"z_e": torch.tensor([[[[0.9]], [[0.1]]]]), "codebook": torch.tensor([[1.0, 0.0], [3.0, 3.0]]), "beta": 0.25})
def _nearest_codeword(ctx: Context, a: dict[str, Any]) -> None:
    # The pinned example: z = (0.9, 0.1) has the larger dot product with (3, 3) but is nearest to (1, 0).
    z_q, idx, _ = _triple(ctx, ctx.call(a["z_e"], a["codebook"], a["beta"]), a)
    expected_idx, e = _brute_force(a["z_e"], a["codebook"])
    ctx.assert_close(idx, expected_idx, inputs=a, what="the indices tensor")
    ctx.assert_close(z_q, e, inputs=a, what="z_q (expected the chosen codewords, channels first)")


@vector_quantize.property("loss_value", "loss = (1 + β)·mean((z_e − e)²) in value: both terms measure the same distance, they differ only in what they train", tier="public")
@given(a=gs.vq_inputs())
def _loss_value(ctx: Context, a: dict[str, Any]) -> None:
    _, _, loss = _triple(ctx, ctx.call(a["z_e"], a["codebook"], a["beta"]), a)
    _, e = _brute_force(a["z_e"], a["codebook"])
    expected = (1 + a["beta"]) * torch.mean((a["z_e"] - e) ** 2)
    ctx.assert_close(loss, expected, inputs=a, what="loss")


@vector_quantize.property("straight_through_gradient", "the gradient of z_q passes to z_e unchanged (straight-through estimator) and none reaches the codebook", tier="public")
@given(a=gs.vq_inputs(), seed=gs.seeds())
def _straight_through(ctx: Context, a: dict[str, Any], seed: int) -> None:
    z_e, codebook = a["z_e"], a["codebook"]
    g = gs.make_tensor(tuple(z_e.shape), z_e.dtype, seed)
    value, grads = ctx.student.vjp(ctx.exercise.name, (z_e, codebook, a["beta"]), (g, None, None), [0, 1])
    z_q, _, _ = _triple(ctx, value, a)
    ctx.assert_close(z_q, _brute_force(z_e, codebook)[1], inputs=a, what="z_q")
    _forget_calls(ctx)
    got_z, got_c = _as_zero(grads["inputs"][0], z_e), _as_zero(grads["inputs"][1], codebook)
    ctx.check(bool((got_z != 0).any()) or not bool((g != 0).any()), "no gradient of z_q reached z_e: argmin has no gradient, so return z_e + (e − z_e).detach() (straight-through), not the codewords themselves", inputs=a)
    ctx.assert_close(got_z, g, inputs=a, what="the gradient of z_q with respect to z_e (expected the upstream gradient, unchanged)")
    ctx.assert_close(got_c, torch.zeros_like(codebook), inputs=a, what="the gradient of z_q with respect to the codebook (expected none: the codebook learns from the loss)")


def _ratio(got: torch.Tensor, unit: torch.Tensor) -> float:
    """got ≈ ratio·unit: the factor by which a gradient is the expected direction."""
    denom = float((unit.double() ** 2).sum())
    return float((got.double() * unit.double()).sum()) / denom if denom > 0 else 0.0


@vector_quantize.property("loss_trains_the_right_side", "the loss's gradient reaches the codebook only through the codebook term, 2(e − z_e)/N, and z_e only through the commitment term, 2β(z_e − e)/N", tier="public")
@given(a=gs.vq_inputs())
def _loss_gradients(ctx: Context, a: dict[str, Any]) -> None:
    z_e, codebook, beta = a["z_e"], a["codebook"], a["beta"]
    one = torch.ones((), dtype=z_e.dtype)
    value, grads = ctx.student.vjp(ctx.exercise.name, (z_e, codebook, beta), (None, None, one), [0, 1])
    idx, e = _brute_force(z_e, codebook)
    ctx.assert_close(_triple(ctx, value, a)[2], (1 + beta) * torch.mean((z_e - e) ** 2), inputs=a, what="loss")
    _forget_calls(ctx)
    n = z_e.numel()
    unit_z = 2 * (z_e - e) / n  # d mean((z_e − e)²) / d z_e
    unit_c = torch.zeros_like(codebook).index_add_(0, idx.reshape(-1), (-unit_z).permute(0, 2, 3, 1).reshape(-1, codebook.shape[1]))
    got_z, got_c = _as_zero(grads["inputs"][0], z_e), _as_zero(grads["inputs"][1], codebook)
    rtol, atol = ctx.tolerance(z_e.dtype)
    hint = "; did you put β on the codebook term (the legacy diffusers/taming-transformers bug) or leave out a .detach()?"
    if not torch.allclose(got_z, beta * unit_z, rtol=rtol, atol=atol):
        ctx.fail(f"the gradient of the loss w.r.t. z_e is {_ratio(got_z, unit_z):.4g} × 2(z_e − e)/N; expected β = {beta} × (the commitment term only){hint}", inputs=a)
    if not torch.allclose(got_c, unit_c, rtol=rtol, atol=atol):
        ctx.fail(f"the gradient of the loss w.r.t. the codebook is {_ratio(got_c, unit_c):.4g} × 2(e − z_e)/N summed per codeword; expected 1 × (the codebook term only){hint}", inputs=a)


@vector_quantize.property("dtype_contract", "z_q and loss keep z_e's dtype (float32 or float64), loss is 0-d, indices are int64; β may be a 0-d tensor", tier="public")
@given(a=gs.vq_inputs())
def _dtype_contract(ctx: Context, a: dict[str, Any]) -> None:
    z_e, codebook = a["z_e"], a["codebook"]
    for beta in (a["beta"], torch.tensor(a["beta"], dtype=z_e.dtype)):
        z_q, idx, loss = _triple(ctx, ctx.call(z_e, codebook, beta), a)
        _forget_calls(ctx)
        kinds = {name: getattr(v, "dtype", type(v).__name__) for name, v in (("z_q", z_q), ("indices", idx), ("loss", loss))}
        ctx.check(kinds == {"z_q": z_e.dtype, "indices": torch.int64, "loss": z_e.dtype}, f"with z_e of {z_e.dtype} and beta={beta!r}, got dtypes {kinds}", inputs=a)
        ctx.check(loss.dim() == 0, f"loss should be a 0-d tensor, got shape {tuple(loss.shape)}", inputs=a)


@vector_quantize.property("matches_reference", "z_q, indices and loss equal the reference on random inputs", tier="hidden")
@given(a=gs.vq_inputs())
def _matches_reference(ctx: Context, a: dict[str, Any]) -> None:
    got = ctx.call(a["z_e"], a["codebook"], a["beta"])
    ctx.assert_close(got, ctx.ref(a["z_e"], a["codebook"], a["beta"]), inputs=a)


@vector_quantize.property("gradients_match", "gradients of z_q and loss with respect to z_e, the codebook and a tensor β equal the reference's", tier="hidden")
@given(a=gs.vq_inputs(), seed=gs.seeds())
def _gradients_match(ctx: Context, a: dict[str, Any], seed: int) -> None:
    z_e, codebook = a["z_e"], a["codebook"]
    beta = torch.tensor(a["beta"], dtype=z_e.dtype)
    g_q, g_loss = gs.make_tensor(tuple(z_e.shape), z_e.dtype, seed), gs.make_tensor((), z_e.dtype, seed + 1)
    value, grads = ctx.student.vjp(ctx.exercise.name, (z_e, codebook, beta), (g_q, None, g_loss), [0, 1, 2])
    leaves = [t.clone().requires_grad_(True) for t in (z_e, codebook, beta)]
    z_q, idx, loss = ctx.ref(*leaves)
    ctx.assert_close(value, (z_q, idx, loss), inputs=a)
    _forget_calls(ctx)
    expected = torch.autograd.grad((z_q, loss), leaves, (g_q, g_loss))
    for name, got, e in zip(("z_e", "codebook", "beta"), grads["inputs"], expected):
        ctx.assert_close(_as_zero(got, e), e, inputs=a, what=f"the gradient with respect to {name}")


@vector_quantize.property("nearest_codeword_far_from_origin", "for z_e and codewords far from the origin (|coordinates| ≈ 4e3 in float32, 3e8 in float64) the indices still name the nearest codeword", tier="public")
@given(a=gs.far_from_origin_vq_inputs())
def _nearest_far_from_origin(ctx: Context, a: dict[str, Any]) -> None:
    z_q, idx, _ = _triple(ctx, ctx.call(a["z_e"], a["codebook"], a["beta"]), a)
    expected_idx, expected_e = _brute_force(a["z_e"], a["codebook"])
    if not (isinstance(idx, torch.Tensor) and idx.shape == expected_idx.shape and torch.equal(idx.long(), expected_idx)):
        c = 2.0 ** (12 if a["z_e"].dtype == torch.float32 else 28) * (1 if float(a["codebook"].mean()) > 0 else -1)
        shown = f"z_e − c = {(a['z_e'] - c).flatten().tolist()}, codebook − c = {(a['codebook'] - c).tolist()} with c = {c:g}"
        got_idx = idx.flatten().tolist() if isinstance(idx, torch.Tensor) else idx
        ctx.fail(f"the indices are not those of the nearest codewords (expected {expected_idx.flatten().tolist()}, got {got_idx}; {shown}): {EXPANDED_DISTANCE}", inputs=a)
    ctx.assert_close(z_q, expected_e.to(a["z_e"].dtype), inputs=a, what="z_q")
