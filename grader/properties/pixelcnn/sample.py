"""Properties and known mistakes of ``pixelcnn.sample``.

Over 300 lines on purpose: one exercise, one module (issue 12); sampling needs its mock
models and its mistakes beside the properties that use them.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn

from grader import fixtures
from grader.properties import MAX_EXAMPLES
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import NotApplicable
from grader.properties.pixelcnn import strategies as gs
from grader.properties.stability import UNSTABLE_SOFTMAX, naming_the_formula
from grader.stats import FALSE_FAILURE_PER_EXAMPLE, implausible

# ----------------------------------------------------------------------------- statistics

# Seeded statistical tests (grader/stats.py) check each category (a value at a pixel, a whole image) with a
# Chernoff bound on its count: for a Binomial(n, p) count, P(n·KL(p̂ ‖ p) > t) ≤ 2·e^(−t) (one
# e^(−t) per tail). With t = ln(2K/δ) and a union bound over the K categories, a correct sampler
# fails one example with probability at most δ = 1e-9, so a grading run (at most 100 examples per
# property) fails a correct submission with probability below 1e-7.
DRAWS = 8192  # images per statistical example: one call, many independent draws


# ----------------------------------------------------------------------------- known mistakes

def raster_positions(channels: int, height: int, width: int) -> list[tuple[int, int, int]]:
    """(c, i, j) in raster order: rows, then columns, then channels."""
    return [(c, i, j) for i in range(height) for j in range(width) for c in range(channels)]


def _draw(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator).squeeze(1)


def _sample_in_order(model, shape, generator, positions):
    x = torch.zeros(shape, device=generator.device)
    with torch.no_grad():
        for c, i, j in positions:
            x[:, c, i, j] = _draw(model(x)[:, c, :, i, j], generator).to(x.dtype)
    return x


def _sample_column_major(model, shape, num_values, generator):
    _, channels, height, width = shape
    return _sample_in_order(model, shape, generator, [(c, i, j) for j in range(width) for i in range(height) for c in range(channels)])


def _sample_channel_outermost(model, shape, num_values, generator):
    _, channels, height, width = shape
    return _sample_in_order(model, shape, generator, [(c, i, j) for c in range(channels) for i in range(height) for j in range(width)])


def _sample_one_call_per_pixel(model, shape, num_values, generator):
    x = torch.zeros(shape, device=generator.device)
    with torch.no_grad():
        for i in range(shape[2]):
            for j in range(shape[3]):
                logits = model(x)  # reused for every channel of the pixel
                for c in range(shape[1]):
                    x[:, c, i, j] = _draw(logits[:, c, :, i, j], generator).to(x.dtype)
    return x


def _sample_greedy(model, shape, num_values, generator):
    x = torch.zeros(shape, device=generator.device)
    with torch.no_grad():
        for c, i, j in raster_positions(*shape[1:]):
            x[:, c, i, j] = model(x)[:, c, :, i, j].argmax(dim=-1).to(x.dtype)
    return x


def _sample_softmax_over_channels(model, shape, num_values, generator):
    x = torch.zeros(shape, device=generator.device)
    with torch.no_grad():
        for c, i, j in raster_positions(*shape[1:]):
            probs = torch.softmax(model(x), dim=1)  # dim 1 of (B, C, V, H, W) is the channel axis
            x[:, c, i, j] = torch.multinomial(probs[:, c, :, i, j], 1, generator=generator).squeeze(1).to(x.dtype)
    return x


def _sample_values_scaled(model, shape, num_values, generator):
    x = torch.zeros(shape, device=generator.device)
    with torch.no_grad():
        for c, i, j in raster_positions(*shape[1:]):
            x[:, c, i, j] = _draw(model(x)[:, c, :, i, j], generator).to(x.dtype) / (num_values - 1)
    return x


def _sample_inverse_cdf_of_exp(model, shape, num_values, generator, *, only_if_nan=False):
    # Inverse-CDF draws from exp(l)/Σexp(l): with nan probabilities no comparison holds, so value 0.
    x = torch.zeros(shape, device=generator.device)
    nan_seen = False
    with torch.no_grad():
        for c, i, j in raster_positions(*shape[1:]):
            e = model(x)[:, c, :, i, j].exp()
            cdf = (e / e.sum(dim=-1, keepdim=True)).cumsum(dim=-1)  # (B, V)
            nan_seen = nan_seen or bool(cdf.isnan().any())
            u = torch.rand(shape[0], 1, generator=generator, device=generator.device, dtype=cdf.dtype)
            x[:, c, i, j] = (u > cdf[:, :-1]).sum(dim=-1).to(x.dtype)
    if only_if_nan and not nan_seen:
        raise NotApplicable("a stable inverse CDF on these logits")
    return x


def _sample_unstable_inverse_cdf(model, shape, num_values, generator):
    return _sample_inverse_cdf_of_exp(model, shape, num_values, generator, only_if_nan=True)


_sample_unstable_inverse_cdf.__wrapped__ = _sample_inverse_cdf_of_exp  # type: ignore[attr-defined]  # as a student writes it


ORDER = "pixels row by row, left to right, and within a pixel the channels in order, with a fresh model call before each value"


sample_ex = Exercise(
    "pixelcnn.sample",
    mistakes=[
        Mistake("one_call_per_pixel", "your sampler calls the model once per pixel and draws all its channels from those logits; channel c depends on the channels < c just drawn at that pixel, so call the model again before each channel", _sample_one_call_per_pixel),
        Mistake("column_major", f"your sampler goes column by column (j outer, i inner); raster order is {ORDER}", _sample_column_major),
        Mistake("channel_outermost", f"your sampler draws a whole channel plane before the next channel (c outermost); raster order is {ORDER}", _sample_channel_outermost),
        Mistake("greedy_argmax", "your sampler takes the argmax of the logits (greedy decoding); draw from softmax(logits[:, c, :, i, j]), e.g. with torch.multinomial(probs, 1, generator=generator)", _sample_greedy),
        Mistake("softmax_over_channels", "your sampler takes the softmax over dim 1, the channel axis of (B, C, V, H, W) logits; the values are on dim 2: softmax(logits[:, c, :, i, j], dim=-1)", _sample_softmax_over_channels),
        Mistake("unstable_inverse_cdf", f"your sampler inverts the CDF of exp(l)/Σexp(l), whose probabilities are nan here (no comparison with nan holds, so value 0 is drawn every time): {UNSTABLE_SOFTMAX}", _sample_unstable_inverse_cdf),
        Mistake("values_scaled", "your image holds value / (num_values − 1) (scaled to [0, 1]); x holds the drawn integers themselves, 0 … num_values − 1, stored as floats", _sample_values_scaled),
    ],
)


# ----------------------------------------------------------------------------- helpers

def _sample_shown(model: nn.Module, shape: tuple[int, ...], num_values: int, seed: int | None = None, **more: Any) -> dict[str, Any]:
    shown: dict[str, Any] = {"model": f"{type(model).__name__}({model.extra_repr()})", "shape": shape, "num_values": num_values}
    if seed is not None:
        shown["generator seed"] = seed
    return {**shown, **more}


def _image(ctx: Context, model: nn.Module, shape: tuple[int, int, int, int], num_values: int, seed: int, shown: dict[str, Any]) -> torch.Tensor:
    """The student's draw, checked to be a tensor of ``shape`` holding integers in [0, num_values)."""
    x = ctx.call(model, shape, num_values, gs.generator(seed))
    ctx.check(isinstance(x, torch.Tensor) and tuple(x.shape) == tuple(shape), f"expected a tensor of shape (B, C, H, W) = {tuple(shape)}, got {getattr(x, 'shape', type(x).__name__)}", inputs=shown)
    values = x.double()
    bad = ((values != values.round()) | (values < 0) | (values >= num_values)).nonzero()
    if len(bad):
        where = tuple(int(i) for i in bad[0])
        ctx.fail(f"x{list(where)} = {values[where].item():g}: every value must be an integer in [0, {num_values}), the index of the drawn value", inputs=shown)
    return x


