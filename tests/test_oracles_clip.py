"""The clip reference solutions agree with independent implementations, in float64.

Oracles: a naive loop over rows with math.exp/math.log; F.cross_entropy through
transformers' image_text_contrastive_loss on logits computed with numpy; a tiny randomly
initialised transformers CLIPModel (its loss and logits_per_image); finite differences
(torch.autograd.gradcheck) for the gradients, logit_scale included.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from grader import strategies as gs
from grader.reference import load_reference
from tests.harness import SOLUTIONS

ref = load_reference(SOLUTIONS, "clip")
F64 = torch.float64
CASES = [(1, 3, 0.0, 0), (2, 1, 1.0, 1), (4, 5, 2.3, 2), (6, 4, -0.5, 3), (8, 8, math.log(100.0), 4)]


def _cosines(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    def unit(v: list[float]) -> list[float]:
        norm = math.sqrt(sum(x * x for x in v))
        return [x / norm for x in v]

    ua, ub = [unit(v) for v in a], [unit(v) for v in b]
    return [[sum(x * y for x, y in zip(u, w, strict=True)) for w in ub] for u in ua]


def _cross_entropy_row(logits: list[float], target: int) -> float:
    top = max(logits)
    return top + math.log(sum(math.exp(v - top) for v in logits)) - logits[target]


def naive_clip_loss(image: list[list[float]], text: list[list[float]], logit_scale: float) -> float:
    """½[mean_i CE(row i, i) + mean_j CE(column j, j)] with plain loops."""
    s = math.exp(logit_scale)
    logits = [[s * c for c in row] for row in _cosines(image, text)]
    n = len(logits)
    rows = sum(_cross_entropy_row(logits[i], i) for i in range(n)) / n
    columns = sum(_cross_entropy_row([logits[i][j] for i in range(n)], j) for j in range(n)) / n
    return (rows + columns) / 2


def naive_zero_shot_probs(image: list[list[float]], classes: list[list[float]], logit_scale: float) -> list[list[float]]:
    s = math.exp(logit_scale)
    probs = []
    for row in _cosines(image, classes):
        weights = [math.exp(s * c - s * max(row)) for c in row]
        probs.append([w / sum(weights) for w in weights])
    return probs


def _pairs(n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    image = gs.make_tensor((n, d), F64, seed)
    return image, image + gs.make_tensor((n, d), F64, seed + 1)


# ----------------------------------------------------------------------------- clip_loss


@pytest.mark.parametrize(("n", "d", "logit_scale", "seed"), CASES)
def test_clip_loss_matches_naive_loop(n: int, d: int, logit_scale: float, seed: int) -> None:
    image, text = _pairs(n, d, seed)
    expected = naive_clip_loss(image.tolist(), text.tolist(), logit_scale)
    assert float(ref.clip_loss(image, text, logit_scale)) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert float(ref.clip_loss(image, text, torch.tensor(logit_scale, dtype=F64))) == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize(("n", "d", "logit_scale", "seed"), CASES)
def test_clip_loss_matches_transformers_contrastive_loss(n: int, d: int, logit_scale: float, seed: int) -> None:
    from transformers.models.clip.modeling_clip import image_text_contrastive_loss

    image, text = _pairs(n, d, seed)
    i = image.numpy() / np.linalg.norm(image.numpy(), axis=1, keepdims=True)
    t = text.numpy() / np.linalg.norm(text.numpy(), axis=1, keepdims=True)
    logits_per_text = torch.from_numpy(math.exp(logit_scale) * t @ i.T)  # as CLIPModel builds them
    expected = float(image_text_contrastive_loss(logits_per_text))
    assert float(ref.clip_loss(image, text, logit_scale)) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_clip_loss_gradients_match_finite_differences() -> None:
    image, text = _pairs(4, 3, 7)
    leaves = (image.requires_grad_(True), text.requires_grad_(True), torch.tensor(1.3, dtype=F64, requires_grad=True))
    assert torch.autograd.gradcheck(ref.clip_loss, leaves)


# ----------------------------------------------------------------------------- zero_shot_probs


@pytest.mark.parametrize(("n", "k", "d", "logit_scale", "seed"), [(1, 1, 2, 0.0, 0), (3, 5, 4, 2.0, 1), (5, 2, 8, math.log(100.0), 2), (2, 7, 1, -1.0, 3)])
def test_zero_shot_probs_matches_naive_loop(n: int, k: int, d: int, logit_scale: float, seed: int) -> None:
    image, classes = gs.make_tensor((n, d), F64, seed), gs.make_tensor((k, d), F64, seed + 1)
    expected = torch.tensor(naive_zero_shot_probs(image.tolist(), classes.tolist(), logit_scale), dtype=F64)
    torch.testing.assert_close(ref.zero_shot_probs(image, classes, logit_scale), expected, rtol=1e-12, atol=1e-12)


def test_zero_shot_probs_gradients_match_finite_differences() -> None:
    image, classes = gs.make_tensor((3, 4), F64, 8), gs.make_tensor((5, 4), F64, 9)
    leaves = (image.requires_grad_(True), classes.requires_grad_(True), torch.tensor(0.7, dtype=F64, requires_grad=True))
    assert torch.autograd.gradcheck(ref.zero_shot_probs, leaves)


# ----------------------------------------------------------------------------- both, against a CLIPModel


@pytest.fixture(scope="module")
def tiny_clip() -> torch.nn.Module:
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    config = transformers.CLIPConfig(
        text_config={"vocab_size": 50, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 16, "bos_token_id": 48, "eos_token_id": 49, "pad_token_id": 0},
        vision_config={"image_size": 8, "patch_size": 4, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2},
        projection_dim=8,
    )
    return transformers.CLIPModel(config).to(F64).eval()


def _embeddings(output: object) -> torch.Tensor:
    # get_*_features return the projected embeddings, wrapped in a model output in recent versions.
    return getattr(output, "pooler_output", output)


def test_matches_transformers_clip_model(tiny_clip: torch.nn.Module) -> None:
    g = gs.generator(10)
    input_ids = torch.randint(1, 48, (4, 6), generator=g)
    input_ids[:, -1] = 49  # the end-of-text token CLIP pools the text at
    pixel_values = torch.randn((4, 3, 8, 8), generator=g, dtype=F64)
    with torch.no_grad():
        out = tiny_clip(input_ids=input_ids, pixel_values=pixel_values, return_loss=True)
        image = _embeddings(tiny_clip.get_image_features(pixel_values=pixel_values))
        text = _embeddings(tiny_clip.get_text_features(input_ids=input_ids))
        logit_scale = tiny_clip.logit_scale.detach()
        torch.testing.assert_close(ref.clip_loss(image, text, logit_scale), out.loss, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(ref.zero_shot_probs(image, text, logit_scale), out.logits_per_image.softmax(dim=1), rtol=1e-12, atol=1e-12)
