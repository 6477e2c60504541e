"""Oracle tests: the vision-transformer reference agrees with independent implementations, in float64.

Oracles: F.unfold / F.fold for patchify and unpatchify; for embed_patches, transformers'
`ViTEmbeddings` and a timm-style strided convolution, with the course's (P·P·C, E) weight
rearranged into the convolution's (E, C, P, P) kernel; for interpolate_pos_embed, transformers'
`ViTEmbeddings.interpolate_pos_encoding` and a naive bicubic loop (timm's, where installed).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from transformers import ViTConfig
from transformers.models.vit.modeling_vit import ViTEmbeddings

from grader import strategies as gs
from grader.reference import load_reference
from tests.harness import SOLUTIONS, failed_properties, grade_impl
from tests.wrong.vit import EXTRA

ref = load_reference(SOLUTIONS, "vit")
F64 = torch.float64
SHAPES = [(2, 3, 4, 6, 2), (1, 1, 3, 3, 3), (2, 2, 6, 3, 3), (1, 3, 2, 8, 1)]  # (B, C, H, W, P), square and not


def assert_close(got: torch.Tensor, expected: torch.Tensor) -> None:
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-10)


def unfold_patches(images: torch.Tensor, p: int) -> torch.Tensor:
    """F.unfold gives (B, C·P·P, N) in (channel, row, column) order; reorder to (row, column, channel)."""
    b, c = images.shape[:2]
    cols = F.unfold(images, kernel_size=p, stride=p)  # (B, C·P·P, N), N in row-major grid order
    return cols.transpose(1, 2).reshape(b, -1, c, p, p).permute(0, 1, 3, 4, 2).reshape(b, -1, p * p * c)


def conv_kernel(weight: torch.Tensor, p: int, c: int) -> torch.Tensor:
    """The course's (P·P·C, E) weight, rows in (row, column, channel) order, as a Conv2d kernel (E, C, P, P)."""
    return weight.reshape(p, p, c, -1).permute(3, 2, 0, 1)


@pytest.mark.parametrize("shape", SHAPES)
def test_patchify_matches_unfold(shape: tuple[int, ...]) -> None:
    b, c, h, w, p = shape
    images = gs.make_tensor((b, c, h, w), F64, 0)
    assert_close(ref.patchify(images, p), unfold_patches(images, p))