def raster_argmax(model: nn.Module, shape: tuple[int, int, int, int]) -> torch.Tensor:
    """The image a deterministic (one-hot logits) model gives in raster order, with a naive loop."""
    x = torch.zeros(shape)
    for c, i, j in raster_positions(*shape[1:]):
        x[:, c, i, j] = model(x)[:, c, :, i, j].argmax(dim=-1).to(x.dtype)
    return x


def _first_mismatch(got: torch.Tensor, expected: torch.Tensor) -> tuple[int, int, int, int] | None:
    """The first (b, c, i, j) in raster order where the images differ."""
    _, channels, height, width = expected.shape
    for c, i, j in raster_positions(channels, height, width):
        rows = (got[:, c, i, j] != expected[:, c, i, j]).nonzero()
        if len(rows):
            return int(rows[0]), c, i, j
    return None


def joint_probabilities(model: nn.Module, chw: tuple[int, int, int], num_values: int) -> torch.Tensor:
    """Exact probabilities (V^n,) of every image (C, H, W) under raster-order sampling, by the chain rule:
    p(y) = Π_t softmax(model(y with the values from t on set to 0))[value y_t at pixel t].
    Image k is the k-th tuple of itertools.product(range(V), repeat=n) in raster order."""
    c, h, w = chw
    positions = raster_positions(c, h, w)
    images = torch.tensor(list(itertools.product(range(num_values), repeat=len(positions))), dtype=torch.long)  # (K, n)
    log_p = torch.zeros(len(images), dtype=torch.float64)
    x = torch.zeros(len(images), c, h, w)
    for t, (cc, i, j) in enumerate(positions):  # x holds the values before t
        logits = model(x)[:, cc, :, i, j].double()  # (K, V)
        log_p += logits.log_softmax(dim=-1).gather(1, images[:, t : t + 1]).squeeze(1)
        x[:, cc, i, j] = images[:, t].float()
    return log_p.exp()


