"""Helpers shared by the encoder_block and decoder_block exercises: sublayers computed from a state_dict."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grader.fixtures import StateDict
from grader.properties.attention import mha_formula


def _attend(query, kv, params, prefix, num_heads, mask=None, **switches):
    """attention.multi_head_attention on the parameters under ``prefix`` of a state_dict."""
    return mha_formula(
        query, kv, kv,
        params[f"{prefix}.in_proj_weight"], params[f"{prefix}.in_proj_bias"], params[f"{prefix}.out_proj.weight"], params[f"{prefix}.out_proj.bias"],
        num_heads, mask, **switches,
    )  # fmt: skip


def _ln(x, params, name):
    return F.layer_norm(x, x.shape[-1:], params[f"{name}.weight"], params[f"{name}.bias"], 1e-5)


def _ffn(x, params):
    return torch.relu(x @ params["linear1.weight"].T + params["linear1.bias"]) @ params["linear2.weight"].T + params["linear2.bias"]


def _residual(x, fn, params, norm, norm_first, *, from_normalized=False):
    if not norm_first:
        return _ln(x + fn(x), params, norm)
    h = _ln(x, params, norm)
    return (h if from_normalized else x) + fn(h)


def _block_shown(a: dict, names: tuple[str, ...]) -> dict:
    shown = {name: a[name] for name in names if name != "params"}
    p = a["params"]
    kind = "Decoder" if "multihead_attn.in_proj_weight" in p else "Encoder"
    shown["params"] = f"state_dict of nn.Transformer{kind}Layer(d_model={p['linear1.weight'].shape[1]}, nhead={a['num_heads']}, dim_feedforward={p['linear1.weight'].shape[0]})"
    return shown


def _zero_sublayer_outputs(params: dict, prefixes: tuple[str, ...]) -> dict:
    """The params with every sublayer's last projection (weight and bias) set to zero."""
    return StateDict({name: torch.zeros_like(t) if name.startswith(prefixes) else t for name, t in params.items()})


def _causal(length: int) -> torch.Tensor:
    return torch.ones(length, length, dtype=torch.bool).tril()  # (L, L): i sees j ≤ i


def _as_float64(a: dict) -> dict:
    """The inputs with every floating tensor (params included) in float64: the exact block to compare with."""

    def up(v):
        return v.double() if isinstance(v, torch.Tensor) and v.is_floating_point() else v

    return {k: StateDict({n: up(t) for n, t in v.items()}) if k == "params" else up(v) for k, v in a.items()}


def _extreme_formula(a: dict, got) -> str:
    """Which unstable formula a failure on ``block_extreme_inputs`` points to: nan comes from the
    softmax; a finite wrong output next to very negative visible scores from a finite mask fill."""
    from grader.properties.stability import FINITE_MASK_FILL, UNSTABLE_SOFTMAX

    finite = isinstance(got, torch.Tensor) and got.is_floating_point() and bool(torch.isfinite(got).all())
    return FINITE_MASK_FILL if finite and a["offset"] <= -(2.0**17) else UNSTABLE_SOFTMAX


def _extreme_shown(a: dict, names: tuple[str, ...]) -> dict:
    """``_block_shown`` plus how ``block_extreme_inputs`` made the scores large (the params are not printed)."""
    k = "x + c" if abs(a["offset"]) <= 2.0**17 else "c"
    how = f"post-norm; self-attention q = x, k = {k} with c = {a['offset']:g} (identity or zero in_proj weights, key bias c): scores ≈ c·Σq/√d"
    if "memory" in a:
        how += f"; cross-attention q = 1, k = {k.replace('x', 'memory')}"
    return {**_block_shown(a, names), "attention": how}
