"""Oracle tests: the vision-transformer reference agrees with independent implementations, in float64.

Oracles: F.unfold / F.fold for patchify and unpatchify; for embed_patches, transformers'
`ViTEmbeddings` and a timm-style strided convolution, with the course's (P·P·C, E) weight
rearranged into the convolution's (E, C, P, P) kernel.
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


@pytest.mark.parametrize(("key", "impl"), list(EXTRA.items()), ids=[f"{e}:{p}" for e, p in EXTRA])
def test_extra_wrong_variants_are_caught(key: tuple[str, str], impl: object) -> None:
    exercise_id, prop = key
    assert prop in failed_properties(grade_impl(exercise_id, impl, only=prop))