def image_codes(x: torch.Tensor, num_values: int) -> torch.Tensor:
    """(B,) index of each image (C, H, W) among itertools.product(range(V), repeat=n), raster order."""
    _, c, h, w = x.shape
    code = torch.zeros(x.shape[0], dtype=torch.long)
    for cc, i, j in raster_positions(c, h, w):
        code = code * num_values + x[:, cc, i, j].long()
    return code


# ----------------------------------------------------------------------------- properties

# Images on which every known mistake draws differently from a correct sampler (C, H, W ≥ 2 and
# 64 rows; the models below are strongly order-dependent and, where random, never one-hot): a
# diagnosis then never names a mistake by coincidence when the values are right and only their
# dtype or grad mode is not.
DISCRIMINATING_SHAPES = gs.pixel_image_shapes(min_batch=64, max_batch=64, min_side=2)


@sample_ex.property("integer_values_as_floats", "the result has the requested shape (B, C, H, W), the default float dtype, and integer values in [0, num_values)", tier="public")
@given(shape=DISCRIMINATING_SHAPES, num_values=gs.dims(3, 6), dtype=gs.float_dtypes(), seed=gs.seeds())
def _integer_values(ctx: Context, shape: tuple[int, int, int, int], num_values: int, dtype: torch.dtype, seed: int) -> None:
    model = fixtures.PrefixHashModel(*shape[1:], num_values, seed, dtype, ties=2)  # each value: one of two, ½ each
    shown = _sample_shown(model, shape, num_values, seed + 1, logits_dtype=dtype)
    x = _image(ctx, model, shape, num_values, seed + 1, shown)
    default = torch.get_default_dtype()
    ctx.check(x.dtype == default, f"x should have the default float dtype {default} (whatever the logits' dtype), got {x.dtype}", inputs=shown)


@sample_ex.property("one_call_before_each_draw", f"the model is called H·W·C times, once before each value is drawn, in raster order: {ORDER} (a model whose n-th call puts all mass on value n shows the order in the image)", tier="public")
@given(shape=gs.pixel_image_shapes(max_batch=2), dtype=gs.float_dtypes())
@example(shape=(1, 3, 2, 2), dtype=torch.float32)
def _one_call_before_each_draw(ctx: Context, shape: tuple[int, int, int, int], dtype: torch.dtype) -> None:
    _, c, h, w = shape
    num_values = c * h * w + 1  # more values than draws: the image records each draw's call number
    model = fixtures.CallCounterModel(num_values, dtype)
    shown = _sample_shown(model, shape, num_values, 0, logits_dtype=dtype)
    x = _image(ctx, model, shape, num_values, 0, shown)
    expected = torch.zeros(shape)
    for t, (cc, i, j) in enumerate(raster_positions(c, h, w)):
        expected[:, cc, i, j] = t + 1  # the (t+1)-th call comes just before the t-th draw
    where = _first_mismatch(x, expected)
    if where is not None:
        b, cc, i, j = where
        ctx.fail(f"x[{b}, {cc}, {i}, {j}] was drawn right after model call {int(x[where])}; in raster order with one call per value it comes right after call {int(expected[where])} (this mock model's n-th call puts all mass on value n)", inputs=shown)


