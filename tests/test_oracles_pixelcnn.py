"""The pixelcnn reference agrees with independent implementations in float64.

Oracles: the masks written as a raster-index comparison, the paper's counts (van den Oord et
al. 2016: a 3×3 type-A mask keeps 4 weights, type B 5; R, G, B at the centre), a naive
convolution loop, perturbation of future pixels through a stack of layers, torch.autograd.gradcheck,
a real torch.optim step, a naive sampling loop on deterministic models, and the exact joint
distribution of tiny images by enumeration with torch.distributions.Categorical.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grader import fixtures
from grader.properties import pixelcnn as props
from grader.properties.pixelcnn import strategies as gs
from grader.reference import load_reference
from grader.stats import implausible
from tests.harness import SOLUTIONS, failed_properties, grade_impl
from tests.wrong.pixelcnn import EXTRA

ref = load_reference(SOLUTIONS, "pixelcnn")
F64 = torch.float64

CONFIGS = [  # (kernel_size, in_channels, out_channels, color_groups)
    (1, 1, 1, 1),
    (3, 1, 1, 1),
    (5, 2, 3, 1),
    (7, 1, 4, 1),
    (1, 3, 3, 3),
    (3, 3, 6, 3),
    (5, 6, 3, 3),
    (3, 4, 2, 2),
    (3, 4, 4, 2),
]


def _randn(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def naive_mask(k: int, mask_type: str, c_in: int, c_out: int, groups: int) -> torch.Tensor:
    """Entry (o, c, di, dj) is 1 iff the kernel position's raster index is below the centre's, or
    it is the centre and the input's colour block comes before (A) or not after (B) the output's."""
    centre = (k // 2) * k + k // 2  # raster index of the centre in the flattened k×k kernel
    mask = torch.zeros(c_out, c_in, k, k)
    for o, c, r in itertools.product(range(c_out), range(c_in), range(k * k)):
        block_out, block_in = o * groups // c_out, c * groups // c_in  # contiguous blocks of equal size
        if r < centre or (r == centre and (block_in < block_out or (mask_type == "B" and block_in == block_out))):
            mask[o, c, r // k, r % k] = 1
    return mask


# ----------------------------------------------------------------------------- causal_mask


@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize(("k", "c_in", "c_out", "groups"), CONFIGS)
def test_causal_mask_matches_raster_index_rule(k: int, c_in: int, c_out: int, groups: int, mask_type: str) -> None:
    got = ref.causal_mask(k, mask_type, c_in, c_out, groups)
    assert got.dtype == torch.float32
    assert torch.equal(got, naive_mask(k, mask_type, c_in, c_out, groups))
    assert torch.equal(props.mask_by_loop(k, mask_type, c_in, c_out, groups), got)  # the properties' own oracle agrees


def test_causal_mask_paper_values() -> None:
    assert ref.causal_mask(3, "A").sum() == 4 and ref.causal_mask(3, "B").sum() == 5
    assert ref.causal_mask(5, "A").sum() == 12 and ref.causal_mask(5, "B").sum() == 13
    # R sees nothing of the centre pixel, G sees R, B sees R and G (type A); type B adds each itself.
    a = ref.causal_mask(1, "A", 3, 3, 3)[:, :, 0, 0]
    b = ref.causal_mask(1, "B", 3, 3, 3)[:, :, 0, 0]
    assert a.tolist() == [[0, 0, 0], [1, 0, 0], [1, 1, 0]]
    assert b.tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]


def test_causal_mask_rejects_unknown_type() -> None:
    with pytest.raises(ValueError):
        ref.causal_mask(3, "C")


# ----------------------------------------------------------------------------- MaskedConv2d


def naive_masked_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """out[b, o, i, j] = bias[o] + Σ weight·mask·x over the k×k window centred at (i, j), zero outside."""
    b, c_in, h, w = x.shape
    c_out, _, k, _ = weight.shape
    p = k // 2
    out = torch.empty(b, c_out, h, w, dtype=x.dtype)
    for n, o, i, j in itertools.product(range(b), range(c_out), range(h), range(w)):
        total = bias[o].clone()
        for c, di, dj in itertools.product(range(c_in), range(k), range(k)):
            ii, jj = i + di - p, j + dj - p
            if 0 <= ii < h and 0 <= jj < w:
                total += weight[o, c, di, dj] * mask[o, c, di, dj] * x[n, c, ii, jj]
        out[n, o, i, j] = total
    return out


def _ref_layer(k: int, mask_type: str, c_in: int, c_out: int, groups: int, seed: int) -> nn.Module:
    layer = ref.MaskedConv2d(c_in, c_out, k, mask_type, groups).to(F64)
    layer.load_state_dict({"weight": _randn((c_out, c_in, k, k), seed), "bias": _randn((c_out,), seed + 1)})
    return layer


@pytest.mark.parametrize("mask_type", ["A", "B"])
@pytest.mark.parametrize(("k", "c_in", "c_out", "groups"), CONFIGS)
def test_masked_conv_matches_naive_loop(k: int, c_in: int, c_out: int, groups: int, mask_type: str) -> None:
    layer = _ref_layer(k, mask_type, c_in, c_out, groups, seed=k + c_in)
    x = _randn((2, c_in, 4, 3), seed=7)
    with torch.no_grad():
        got = layer(x)
    expected = naive_masked_conv(x, layer.weight.detach(), layer.bias.detach(), naive_mask(k, mask_type, c_in, c_out, groups).to(F64))
    assert got.dtype == F64
    torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-12)
    assert set(layer.state_dict()) == {"weight", "bias"}


def test_stack_of_layers_is_causal_by_perturbation() -> None:
    """Type A first, then type B: changing the image at or after pixel t (in raster order, from
    the own colour group on) leaves the stack's output for t's earlier groups and pixels unchanged."""
    groups, h, w = 3, 4, 4
    stack = nn.Sequential(
        _ref_layer(3, "A", 3, 6, groups, seed=1), nn.Tanh(), _ref_layer(3, "B", 6, 6, groups, seed=2), nn.Tanh(), _ref_layer(1, "B", 6, 3, groups, seed=3)
    )
    x = _randn((1, 3, h, w), seed=4)
    with torch.no_grad():
        base = stack(x)
        positions = props.raster_positions(3, h, w)
        for t in range(len(positions)):
            changed = x.clone()
            for cc, ii, jj in positions[t:]:  # value t and everything after it
                changed[0, cc, ii, jj] += 1.0 + t
            out = stack(changed)
            for cc, ii, jj in positions[: t + 1]:  # outputs predicting values 0 … t
                assert out[0, cc, ii, jj] == base[0, cc, ii, jj], (t, (cc, ii, jj))
            if t + 1 < len(positions):  # …while some later output does depend on the change
                assert not torch.equal(out, base), t


def test_masked_conv_gradcheck_and_masked_weight_gradient() -> None:
    layer = _ref_layer(3, "B", 4, 2, 2, seed=5)
    x = _randn((2, 4, 3, 4), seed=6).requires_grad_(True)
    assert torch.autograd.gradcheck(layer, (x,))
    layer(x).square().sum().backward()
    mask = naive_mask(3, "B", 4, 2, 2).to(F64)
    assert bool((layer.weight.grad[mask == 0] == 0).all())
    assert bool((layer.weight.grad[mask == 1] != 0).all())


def test_mask_holds_after_optimizer_steps() -> None:
    """A real optimizer (Adam, with weight decay) changes masked weights in storage, yet the output
    stays the convolution with weight · mask, so the layer stays causal."""
    layer = _ref_layer(3, "A", 3, 3, 3, seed=8)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.1, weight_decay=0.5)
    x = _randn((2, 3, 4, 4), seed=9)
    for _ in range(3):
        optimizer.zero_grad()
        layer(x).sum().backward()
        optimizer.step()
    mask = naive_mask(3, "A", 3, 3, 3).to(F64)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), naive_masked_conv(x, layer.weight, layer.bias, mask), rtol=1e-12, atol=1e-12)
    assert set(layer.state_dict()) == {"weight", "bias"}


# ----------------------------------------------------------------------------- sample


def naive_sample_deterministic(model: nn.Module, shape: tuple[int, int, int, int]) -> torch.Tensor:
    """For a model with one-hot logits: the value at each pixel is the argmax, computed with the
    later pixels still zero (a flat raster index over the (H, W, C) layout)."""
    b, c, h, w = shape
    image = torch.zeros(b, h, w, c)  # channels last: raster order is the flat index order
    for t in range(h * w * c):
        i, j, cc = t // (w * c), (t // c) % w, t % c
        logits = model(image.permute(0, 3, 1, 2))
        image[:, i, j, cc] = logits[:, cc, :, i, j].argmax(dim=1).float()
    return image.permute(0, 3, 1, 2)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 2, 2), (3, 1, 3, 4), (2, 2, 3, 1)])
@pytest.mark.parametrize("logits_dtype", [torch.float32, F64])
def test_sample_matches_naive_loop_on_deterministic_models(shape: tuple[int, int, int, int], logits_dtype: torch.dtype) -> None:
    for seed in range(3):
        model = fixtures.PrefixHashModel(*shape[1:], 5, seed, logits_dtype)
        got = ref.sample(model, shape, 5, torch.Generator().manual_seed(seed))
        assert got.dtype == torch.get_default_dtype() and not got.requires_grad
        assert torch.equal(got, naive_sample_deterministic(model, shape))


def test_sample_calls_the_model_once_per_value() -> None:
    model = fixtures.CallCounterModel(2 * 3 * 4 + 1)
    got = ref.sample(model, (2, 2, 3, 4), 2 * 3 * 4 + 1, torch.Generator().manual_seed(0))
    assert model.calls == 2 * 3 * 4
    expected = (torch.arange(3 * 4 * 2).reshape(3, 4, 2).permute(2, 0, 1) + 1).float()  # call number of each draw
    assert torch.equal(got, expected.expand(2, 2, 3, 4))


def _exact_joint(model: nn.Module, c: int, h: int, w: int, num_values: int) -> dict[tuple[int, ...], float]:
    """p(image) for every image, by the chain rule with torch.distributions.Categorical, one image at a time."""
    probs = {}
    for values in itertools.product(range(num_values), repeat=c * h * w):
        image = torch.zeros(1, h, w, c)
        log_p = 0.0
        for t, v in enumerate(values):
            i, j, cc = t // (w * c), (t // c) % w, t % c
            logits = model(image.permute(0, 3, 1, 2))[0, cc, :, i, j].double()
            log_p += float(torch.distributions.Categorical(logits=logits).log_prob(torch.tensor(v)))
            image[0, i, j, cc] = v
        probs[values] = math.exp(log_p)
    return probs


@pytest.mark.parametrize(("chw", "num_values", "seed"), [((1, 2, 2), 3, 0), ((2, 1, 2), 2, 1), ((3, 1, 1), 3, 2)])
def test_sample_joint_distribution_is_the_chain_rule(chw: tuple[int, int, int], num_values: int, seed: int) -> None:
    model = gs.pixel_logits_model(chw, num_values, F64, seed, coupling_scale=3.0)
    exact = _exact_joint(model, *chw, num_values)
    assert math.isclose(sum(exact.values()), 1.0, rel_tol=1e-12)
    expected = props.joint_probabilities(model, chw, num_values)  # the properties' own enumeration agrees
    torch.testing.assert_close(expected, torch.tensor(list(exact.values()), dtype=F64), rtol=1e-10, atol=1e-12)
    draws = ref.sample(model, (props.DRAWS, *chw), num_values, torch.Generator().manual_seed(seed))
    counts = torch.bincount(props.image_codes(draws, num_values), minlength=len(exact))
    # A Chernoff bound per image with a union bound: a correct sampler fails with probability < 1e-9.
    table = [(str(k), int(counts[n]), props.DRAWS, p) for n, (k, p) in enumerate(exact.items())]
    assert implausible(table) is None


def test_sample_marginals_follow_softmax() -> None:
    model = gs.pixel_logits_model((2, 3, 3), 4, F64, 3)
    draws = ref.sample(model, (props.DRAWS, 2, 3, 3), 4, torch.Generator().manual_seed(3))
    counts = F.one_hot(draws.long(), 4).sum(dim=0)  # (C, H, W, V)
    probs = model.base.softmax(dim=1).permute(0, 2, 3, 1)  # (C, H, W, V)
    table = [(str(index), int(counts[index]), props.DRAWS, float(probs[index])) for index in itertools.product(range(2), range(3), range(3), range(4))]
    assert implausible(table) is None  # false failure < 1e-9, as in the properties


# ----------------------------------------------------------------------------- more wrong variants


@pytest.mark.parametrize(("key", "wrong"), list(EXTRA.items()), ids=[f"{e}:{p}" for e, p in EXTRA])
def test_extra_wrong_variants_are_caught(key: tuple[str, str], wrong: object) -> None:
    exercise_id, prop = key
    assert prop in failed_properties(grade_impl(exercise_id, wrong, only=prop))
