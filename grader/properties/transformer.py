"""Properties of the transformer exercises (q64–q69, q72)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st
from torch import nn

from grader import strategies as gs
from grader.fixtures import StateDict
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.attention import mha_formula, torch_attn_mask

# ============================================================================ layer_norm


def _ln_unbiased_variance(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(x.var(dim=-1, keepdim=True) + eps) * weight + bias  # torch.var divides by D − 1


def _ln_eps_outside_sqrt(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    return (x - mean) / (x.std(dim=-1, unbiased=False, keepdim=True) + eps) * weight + bias


def _ln_over_first_dim(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=0, keepdim=True)
    var = x.var(dim=0, unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


def _ln_one_pass_variance(x, weight, bias, eps=1e-5):
    mean = x.mean(dim=-1, keepdim=True)
    var = (x * x).mean(dim=-1, keepdim=True) - mean * mean  # E[x²] − E[x]²
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


layer_norm = Exercise(
    "transformer.layer_norm",
    mistakes=[
        Mistake("unbiased_variance", "your output equals normalizing with the unbiased variance (torch.var's default, divided by D − 1); layer norm uses the biased one, var(unbiased=False)", _ln_unbiased_variance),
        Mistake("eps_outside_sqrt", "your output equals dividing by std + eps; eps goes inside the root: (x − mean) / sqrt(var + eps)", _ln_eps_outside_sqrt),
        Mistake("over_first_dim", "your output equals statistics over the first (batch) dimension, as batch norm does; layer norm takes them over the last dimension of each row", _ln_over_first_dim),
        Mistake("one_pass_variance", "your output equals var = E[x²] − E[x]², which cancels catastrophically in float32 when a row's mean is large next to its spread; center first: var = mean((x − mean)²)", _ln_one_pass_variance),
    ],
)


def _ln_shown(a: dict) -> dict:
    return {name: a[name] for name in ("x", "weight", "bias", "eps")}


def _ln_formula64(x, weight, bias, eps):
    """The definition in float64, rounded to x's dtype once."""
    x64 = x.double()
    mean = x64.mean(dim=-1, keepdim=True)
    var = ((x64 - mean) ** 2).mean(dim=-1, keepdim=True)
    return ((x64 - mean) / torch.sqrt(var + eps) * weight.double() + bias.double()).to(x.dtype)


@layer_norm.property("known_answer", "[0, 2] normalizes to ±1/√(1 + eps), [0, 2⁻⁹] (variance below eps) to ±2⁻¹⁰/√(2⁻²⁰ + eps), and a constant row or a width of 1 to the bias", tier="public")
@given(dtype=gs.float_dtypes())
def _ln_known_answer(ctx: Context, dtype: torch.dtype) -> None:
    eps = 1e-5
    two = {"x": torch.tensor([[0.0, 2.0], [0.0, 2.0**-9]], dtype=dtype), "weight": torch.ones(2, dtype=dtype), "bias": torch.zeros(2, dtype=dtype)}
    r0, r1 = 1 / math.sqrt(1 + eps), 2.0**-10 / math.sqrt(2.0**-20 + eps)
    constant = {"x": torch.full((1, 3), 3.0, dtype=dtype), "weight": torch.tensor([2.0, -1.0, 0.5], dtype=dtype), "bias": torch.tensor([0.1, 0.2, 0.3], dtype=dtype)}
    width_one = {"x": torch.tensor([[5.0], [-2.0]], dtype=dtype), "weight": torch.tensor([1.5], dtype=dtype), "bias": torch.tensor([0.7], dtype=dtype)}
    cases = [
        (two, torch.tensor([[-r0, r0], [-r1, r1]], dtype=dtype)),
        (constant, constant["bias"].clone().unsqueeze(0)),
        (width_one, torch.full((2, 1), 0.7, dtype=dtype)),
    ]
    for inputs, expected in cases:
        got = ctx.call(inputs["x"], inputs["weight"], inputs["bias"], eps)
        ctx.assert_close(got, expected, inputs={**inputs, "eps": eps})