@sample_ex.property("each_value_from_its_own_logits", "each value x[:, c, i, j] is drawn from the logits at (c, i, j) of a call made after every earlier value was written, on an image that starts at zeros (checked with deterministic models)", tier="public")
@given(shape=gs.pixel_image_shapes(), num_values=gs.dims(2, 6), dtype=gs.float_dtypes(), seed=gs.seeds())
@example(shape=(2, 3, 2, 3), num_values=5, dtype=torch.float32, seed=0)
def _each_value_from_its_own_logits(ctx: Context, shape: tuple[int, int, int, int], num_values: int, dtype: torch.dtype, seed: int) -> None:
    model = fixtures.PrefixHashModel(*shape[1:], num_values, seed, dtype)
    shown = _sample_shown(model, shape, num_values, seed, logits_dtype=dtype)
    x = _image(ctx, model, shape, num_values, seed, shown)
    expected = raster_argmax(model, shape)
    where = _first_mismatch(x, expected)
    if where is not None:
        b, c, i, j = where
        ctx.fail(f"x[{b}, {c}, {i}, {j}] = {int(x[where])}, but this model puts all the mass there on {int(expected[where])} once the earlier values are drawn (the values before it in raster order agree)", inputs=shown)


@sample_ex.property("pixel_frequencies_follow_softmax", f"over {DRAWS} images, each value at each pixel is drawn with probability softmax(logits[:, c, :, i, j]) (pixels independent here; seeded test)", tier="public")
@settings(max_examples=min(MAX_EXAMPLES, 10))  # each example is itself a test of 8192 draws
@given(shape=gs.pixel_image_shapes(max_batch=1, max_pixels=8), num_values=gs.dims(2, 5), dtype=gs.float_dtypes(), seed=gs.seeds())
def _pixel_frequencies(ctx: Context, shape: tuple[int, int, int, int], num_values: int, dtype: torch.dtype, seed: int) -> None:
    shape = (DRAWS, *shape[1:])
    model = gs.pixel_logits_model(shape[1:], num_values, dtype, seed)
    shown = _sample_shown(model, shape, num_values, seed + 1, logits_dtype=dtype, base_logits=model.base)
    x = _image(ctx, model, shape, num_values, seed + 1, shown)
    probs = model.base.double().softmax(dim=1)  # (C, V, H, W)
    counts = F.one_hot(x.long(), num_values).sum(dim=0)  # (C, H, W, V)
    table = [(f"value {v} at (c, i, j) = {(c, i, j)}", int(counts[c, i, j, v]), DRAWS, float(probs[c, v, i, j])) for c, i, j in raster_positions(*shape[1:]) for v in range(num_values)]
    problem = implausible(table)
    ctx.check(problem is None, f"the draws do not follow softmax of the logits — {problem}", inputs=shown)


@st.composite
def _joint_settings(draw: st.DrawFn) -> tuple[tuple[int, int, int, int], int]:
    """A tiny image (C·H·W ≤ 4) and V ∈ {2, 3} with at most 81 possible images."""
    shape = draw(gs.pixel_image_shapes(max_batch=1, max_pixels=4))
    n = shape[1] * shape[2] * shape[3]
    return shape, draw(st.sampled_from([v for v in (2, 3) if v**n <= 81]))