@pytest.mark.parametrize("shape", SHAPES)
def test_unpatchify_matches_fold_and_inverts(shape: tuple[int, ...]) -> None:
    b, c, h, w, p = shape
    patches = gs.make_tensor((b, (h // p) * (w // p), p * p * c), F64, 1)
    cols = patches.reshape(b, -1, p, p, c).permute(0, 4, 2, 3, 1).reshape(b, c * p * p, -1)  # back to unfold's layout
    assert_close(ref.unpatchify(patches, p, c, h, w), F.fold(cols, output_size=(h, w), kernel_size=p, stride=p))
    assert_close(ref.patchify(ref.unpatchify(patches, p, c, h, w), p), patches)


def embed_inputs(shape: tuple[int, ...], e: int = 5) -> dict[str, torch.Tensor]:
    b, c, h, w, p = shape
    n = (h // p) * (w // p)
    return {
        "images": gs.make_tensor((b, c, h, w), F64, 2),
        "weight": gs.make_tensor((p * p * c, e), F64, 3),
        "bias": gs.make_tensor((e,), F64, 4),
        "cls_token": gs.make_tensor((e,), F64, 5),
        "pos_embed": gs.make_tensor((n + 1, e), F64, 6),
    }


@pytest.mark.parametrize("shape", SHAPES)
def test_embed_patches_matches_transformers_vit_embeddings(shape: tuple[int, ...]) -> None:
    _, c, h, w, p = shape
    a = embed_inputs(shape)
    e = a["weight"].shape[1]
    config = ViTConfig(image_size=(h, w), patch_size=p, num_channels=c, hidden_size=e, hidden_dropout_prob=0.0)
    vit = ViTEmbeddings(config).to(F64).eval()
    with torch.no_grad():
        vit.patch_embeddings.projection.weight.copy_(conv_kernel(a["weight"], p, c))
        vit.patch_embeddings.projection.bias.copy_(a["bias"])
        vit.cls_token.copy_(a["cls_token"].reshape(1, 1, e))
        vit.position_embeddings.copy_(a["pos_embed"][None])
        expected = vit(a["images"])
    assert_close(ref.embed_patches(a["images"], p, a["weight"], a["bias"], a["cls_token"], a["pos_embed"]), expected)


@pytest.mark.parametrize("shape", SHAPES)
def test_embed_patches_matches_a_timm_style_conv_and_its_gradients(shape: tuple[int, ...]) -> None:
    b, c, _, _, p = shape
    a = {k: v.clone().requires_grad_(True) for k, v in embed_inputs(shape).items()}

    def timm_style() -> torch.Tensor:
        tokens = F.conv2d(a["images"], conv_kernel(a["weight"], p, c), a["bias"], stride=p).flatten(2).transpose(1, 2)  # (B, N, E)
        cls = a["cls_token"].expand(b, 1, -1)
        return torch.cat([cls, tokens], dim=1) + a["pos_embed"]

    got = ref.embed_patches(a["images"], p, a["weight"], a["bias"], a["cls_token"], a["pos_embed"])
    expected = timm_style()
    assert_close(got, expected)
    g = gs.make_tensor(tuple(got.shape), F64, 7)
    leaves = list(a.values())
    for got_grad, expected_grad in zip(torch.autograd.grad(got, leaves, g), torch.autograd.grad(expected, leaves, g)):
        assert_close(got_grad, expected_grad)


# ----------------------------------------------------------------------------- interpolate_pos_embed
#
# timm's resample_abs_pos_embed is not an oracle here: timm's layers import torchvision, whose
# install would pull another torch build over the CPU one. transformers' ViT resizes the same
# way (bicubic, align_corners=False, no antialias) for square pretrained grids, and a naive
# bicubic loop (Keys' kernel, a = −0.75, as PyTorch) checks every grid.


def _keys_cubic(x: float, a: float = -0.75) -> float:
    x = abs(x)
    if x <= 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return 0.0


def _bicubic_weights(n_in: int, n_out: int) -> torch.Tensor:
    """(n_out, n_in): PyTorch's bicubic resize along one axis with align_corners=False: half-pixel
    centres, four taps, indices clamped at the border."""
    m = torch.zeros(n_out, n_in, dtype=F64)
    for i in range(n_out):
        src = (i + 0.5) * n_in / n_out - 0.5
        x0 = int(src // 1)
        t = src - x0
        for k, weight in zip(range(x0 - 1, x0 + 3), (_keys_cubic(t + 1), _keys_cubic(t), _keys_cubic(1 - t), _keys_cubic(2 - t))):
            m[i, min(max(k, 0), n_in - 1)] += weight
    return m


def _pos_loop(pos: torch.Tensor, old: tuple[int, int], new: tuple[int, int], prefix: int) -> torch.Tensor:
    """Separable bicubic resize by explicit matrices, one embedding dim at a time."""
    (h, w), (nh, nw) = old, new
    rows, cols = _bicubic_weights(h, nh), _bicubic_weights(w, nw)
    out = torch.zeros(nh * nw, pos.shape[1], dtype=F64)
    for e in range(pos.shape[1]):
        image = torch.tensor([[float(pos[prefix + r * w + c, e]) for c in range(w)] for r in range(h)], dtype=F64)  # cell (r, c) = row r·W + c
        out[:, e] = (rows @ image @ cols.T).reshape(-1)
    return torch.cat([pos[:prefix], out])


GRIDS = [((3, 3), (5, 5), 1), ((4, 4), (2, 2), 1), ((2, 3), (5, 4), 0), ((5, 2), (3, 7), 2), ((1, 4), (3, 1), 1), ((3, 4), (3, 4), 1)]


@pytest.mark.parametrize(("old", "new", "prefix"), GRIDS)
def test_interpolate_pos_embed_matches_a_naive_bicubic_loop_and_its_gradient(old: tuple[int, int], new: tuple[int, int], prefix: int) -> None:
    pos = gs.make_tensor((prefix + old[0] * old[1], 3), F64, 11).requires_grad_(True)
    got = ref.interpolate_pos_embed(pos, old, new, prefix)
    assert got.dtype == F64 and got.shape == (prefix + new[0] * new[1], 3)
    expected = _pos_loop(pos.detach(), old, new, prefix)
    assert_close(got, expected)
    # The resize is linear: its gradient is the transpose of the same separable matrices.
    g = gs.make_tensor(tuple(got.shape), F64, 12)
    (grad,) = torch.autograd.grad(got, pos, g)
    rows, cols = _bicubic_weights(old[0], new[0]), _bicubic_weights(old[1], new[1])
    grid_grad = torch.einsum("ir,jc,ije->rce", rows, cols, g[prefix:].reshape(new[0], new[1], 3)).reshape(-1, 3)
    assert_close(grad, torch.cat([g[:prefix], grid_grad]))


@pytest.mark.parametrize(("side", "new"), [(3, (5, 5)), (4, (2, 6)), (2, (7, 3))])
def test_interpolate_pos_embed_matches_transformers_vit(side: int, new: tuple[int, int]) -> None:
    p, e = 2, 4
    pos = gs.make_tensor((1 + side * side, e), F64, 13)
    config = ViTConfig(image_size=side * p, patch_size=p, num_channels=1, hidden_size=e, hidden_dropout_prob=0.0)
    vit = ViTEmbeddings(config).to(F64).eval()
    with torch.no_grad():
        vit.position_embeddings.copy_(pos[None])
        expected = vit.interpolate_pos_encoding(torch.zeros(1, 1 + new[0] * new[1], e, dtype=F64), new[0] * p, new[1] * p)[0]
    assert_close(ref.interpolate_pos_embed(pos, (side, side), new), expected)


def test_interpolate_pos_embed_equal_grids_return_the_input_values() -> None:
    pos = gs.make_tensor((1 + 12, 5), F64, 14)
    assert_close(ref.interpolate_pos_embed(pos, (3, 4), (3, 4)), pos)
    assert torch.equal(ref.interpolate_pos_embed(pos.float(), (3, 4), (3, 4)), pos.float())


def test_interpolate_pos_embed_matches_timm_when_installed() -> None:
    timm_pos_embed = pytest.importorskip("timm.layers.pos_embed", reason="timm (and the torchvision it imports) is not installed")
    pos = gs.make_tensor((1 + 6, 4), torch.float32, 15)
    expected = timm_pos_embed.resample_abs_pos_embed(pos[None], new_size=[4, 5], old_size=[2, 3], num_prefix_tokens=1, antialias=False)[0]
    torch.testing.assert_close(ref.interpolate_pos_embed(pos, (2, 3), (4, 5)), expected)


@pytest.mark.parametrize(("key", "impl"), list(EXTRA.items()), ids=[f"{e}:{p}" for e, p in EXTRA])
def test_extra_wrong_variants_are_caught(key: tuple[str, str], impl: object) -> None:
    exercise_id, prop = key
    assert prop in failed_properties(grade_impl(exercise_id, impl, only=prop))
