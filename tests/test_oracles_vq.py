"""Oracle tests: the vector-quantization reference agrees with independent implementations, in float64.

Oracles: diffusers `VectorQuantizer(legacy=False)` (values and gradients, with our codebook
copied into its embedding) and a loop over positions for the nearest codeword.
"""

from __future__ import annotations

import pytest
import torch
from diffusers.models.autoencoders.vae import VectorQuantizer

from grader.properties.vq import strategies as gs
from grader.reference import load_reference
from tests.harness import SOLUTIONS, failed_properties, grade_impl
from tests.wrong.vq import EXTRA

ref = load_reference(SOLUTIONS, "vq")
F64 = torch.float64


def assert_close(got: torch.Tensor, expected: torch.Tensor) -> None:
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-10)


def inputs(seed: int, shape: tuple[int, int, int, int] = (2, 3, 4, 5), k: int = 7) -> tuple[torch.Tensor, torch.Tensor]:
    z_e = gs.make_tensor(shape, F64, seed)
    codebook = gs.make_tensor((k, shape[1]), F64, seed + 1)
    assert gs.nearest_gap(z_e, codebook) > 1e-6  # no ties: the contract does not grade them
    return z_e, codebook


def diffusers_vq(codebook: torch.Tensor, beta: float, *, legacy: bool = False) -> VectorQuantizer:
    k, d = codebook.shape
    vq = VectorQuantizer(k, d, beta=beta, legacy=legacy, sane_index_shape=True).to(F64)
    with torch.no_grad():
        vq.embedding.weight.copy_(codebook)
    return vq


def reference_grads(z_e, codebook, beta, g_q, g_loss):
    z, c = z_e.clone().requires_grad_(True), codebook.clone().requires_grad_(True)
    z_q, idx, loss = ref.vector_quantize(z, c, beta)
    grads = torch.autograd.grad((z_q, loss), (z, c), (g_q, g_loss))
    return (z_q, idx, loss), grads


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("beta", [0.25, 0.5, 2.0])
def test_matches_diffusers_vector_quantizer(seed: int, beta: float) -> None:
    z_e, codebook = inputs(seed)
    g_q, g_loss = gs.make_tensor(tuple(z_e.shape), F64, seed + 2), torch.tensor(0.7, dtype=F64)
    (z_q, idx, loss), (dz, dc) = reference_grads(z_e, codebook, beta, g_q, g_loss)
    vq = diffusers_vq(codebook, beta)
    z = z_e.clone().requires_grad_(True)
    z_q_d, loss_d, (_, _, idx_d) = vq(z)
    dz_d, dc_d = torch.autograd.grad((z_q_d, loss_d), (z, vq.embedding.weight), (g_q, g_loss))
    assert torch.equal(idx, idx_d)
    assert_close(z_q, z_q_d)
    assert_close(loss, loss_d)
    assert_close(dz, dz_d)
    assert_close(dc, dc_d)


def test_the_legacy_convention_differs_in_gradients_only() -> None:
    """diffusers' legacy=True puts β on the codebook term: same values, other gradients (the oracle can tell them apart)."""
    z_e, codebook = inputs(0)
    g_q, g_loss = torch.zeros_like(z_e), torch.tensor(1.0, dtype=F64)
    (_, _, loss), (dz, dc) = reference_grads(z_e, codebook, 0.25, g_q, g_loss)
    vq = diffusers_vq(codebook, 0.25, legacy=True)
    z = z_e.clone().requires_grad_(True)
    _, loss_d, _ = vq(z)
    dz_d, dc_d = torch.autograd.grad(loss_d, (z, vq.embedding.weight))
    assert_close(loss, loss_d)
    assert not torch.allclose(dz, dz_d)
    assert_close(dc * 0.25, dc_d)


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 2, 3, 1), (1, 4, 2, 2)])
def test_nearest_codeword_by_a_loop_over_positions(shape: tuple[int, int, int, int]) -> None:
    z_e, codebook = inputs(3, shape, k=5)
    z_q, idx, _ = ref.vector_quantize(z_e, codebook)
    b, _, h, w = shape
    for i in range(b):
        for r in range(h):
            for c in range(w):
                distances = [float(((z_e[i, :, r, c] - codebook[k]) ** 2).sum()) for k in range(codebook.shape[0])]
                best = min(range(len(distances)), key=distances.__getitem__)
                assert int(idx[i, r, c]) == best
                assert_close(z_q[i, :, r, c], codebook[best])


def test_straight_through_jacobian_is_the_identity() -> None:
    z_e, codebook = inputs(4, (1, 2, 2, 2), k=3)
    jac = torch.autograd.functional.jacobian(lambda z: ref.vector_quantize(z, codebook)[0], z_e)
    assert_close(jac.reshape(z_e.numel(), z_e.numel()), torch.eye(z_e.numel(), dtype=F64))


@pytest.mark.parametrize(("key", "impl"), list(EXTRA.items()), ids=[f"{e}:{p}" for e, p in EXTRA])
def test_extra_wrong_variants_are_caught(key: tuple[str, str], impl: object) -> None:
    exercise_id, prop = key
    assert prop in failed_properties(grade_impl(exercise_id, impl, only=prop))