@sample_ex.property("images_follow_the_chain_rule", f"over {DRAWS} tiny images, each whole image y is drawn with probability Π_t p(y_t | earlier values), the model's conditionals in raster order (seeded test)", tier="public")
@settings(max_examples=min(MAX_EXAMPLES, 10))  # each example is itself a test of 8192 draws
@given(setup=_joint_settings(), dtype=gs.float_dtypes(), seed=gs.seeds())
@example(setup=((1, 2, 1, 2), 3), dtype=torch.float32, seed=1)
def _images_follow_chain_rule(ctx: Context, setup: tuple[tuple[int, int, int, int], int], dtype: torch.dtype, seed: int) -> None:
    (_, c, h, w), num_values = setup
    shape = (DRAWS, c, h, w)
    model = gs.pixel_logits_model((c, h, w), num_values, dtype, seed, coupling_scale=3.0)
    shown = _sample_shown(model, shape, num_values, seed + 1, logits_dtype=dtype)
    x = _image(ctx, model, shape, num_values, seed + 1, shown)
    probs = joint_probabilities(model, (c, h, w), num_values)
    counts = torch.bincount(image_codes(x, num_values), minlength=len(probs))
    names = list(itertools.product(range(num_values), repeat=c * h * w))
    table = [(f"the image with values {list(names[k])} in raster order", int(counts[k]), DRAWS, float(probs[k])) for k in range(len(probs))]
    problem = implausible(table)
    ctx.check(problem is None, f"whole images are not drawn with the chain-rule probabilities of raster order — {problem}", inputs=shown)


@sample_ex.property("uses_the_generator", "the same generator seed gives the same images, another seed other images: all randomness comes from the generator argument", tier="public")
@given(shape=gs.pixel_image_shapes(max_batch=1, max_pixels=4), num_values=gs.dims(2, 4), seed=gs.seeds())
def _uses_the_generator(ctx: Context, shape: tuple[int, int, int, int], num_values: int, seed: int) -> None:
    shape = (256, *shape[1:])  # uniform values: two seeds agree everywhere with probability ≤ 2^-256
    model = fixtures.PixelLogitsModel(torch.zeros(shape[1], num_values, shape[2], shape[3]))
    first = _image(ctx, model, shape, num_values, seed, _sample_shown(model, shape, num_values, seed))
    again = _image(ctx, model, shape, num_values, seed, _sample_shown(model, shape, num_values, seed))
    ctx.check(torch.equal(first, again), "two calls with generators seeded alike gave different images: draw only with the generator", inputs=_sample_shown(model, shape, num_values, seed))
    other = _image(ctx, model, shape, num_values, seed + 1, _sample_shown(model, shape, num_values, seed + 1))
    ctx.check(not torch.equal(first, other), "generators with different seeds gave exactly the same 256 images: pass generator=generator to every draw (torch's global random state is not yours to use)", inputs=_sample_shown(model, shape, num_values, seed + 1))


@sample_ex.property("samples_without_autograd", "called with autograd enabled, the sampler still calls the model under torch.no_grad() (no graph over H·W·C calls; x comes back without grad)", tier="public")
@given(shape=DISCRIMINATING_SHAPES, num_values=gs.dims(2, 4))
def _samples_without_autograd(ctx: Context, shape: tuple[int, int, int, int], num_values: int) -> None:
    model = fixtures.GradModeProbe(num_values)
    shown = _sample_shown(model, shape, num_values, 0)
    # A vjp request runs the call with autograd on, as in a user's script; no gradient is asked for.
    x, _ = ctx.student.vjp(ctx.exercise.name, (model, shape, num_values, gs.generator(0)), None, [["params", 0]])
    ok = isinstance(x, torch.Tensor) and tuple(x.shape) == tuple(shape)
    ctx.check(ok, f"expected a tensor of shape {tuple(shape)}, got {getattr(x, 'shape', type(x).__name__)}", inputs=shown)
    with_grad = int((x != 0).sum())
    ctx.check(with_grad == 0, f"{with_grad} of {x.numel()} values were drawn from a model call made with autograd enabled (this mock model then puts all mass on 1): wrap the sampling loop in torch.no_grad()", inputs=shown)


@sample_ex.property("matches_reference", "with deterministic models (one-hot logits depending on the values drawn so far), the image equals the reference's, for float32 and float64 logits", tier="hidden")
@given(shape=gs.pixel_image_shapes(), num_values=gs.dims(2, 6), dtype=gs.float_dtypes(), seed=gs.seeds())
def _sample_matches_reference(ctx: Context, shape: tuple[int, int, int, int], num_values: int, dtype: torch.dtype, seed: int) -> None:
    model = fixtures.PrefixHashModel(*shape[1:], num_values, seed + 7, dtype)
    shown = _sample_shown(model, shape, num_values, seed, logits_dtype=dtype)
    x = _image(ctx, model, shape, num_values, seed, shown)
    ctx.assert_close(x, ctx.ref(model, shape, num_values, gs.generator(seed)), inputs=shown, check_dtype=False)