@layer_norm.property("shift_and_scale_invariant", "adding a constant to each row changes nothing, and scaling x by c > 0 together with eps by c² changes nothing", tier="public")
@given(rows=gs.dims(1, 6), d=gs.dims(1, 8), dtype=gs.float_dtypes(), seed=gs.seeds(), c=st.sampled_from((0.25, 0.5, 2.0, 4.0)), eps=st.sampled_from((1e-5, 1e-3)))
def _ln_shift_and_scale_invariant(ctx: Context, rows: int, d: int, dtype: torch.dtype, seed: int, c: float, eps: float) -> None:
    # Values on a grid of 1/32, shifts on a grid of 1/2 and scales powers of 2: every
    # transformed input is exact in float32, so only the student's arithmetic is tested.
    x = (gs.make_tensor((rows, d), torch.float64, seed) * 32).round().div(32).to(dtype)
    shift = (gs.make_tensor((rows, 1), torch.float64, seed + 1, scale=4.0) * 2).round().div(2).to(dtype)
    weight = gs.make_tensor((d,), dtype, seed + 2, scale=0.5) + 1
    bias = gs.make_tensor((d,), dtype, seed + 3, scale=0.5)
    base = ctx.call(x, weight, bias, eps)
    shown = {"x": x, "weight": weight, "bias": bias, "eps": eps, "shift per row": shift, "c": c}
    ctx.assert_close(ctx.call(x + shift, weight, bias, eps), base, inputs=shown, what="the output for x + shift")
    ctx.assert_close(ctx.call(c * x, weight, bias, eps * c * c), base, inputs=shown, what="the output for c·x with eps·c²")