REFERENCE_DRAWS = 4 * DRAWS


@sample_ex.property("pixel_frequencies_match_reference", f"with a model whose logits depend on the values drawn so far, each value's frequency at each pixel over {DRAWS} images agrees with the reference's over {REFERENCE_DRAWS} (seeded two-sample test)", tier="hidden")
@settings(max_examples=min(MAX_EXAMPLES, 5))  # each example draws 40960 images
@given(shape=gs.pixel_image_shapes(max_batch=1, max_pixels=6), num_values=gs.dims(2, 4), dtype=gs.float_dtypes(), seed=gs.seeds())
def _frequencies_match_reference(ctx: Context, shape: tuple[int, int, int, int], num_values: int, dtype: torch.dtype, seed: int) -> None:
    chw = shape[1:]
    model = gs.pixel_logits_model(chw, num_values, dtype, seed, coupling_scale=3.0)
    shown = _sample_shown(model, (DRAWS, *chw), num_values, seed + 1, logits_dtype=dtype)
    x = _image(ctx, model, (DRAWS, *chw), num_values, seed + 1, shown)
    ref = ctx.ref(model, (REFERENCE_DRAWS, *chw), num_values, gs.generator(seed + 2))
    got_freq = F.one_hot(x.long(), num_values).double().mean(dim=0)  # (C, H, W, V)
    ref_freq = F.one_hot(ref.long(), num_values).double().mean(dim=0)
    # Hoeffding for a difference of two independent means of 0/1 draws: P(|d| ≥ t) ≤ 2·exp(−2t² / (1/n + 1/m));
    # t below makes the union over all K cells fail a correct sampler with probability ≤ 1e-9.
    cells = got_freq.numel()
    t = math.sqrt(math.log(2 * cells / FALSE_FAILURE_PER_EXAMPLE) * (1 / DRAWS + 1 / REFERENCE_DRAWS) / 2)
    gap = (got_freq - ref_freq).abs()
    if bool((gap > t).any()):
        c, i, j, v = (int(k) for k in (gap > t).nonzero()[0])
        ctx.fail(f"value {v} at (c, i, j) = {(c, i, j)} has frequency {got_freq[c, i, j, v]:.4f} in your images and {ref_freq[c, i, j, v]:.4f} in the reference's (allowed gap {t:.4f})", inputs=shown)


@sample_ex.property("stable_for_large_logits", f"with logits of magnitude 1e2–1e4 (positive or negative), each value at each pixel over {DRAWS} images is drawn with probability softmax of the logits shifted to 0 (seeded test)", tier="public")
@settings(max_examples=min(MAX_EXAMPLES, 10))  # each example is itself a test of 8192 draws
@given(shape=gs.pixel_image_shapes(max_batch=1, max_pixels=4), num_values=gs.dims(2, 5), dtype=gs.float_dtypes(), seed=gs.seeds(), offset=st.sampled_from((128.0, -1024.0, 8192.0, -8192.0)))
def _stable_for_large_logits(ctx: Context, shape: tuple[int, int, int, int], num_values: int, dtype: torch.dtype, seed: int, offset: float) -> None:
    shape = (DRAWS, *shape[1:])
    model = gs.pixel_large_logits_model(shape[1:], num_values, dtype, seed, offset)
    shown = _sample_shown(model, shape, num_values, seed + 1, logits_dtype=dtype, base_logits=model.base)
    with naming_the_formula(UNSTABLE_SOFTMAX, inputs=shown):  # torch.multinomial raises on nan probabilities
        x = _image(ctx, model, shape, num_values, seed + 1, shown)
        probs = model.centred.double().softmax(dim=1)  # (C, V, H, W)
        counts = F.one_hot(x.long(), num_values).sum(dim=0)  # (C, H, W, V)
        table = [(f"value {v} at (c, i, j) = {(c, i, j)}", int(counts[c, i, j, v]), DRAWS, float(probs[c, v, i, j])) for c, i, j in raster_positions(*shape[1:]) for v in range(num_values)]
        problem = implausible(table)
        ctx.check(problem is None, f"the draws do not follow softmax of the logits — {problem}", inputs=shown)