@layer_norm.property("dtype_contract", "the result has x's shape and dtype, float32 or float64", tier="public")
@given(a=gs.layer_norm_inputs())
def _ln_dtype_contract(ctx: Context, a: dict) -> None:
    got = ctx.call(a["x"], a["weight"], a["bias"], a["eps"])
    ctx.check(isinstance(got, torch.Tensor) and got.shape == a["x"].shape, f"expected shape {tuple(a['x'].shape)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=_ln_shown(a))
    ctx.check(got.dtype == a["x"].dtype, f"x was {a['x'].dtype}, the result is {got.dtype}", inputs=_ln_shown(a))


@layer_norm.property("matches_torch_layer_norm", "the output equals F.layer_norm over the last dim, also for rows whose variance is far below eps", tier="hidden")
@given(a=gs.layer_norm_inputs())
@example(a={"x": torch.tensor([[1.0, 1.001, 0.999], [-3.0, 5.0, 0.0]]), "weight": torch.ones(3), "bias": torch.zeros(3), "eps": 1e-5})
def _ln_matches_torch(ctx: Context, a: dict) -> None:
    got = ctx.call(a["x"], a["weight"], a["bias"], a["eps"])
    expected = F.layer_norm(a["x"], a["x"].shape[-1:], a["weight"], a["bias"], a["eps"])
    ctx.assert_close(got, expected, inputs=_ln_shown(a))


@layer_norm.property("matches_reference", "the output equals the reference on random inputs of widths 1 to 8, eps given or left at its default", tier="hidden")
@given(a=gs.layer_norm_inputs(), pass_eps=st.booleans())
@example(a={"x": torch.tensor([[1.0, 1.001, 0.999]]), "weight": torch.ones(3), "bias": torch.zeros(3), "eps": 1e-5}, pass_eps=False)
@example(a={"x": torch.tensor([[0.0, 0.05, -0.02]], dtype=torch.float64), "weight": torch.ones(3, dtype=torch.float64), "bias": torch.zeros(3, dtype=torch.float64), "eps": 1e-3}, pass_eps=True)
def _ln_matches_reference(ctx: Context, a: dict, pass_eps: bool) -> None:
    args = (a["x"], a["weight"], a["bias"], a["eps"]) if pass_eps else (a["x"], a["weight"], a["bias"])
    ctx.assert_close(ctx.call(*args), ctx.ref(*args), inputs={**_ln_shown(a), "eps": a["eps"] if pass_eps else "default"})


@layer_norm.property("gradients_match", "gradients with respect to x, weight and bias equal the reference's: the mean and variance are part of the graph", tier="hidden")
# D ≥ 2: in a row of width 1 (variance exactly 0) the normalized value is 0 only up to rounding
# of |x|/√eps, so in float32 any implementation but the reference's own has noisy dweight there.
@given(a=gs.layer_norm_inputs(min_width=2), seed=gs.seeds())
def _ln_gradients_match(ctx: Context, a: dict, seed: int) -> None:
    x, weight, bias, eps = a["x"], a["weight"], a["bias"], a["eps"]
    g_out = gs.make_tensor(tuple(x.shape), x.dtype, seed)
    _, grads = ctx.student.vjp(ctx.exercise.name, (x, weight, bias, eps), g_out, [0, 1, 2])
    leaves = [t.clone().requires_grad_(True) for t in (x, weight, bias)]
    expected = torch.autograd.grad(ctx.ref(*leaves, eps), leaves, g_out)
    # dx carries the factor 1/√(var + eps) (up to ~300 for rows far below eps), and so does its
    # rounding noise: the absolute tolerance scales with the largest such factor.
    _, atol = ctx.tolerance(x.dtype)
    amplification = float((x.double().var(dim=-1, unbiased=False) + eps).rsqrt().max())
    ctx.assert_close(tuple(grads["inputs"]), expected, inputs=_ln_shown(a), what="the gradients (dx, dweight, dbias)", atol=atol * max(1.0, amplification))


# ============================================================================ sinusoidal_position_encoding


def _angles(num_positions, d_model, exponent_of_column):
    p = torch.arange(num_positions, dtype=torch.float64).unsqueeze(1)
    j = torch.arange(d_model, dtype=torch.float64)
    return p / 10000.0 ** (exponent_of_column(j) / d_model)  # (P, d): the angle used by column j


def _pe_concatenated_halves(num_positions, d_model):
    p = torch.arange(num_positions, dtype=torch.float64).unsqueeze(1)
    angle = p / 10000.0 ** (torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # (P, d/2)
    return torch.cat((torch.sin(angle), torch.cos(angle)), dim=-1).float()


def _pe_sin_cos_swapped(num_positions, d_model):
    angle = _angles(num_positions, d_model, lambda j: 2 * (j // 2))
    return torch.where(torch.arange(d_model) % 2 == 0, torch.cos(angle), torch.sin(angle)).float()


def _pe_exponent_per_column(num_positions, d_model):
    angle = _angles(num_positions, d_model, lambda j: j)  # (2i + 1)/d on the cos columns instead of 2i/d
    return torch.where(torch.arange(d_model) % 2 == 0, torch.sin(angle), torch.cos(angle)).float()


def _pe_float64(num_positions, d_model):
    angle = _angles(num_positions, d_model, lambda j: 2 * (j // 2))
    return torch.where(torch.arange(d_model) % 2 == 0, torch.sin(angle), torch.cos(angle))  # float64, as numpy builds it


position_encoding = Exercise(
    "transformer.sinusoidal_position_encoding",
    mistakes=[
        # First: it reproduces only outputs whose values are right, and at position 0 alone every layout agrees.
        Mistake("float64_result", "your output is float64 (built with numpy or in double); return torch.get_default_dtype()", _pe_float64),
        Mistake("concatenated_halves", "your output puts all sines in the first half of the columns and all cosines in the second; Vaswani interleaves them: sin on even columns 2i, cos on odd columns 2i+1", _pe_concatenated_halves),
        Mistake("sin_cos_swapped", "your output has cos on the even columns and sin on the odd ones; PE[p, 2i] = sin, PE[p, 2i+1] = cos", _pe_sin_cos_swapped),
        Mistake("exponent_per_column", "your output uses 10000^(j/d) with j the column index, so a cos column gets another frequency than its sin column; both columns of pair i use 10000^(2i/d)", _pe_exponent_per_column),
    ],
)


def _pe_formula(num_positions: int, d_model: int) -> torch.Tensor:
    """The definition with math.sin / math.cos, one entry at a time, in float64."""
    return torch.tensor(
        [[(math.sin if j % 2 == 0 else math.cos)(p / 10000 ** ((j - j % 2) / d_model)) for j in range(d_model)] for p in range(num_positions)],
        dtype=torch.float64,
    )


@position_encoding.property("known_answer", "PE(3, 4) has rows [sin p, cos p, sin(p/100), cos(p/100)], and PE(1, 2) = [[0, 1]]", tier="public")
@given(case=st.sampled_from(((3, 4), (1, 2))))
def _pe_known_answer(ctx: Context, case: tuple[int, int]) -> None:
    got = ctx.call(*case)
    ctx.assert_close(got, _pe_formula(*case).float(), inputs={"num_positions": case[0], "d_model": case[1]})


@position_encoding.property("pairs_on_unit_circle", "each (sin, cos) column pair satisfies PE[p, 2i]² + PE[p, 2i+1]² = 1, and position 0 is [0, 1, 0, 1, ...]", tier="public")
@given(sizes=gs.position_encoding_sizes())
def _pe_pairs_on_unit_circle(ctx: Context, sizes: tuple[int, int]) -> None:
    n, d = sizes
    pe = ctx.call(n, d)
    shown = {"num_positions": n, "d_model": d}
    ctx.check(isinstance(pe, torch.Tensor) and tuple(pe.shape) == (n, d), f"expected shape {(n, d)}, got {getattr(pe, 'shape', type(pe).__name__)}", inputs=shown)
    radius = pe[:, 0::2].double() ** 2 + pe[:, 1::2].double() ** 2  # (P, d/2)
    ctx.assert_close(radius, torch.ones_like(radius), inputs=shown, what="sin² + cos² of each column pair", rtol=1e-5, atol=1e-6)
    first = torch.tensor([0.0, 1.0] * (d // 2), dtype=pe.dtype)
    ctx.assert_close(pe[0], first, inputs=shown, what="the encoding of position 0")


@position_encoding.property("shift_is_rotation", "PE[p + k] is PE[p] with each (sin, cos) pair rotated by the angle of PE[k] (sin(a + b) and cos(a + b) formulas)", tier="public")
@given(sizes=gs.position_encoding_sizes(), data=st.data())
def _pe_shift_is_rotation(ctx: Context, sizes: tuple[int, int], data: st.DataObject) -> None:
    n, d = sizes
    pe = ctx.call(n, d)
    p = data.draw(st.integers(0, n - 1), label="p")
    k = data.draw(st.integers(0, n - 1 - p), label="k")
    s_p, c_p, s_k, c_k = (t.double() for t in (pe[p, 0::2], pe[p, 1::2], pe[k, 0::2], pe[k, 1::2]))
    expected = torch.stack((s_p * c_k + c_p * s_k, c_p * c_k - s_p * s_k), dim=-1).reshape(d)  # interleaved sin, cos
    ctx.assert_close(pe[p + k].double(), expected, inputs={"num_positions": n, "d_model": d, "p": p, "k": k}, what=f"PE[{p + k}]", rtol=1e-5, atol=1e-5)


@position_encoding.property("default_dtype", "the result has shape (num_positions, d_model) and the default float dtype (float32)", tier="public")
@given(sizes=gs.position_encoding_sizes())
def _pe_default_dtype(ctx: Context, sizes: tuple[int, int]) -> None:
    n, d = max(sizes[0], 2), max(sizes[1], 4)  # at least 2 positions and 2 pairs, where the known layouts differ
    got = ctx.call(n, d)
    shown = {"num_positions": n, "d_model": d}
    ctx.check(isinstance(got, torch.Tensor) and tuple(got.shape) == (n, d), f"expected shape {(n, d)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=shown)
    ctx.check(got.dtype == torch.get_default_dtype(), f"expected the default dtype {torch.get_default_dtype()}, got {got.dtype}", inputs=shown)


@position_encoding.property("matches_reference", "the encodings equal the reference for up to 32 positions and widths up to 16", tier="hidden")
@given(sizes=gs.position_encoding_sizes())
def _pe_matches_reference(ctx: Context, sizes: tuple[int, int]) -> None:
    ctx.assert_close(ctx.call(*sizes), ctx.ref(*sizes), inputs={"num_positions": sizes[0], "d_model": sizes[1]})


# ============================================================================ feed_forward


def _ff_weights_not_transposed(x, w1, b1, w2, b2):
    return torch.relu(x @ w1 + b1) @ w2 + b2


def _ff_gelu(x, w1, b1, w2, b2):
    return F.gelu(x @ w1.T + b1) @ w2.T + b2


def _ff_relu_on_output(x, w1, b1, w2, b2):
    return torch.relu(torch.relu(x @ w1.T + b1) @ w2.T + b2)


def _ff_relu_before_bias(x, w1, b1, w2, b2):
    return (torch.relu(x @ w1.T) + b1) @ w2.T + b2


feed_forward = Exercise(
    "transformer.feed_forward",
    mistakes=[
        Mistake("weights_not_transposed", "your output equals x @ w1 … @ w2 without transposes; the weights are in nn.Linear layout (out_features, in_features): x @ w1.T", _ff_weights_not_transposed),
        Mistake("gelu", "your output uses GELU; this block (Vaswani, nn.TransformerEncoderLayer's default) uses ReLU", _ff_gelu),
        Mistake("relu_on_output", "your output applies ReLU after the second layer too; the activation sits only between the two layers, the output may be negative", _ff_relu_on_output),
        Mistake("relu_before_bias", "your output adds b1 after the ReLU; the bias goes inside: relu(x·w1ᵀ + b1)", _ff_relu_before_bias),
    ],
)

FF_ARGS = ("x", "w1", "b1", "w2", "b2")


def _ff_args(a: dict, **changes) -> tuple:
    return tuple(changes.get(name, a[name]) for name in FF_ARGS)


@feed_forward.property("known_answer", "with w1 = [[1], [−1]], b1 = [−½, −½], w2 = [[1, 1]], b2 = [½] the network computes relu(x − ½) + relu(−x − ½) + ½", tier="public")
@given(dtype=gs.float_dtypes())
def _ff_known_answer(ctx: Context, dtype: torch.dtype) -> None:
    x = torch.tensor([[[-2.0], [-0.25], [0.3], [1.5]]], dtype=dtype)  # (1, 4, 1)
    w1, b1 = torch.tensor([[1.0], [-1.0]], dtype=dtype), torch.tensor([-0.5, -0.5], dtype=dtype)
    w2, b2 = torch.tensor([[1.0, 1.0]], dtype=dtype), torch.tensor([0.5], dtype=dtype)
    expected = torch.tensor([[[2.0], [0.5], [0.5], [1.5]]], dtype=dtype)
    got = ctx.call(x, w1, b1, w2, b2)
    ctx.assert_close(got, expected, inputs={"x": x, "w1": w1, "b1": b1, "w2": w2, "b2": b2})


@feed_forward.property("acts_per_position", "each position is transformed on its own: permuting positions permutes the outputs, and a position computed alone gives the same output", tier="public")
@given(a=gs.feed_forward_inputs(), seed=gs.seeds())
def _ff_acts_per_position(ctx: Context, a: dict, seed: int) -> None:
    out = ctx.call(*_ff_args(a))
    perm = torch.randperm(a["x"].shape[1], generator=gs.generator(seed))
    shown = {name: a[name] for name in FF_ARGS}
    ctx.assert_close(ctx.call(*_ff_args(a, x=a["x"][:, perm])), out[:, perm], inputs=shown, what="the output for permuted positions")
    i = int(perm[0])
    ctx.assert_close(ctx.call(*_ff_args(a, x=a["x"][:, i : i + 1])), out[:, i : i + 1], inputs=shown, what=f"the output of position {i} computed alone")


@feed_forward.property("dtype_contract", "the result has x's shape and dtype, float32 or float64", tier="public")
@given(a=gs.feed_forward_inputs())
def _ff_dtype_contract(ctx: Context, a: dict) -> None:
    got = ctx.call(*_ff_args(a))
    shown = {name: a[name] for name in FF_ARGS}
    ctx.check(isinstance(got, torch.Tensor) and got.shape == a["x"].shape, f"expected shape {tuple(a['x'].shape)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=shown)
    ctx.check(got.dtype == a["x"].dtype, f"x was {a['x'].dtype}, the result is {got.dtype}", inputs=shown)


@feed_forward.property("matches_reference", "the output equals the reference for random widths d and d_ff (square and not)", tier="hidden")
@given(a=gs.feed_forward_inputs())
@example(a={"x": torch.tensor([[[1.0, -2.0], [0.5, 0.25]]]), "w1": torch.tensor([[1.0, 2.0], [-3.0, 0.5]]), "b1": torch.tensor([0.1, 0.2]), "w2": torch.tensor([[0.5, -1.0], [2.0, 1.0]]), "b2": torch.tensor([-0.3, 0.3])})
def _ff_matches_reference(ctx: Context, a: dict) -> None:
    ctx.assert_close(ctx.call(*_ff_args(a)), ctx.ref(*_ff_args(a)), inputs={name: a[name] for name in FF_ARGS})


@feed_forward.property("gradients_match", "gradients with respect to x, w1, b1, w2 and b2 equal the reference's", tier="hidden")
@given(a=gs.feed_forward_inputs(), seed=gs.seeds())
def _ff_gradients_match(ctx: Context, a: dict, seed: int) -> None:
    g_out = gs.make_tensor(tuple(a["x"].shape), a["x"].dtype, seed)
    _, grads = ctx.student.vjp(ctx.exercise.name, _ff_args(a), g_out, [0, 1, 2, 3, 4])
    leaves = [a[name].clone().requires_grad_(True) for name in FF_ARGS]
    expected = torch.autograd.grad(ctx.ref(*leaves), leaves, g_out)
    ctx.assert_close(tuple(grads["inputs"]), expected, inputs={name: a[name] for name in FF_ARGS}, what="the gradients (dx, dw1, db1, dw2, db2)")


# ============================================================================ blocks: shared helpers


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


# ============================================================================ encoder_block


def encoder_formula(x, params, num_heads, norm_first=False, mask=None, *, from_normalized=False, invert_mask=False, norms=("norm1", "norm2")):
    """The encoder layer from its definition; the keyword switches produce the known mistakes."""
    x = _residual(x, lambda h: _attend(h, h, params, "self_attn", num_heads, mask, invert_mask=invert_mask), params, norms[0], norm_first, from_normalized=from_normalized)
    return _residual(x, lambda h: _ffn(h, params), params, norms[1], norm_first, from_normalized=from_normalized)


def _enc_norm_placement_swapped(x, params, num_heads, norm_first=False, mask=None):
    return encoder_formula(x, params, num_heads, not norm_first, mask)


def _enc_residual_from_normalized(x, params, num_heads, norm_first=False, mask=None):
    return encoder_formula(x, params, num_heads, norm_first, mask, from_normalized=True)


def _enc_mask_inverted(x, params, num_heads, norm_first=False, mask=None):
    return encoder_formula(x, params, num_heads, norm_first, mask, invert_mask=True)


def _enc_norm1_twice(x, params, num_heads, norm_first=False, mask=None):
    return encoder_formula(x, params, num_heads, norm_first, mask, norms=("norm1", "norm1"))


encoder_block = Exercise(
    "transformer.encoder_block",
    mistakes=[
        # Before norm_placement_swapped: with zeroed sublayers both give norm2(norm1(x)) for pre-norm inputs.
        Mistake("residual_from_normalized", "your pre-norm output adds the sublayer to the NORMALIZED input; the residual carries x itself: x + sublayer(norm(x))", _enc_residual_from_normalized),
        Mistake("norm_placement_swapped", "your output equals the other norm placement: norm_first=False is post-norm, x = norm(x + sublayer(x)); norm_first=True is pre-norm, x = x + sublayer(norm(x))", _enc_norm_placement_swapped),
        Mistake("mask_inverted", "your output uses nn.Transformer's mask polarity (True = blocked); here True means 'may attend'", _enc_mask_inverted),
        Mistake("norm1_twice", "your output uses norm1 for both sublayers; the feed-forward sublayer has its own norm2", _enc_norm1_twice),
    ],
)

ENC_ARGS = ("x", "params", "num_heads", "norm_first", "mask")


def _enc_args(a: dict, **changes) -> tuple:
    return tuple(changes.get(name, a[name]) for name in ENC_ARGS)


@encoder_block.property("zero_sublayers_leave_residual", "with the attention's out_proj and linear2 set to zero, pre-norm returns x unchanged and post-norm returns norm2(norm1(x))", tier="public")
@given(a=gs.block_inputs())
def _enc_zero_sublayers(ctx: Context, a: dict) -> None:
    a = {**a, "params": _zero_sublayer_outputs(a["params"], ("self_attn.out_proj", "linear2"))}
    got = ctx.call(*_enc_args(a))
    x, p = a["x"], a["params"]
    expected = x.clone() if a["norm_first"] else _ln(_ln(x, p, "norm1"), p, "norm2")
    ctx.assert_close(got, expected, inputs=_block_shown(a, ENC_ARGS))


@encoder_block.property("permutation_equivariant", "without a mask, permuting the positions of x permutes the outputs (the block has no notion of order)", tier="public")
@given(a=gs.block_inputs(mask_kind="none"), seed=gs.seeds())
def _enc_permutation_equivariant(ctx: Context, a: dict, seed: int) -> None:
    out = ctx.call(*_enc_args(a))
    perm = torch.randperm(a["x"].shape[1], generator=gs.generator(seed))
    got = ctx.call(*_enc_args(a, x=a["x"][:, perm]))
    ctx.assert_close(got, out[:, perm], inputs=_block_shown(a, ENC_ARGS), what="the output for permuted positions")


@encoder_block.property("mask_blocks_attention", "with a causal (L, L) or (B, L, L) mask, changing the tokens after position t leaves the outputs up to t unchanged", tier="public")
@given(a=gs.block_inputs(min_len=2), data=st.data())
def _enc_mask_blocks_attention(ctx: Context, a: dict, data: st.DataObject) -> None:
    length = a["x"].shape[1]
    # A random mask (or none) restricted to the past; the diagonal keeps every row non-empty.
    mask = _causal(length) if a["mask"] is None else (a["mask"] & _causal(length)) | torch.eye(length, dtype=torch.bool)
    a = {**a, "mask": mask}
    t = data.draw(st.integers(0, length - 2), label="t")
    out = ctx.call(*_enc_args(a))
    x2 = a["x"].clone()
    x2[:, t + 1 :] = gs.make_tensor(x2[:, t + 1 :].shape, x2.dtype, data.draw(gs.seeds(), label="seed"))
    got = ctx.call(*_enc_args(a, x=x2))
    ctx.assert_close(got[:, : t + 1], out[:, : t + 1], inputs={**_block_shown(a, ENC_ARGS), "t": t}, what=f"the outputs at positions 0..{t} after changing later tokens")


@encoder_block.property("dtype_contract", "the result has x's shape (B, L, d) and dtype, float32 or float64", tier="public")
@given(a=gs.block_inputs())
def _enc_dtype_contract(ctx: Context, a: dict) -> None:
    got = ctx.call(*_enc_args(a))
    shown = _block_shown(a, ENC_ARGS)
    ctx.check(isinstance(got, torch.Tensor) and got.shape == a["x"].shape, f"expected shape {tuple(a['x'].shape)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=shown)
    ctx.check(got.dtype == a["x"].dtype, f"x was {a['x'].dtype}, the result is {got.dtype}", inputs=shown)


def torch_encoder_layer(a: dict) -> torch.Tensor:
    """The oracle: nn.TransformerEncoderLayer(dropout=0, batch_first=True) loaded with the params."""
    p, h = a["params"], a["num_heads"]
    d_ff, d = p["linear1.weight"].shape
    layer = nn.TransformerEncoderLayer(d, h, d_ff, dropout=0.0, activation="relu", batch_first=True, norm_first=a["norm_first"], dtype=a["x"].dtype)
    layer.load_state_dict(p)  # train mode (dropout 0) keeps torch off its fused inference path
    with torch.no_grad():
        return layer(a["x"], src_mask=torch_attn_mask(a["mask"], h))


@encoder_block.property("matches_torch_layer", "the output equals nn.TransformerEncoderLayer(dropout=0, batch_first=True) loaded with params, in both norm_first settings, with and without masks", tier="hidden")
@given(a=gs.block_inputs())
def _enc_matches_torch(ctx: Context, a: dict) -> None:
    ctx.assert_close(ctx.call(*_enc_args(a)), torch_encoder_layer(a), inputs=_block_shown(a, ENC_ARGS))


@encoder_block.property("matches_reference", "the output equals the reference on random inputs, in both norm_first settings, with and without masks", tier="hidden")
@given(a=gs.block_inputs())
def _enc_matches_reference(ctx: Context, a: dict) -> None:
    ctx.assert_close(ctx.call(*_enc_args(a)), ctx.ref(*_enc_args(a)), inputs=_block_shown(a, ENC_ARGS))


@encoder_block.property("gradients_match", "gradients with respect to x equal the reference's", tier="hidden")
@given(a=gs.block_inputs(), seed=gs.seeds())
def _enc_gradients_match(ctx: Context, a: dict, seed: int) -> None:
    g_out = gs.make_tensor(tuple(a["x"].shape), a["x"].dtype, seed)
    _, grads = ctx.student.vjp(ctx.exercise.name, _enc_args(a), g_out, [0])
    x = a["x"].clone().requires_grad_(True)
    expected = torch.autograd.grad(ctx.ref(*_enc_args(a, x=x)), (x,), g_out)
    ctx.assert_close(tuple(grads["inputs"]), expected, inputs=_block_shown(a, ENC_ARGS), what="the gradient dx")


# ============================================================================ decoder_block


def decoder_formula(x, memory, params, num_heads, norm_first=False, *, self_mask="causal", norm_memory=False):
    """The decoder layer from its definition; the keyword switches produce the known mistakes."""
    length = x.shape[1]
    mask = {"causal": _causal(length), "none": None, "strict": _causal(length).tril(-1)}[self_mask]
    x = _residual(x, lambda h: _attend(h, h, params, "self_attn", num_heads, mask), params, "norm1", norm_first)
    mem = _ln(memory, params, "norm2") if norm_memory and norm_first else memory
    x = _residual(x, lambda h: _attend(h, mem, params, "multihead_attn", num_heads), params, "norm2", norm_first)
    return _residual(x, lambda h: _ffn(h, params), params, "norm3", norm_first)


def _dec_no_causal_mask(x, memory, params, num_heads, norm_first=False):
    return decoder_formula(x, memory, params, num_heads, norm_first, self_mask="none")


def _dec_mask_hides_diagonal(x, memory, params, num_heads, norm_first=False):
    return decoder_formula(x, memory, params, num_heads, norm_first, self_mask="strict")


def _dec_memory_normalized(x, memory, params, num_heads, norm_first=False):
    return decoder_formula(x, memory, params, num_heads, norm_first, norm_memory=True)


def _dec_norm_placement_swapped(x, memory, params, num_heads, norm_first=False):
    return decoder_formula(x, memory, params, num_heads, not norm_first)


decoder_block = Exercise(
    "transformer.decoder_block",
    mistakes=[
        Mistake("no_causal_mask", "your output equals self-attention without the causal mask: position i must not see positions after i", _dec_no_causal_mask),
        Mistake("mask_hides_diagonal", "your causal mask hides the diagonal (j < i), so position 0 attends to nothing (NaN); position i sees j ≤ i, itself included", _dec_mask_hides_diagonal),
        Mistake("memory_normalized", "your pre-norm output normalizes memory with norm2 too; only the target's stream is normalized, memory enters the cross-attention as given", _dec_memory_normalized),
        Mistake("norm_placement_swapped", "your output equals the other norm placement: norm_first=False is post-norm, x = norm(x + sublayer(x)); norm_first=True is pre-norm, x = x + sublayer(norm(x))", _dec_norm_placement_swapped),
    ],
)

DEC_ARGS = ("x", "memory", "params", "num_heads", "norm_first")


def _dec_args(a: dict, **changes) -> tuple:
    return tuple(changes.get(name, a[name]) for name in DEC_ARGS)


@decoder_block.property("ignores_future_tokens", "the output at position t does not depend on the target tokens after t", tier="public")
@given(a=gs.block_inputs(decoder=True, min_len=2), data=st.data())
def _dec_ignores_future(ctx: Context, a: dict, data: st.DataObject) -> None:
    length = a["x"].shape[1]
    t = data.draw(st.integers(0, length - 2), label="t")
    out = ctx.call(*_dec_args(a))
    x2 = a["x"].clone()
    x2[:, t + 1 :] = gs.make_tensor(x2[:, t + 1 :].shape, x2.dtype, data.draw(gs.seeds(), label="seed"))
    got = ctx.call(*_dec_args(a, x=x2))
    ctx.assert_close(got[:, : t + 1], out[:, : t + 1], inputs={**_block_shown(a, DEC_ARGS), "t": t}, what=f"the outputs at positions 0..{t} after changing later tokens")


@decoder_block.property("memory_permutation_invariant", "permuting the positions of memory changes nothing: cross-attention sees memory as a set", tier="public")
@given(a=gs.block_inputs(decoder=True), seed=gs.seeds())
def _dec_memory_permutation(ctx: Context, a: dict, seed: int) -> None:
    out = ctx.call(*_dec_args(a))
    perm = torch.randperm(a["memory"].shape[1], generator=gs.generator(seed))
    got = ctx.call(*_dec_args(a, memory=a["memory"][:, perm]))
    ctx.assert_close(got, out, inputs=_block_shown(a, DEC_ARGS), what="the output for permuted memory")


@decoder_block.property("zero_sublayers_leave_residual", "with both attentions' out_proj and linear2 set to zero, pre-norm returns x unchanged and post-norm returns norm3(norm2(norm1(x)))", tier="public")
@given(a=gs.block_inputs(decoder=True))
def _dec_zero_sublayers(ctx: Context, a: dict) -> None:
    a = {**a, "params": _zero_sublayer_outputs(a["params"], ("self_attn.out_proj", "multihead_attn.out_proj", "linear2"))}
    got = ctx.call(*_dec_args(a))
    x, p = a["x"], a["params"]
    expected = x.clone() if a["norm_first"] else _ln(_ln(_ln(x, p, "norm1"), p, "norm2"), p, "norm3")
    ctx.assert_close(got, expected, inputs=_block_shown(a, DEC_ARGS))


@decoder_block.property("dtype_contract", "the result has x's shape (B, L, d) and dtype, float32 or float64, for any memory length", tier="public")
@given(a=gs.block_inputs(decoder=True))
def _dec_dtype_contract(ctx: Context, a: dict) -> None:
    got = ctx.call(*_dec_args(a))
    shown = _block_shown(a, DEC_ARGS)
    ctx.check(isinstance(got, torch.Tensor) and got.shape == a["x"].shape, f"expected shape {tuple(a['x'].shape)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=shown)
    ctx.check(got.dtype == a["x"].dtype, f"x was {a['x'].dtype}, the result is {got.dtype}", inputs=shown)


def torch_decoder_layer(a: dict) -> torch.Tensor:
    """The oracle: nn.TransformerDecoderLayer(dropout=0, batch_first=True) with a bool causal tgt_mask."""
    p, length = a["params"], a["x"].shape[1]
    d_ff, d = p["linear1.weight"].shape
    layer = nn.TransformerDecoderLayer(d, a["num_heads"], d_ff, dropout=0.0, activation="relu", batch_first=True, norm_first=a["norm_first"], dtype=a["x"].dtype)
    layer.load_state_dict(p)
    blocked = ~_causal(length)  # nn.Transformer's polarity: True = may NOT attend
    with torch.no_grad():
        return layer(a["x"], a["memory"], tgt_mask=blocked)


@decoder_block.property("matches_torch_layer", "the output equals nn.TransformerDecoderLayer(dropout=0, batch_first=True) loaded with params and given a causal tgt_mask, in both norm_first settings", tier="hidden")
@given(a=gs.block_inputs(decoder=True))
def _dec_matches_torch(ctx: Context, a: dict) -> None:
    ctx.assert_close(ctx.call(*_dec_args(a)), torch_decoder_layer(a), inputs=_block_shown(a, DEC_ARGS))


@decoder_block.property("matches_reference", "the output equals the reference on random inputs, with target and memory of different lengths", tier="hidden")
@given(a=gs.block_inputs(decoder=True))
def _dec_matches_reference(ctx: Context, a: dict) -> None:
    ctx.assert_close(ctx.call(*_dec_args(a)), ctx.ref(*_dec_args(a)), inputs=_block_shown(a, DEC_ARGS))


@decoder_block.property("gradients_match", "gradients with respect to x and memory equal the reference's", tier="hidden")
@given(a=gs.block_inputs(decoder=True), seed=gs.seeds())
def _dec_gradients_match(ctx: Context, a: dict, seed: int) -> None:
    g_out = gs.make_tensor(tuple(a["x"].shape), a["x"].dtype, seed)
    _, grads = ctx.student.vjp(ctx.exercise.name, _dec_args(a), g_out, [0, 1])
    x, memory = a["x"].clone().requires_grad_(True), a["memory"].clone().requires_grad_(True)
    expected = torch.autograd.grad(ctx.ref(*_dec_args(a, x=x, memory=memory)), (x, memory), g_out)
    ctx.assert_close(tuple(grads["inputs"]), expected, inputs=_block_shown(a, DEC_ARGS), what="the gradients (dx, dmemory)")
