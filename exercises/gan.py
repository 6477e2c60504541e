"""Exercises: adversarial training (q10–q15, q37).

Implement each function below, then run `grade gan` (or `grade q37`).
Convention: the discriminator outputs logits (no sigmoid); real = label 1, fake = label 0.
"""

from __future__ import annotations

from collections.abc import Callable

import torch  # you will need it
import torch.nn.functional as F  # you will need it
from torch import Tensor


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Scalar mean(softplus(−real)) + mean(softplus(fake)) (q10, q12).

    = BCE-with-logits of real against 1 plus BCE-with-logits of fake against 0 (no ½).
    real_logits: (B_real,) or (B_real, 1); fake_logits: (B_fake,) or (B_fake, 1); each mean
    is over its own batch. Must be finite for logits of ±100.
    Question (q12): which term of min_G max_D E[log D(x)] + E[log(1 − D(G(z)))] is each part?
    """
    # TODO(q10): the two BCE terms, computed from logits (never log of a sigmoid).
    raise NotImplementedError("gan.discriminator_loss")


def generator_loss(fake_logits: Tensor, non_saturating: bool = True) -> Tensor:
    """The generator's loss on the discriminator's logits for fakes (q11, q12, q14).

    non_saturating=True: mean(softplus(−fake)) = −log D(G(z));
    non_saturating=False: mean(−softplus(fake)) = log(1 − D(G(z))), the minimax term G minimizes.
    fake_logits: (B,) or (B, 1) → scalar; finite for logits of ±100.
    Question (q14): which of the two gives the generator a useful gradient when D rejects every fake?
    """
    # TODO(q11): both variants, from logits.
    raise NotImplementedError("gan.generator_loss")


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, alpha: Tensor, weight: float = 10.0) -> Tensor:
    """WGAN-GP: weight · mean_b(‖∇x̂ critic(x̂)_b‖₂ − 1)² (q37).

    x̂ = real + alpha·(fake − real); real, fake: (B, ...) (vectors or images); alpha: (B,),
    broadcast over the non-batch dims. The critic is per-sample and returns (B,) or (B, 1).
    The norm is over all non-batch dims of sample b's gradient. The result must be
    differentiable w.r.t. the critic's parameters (it is added to the critic's loss).
    Question (q37): what does the penalty enforce, and why at points between real and fake?
    """
    # TODO(q37): interpolate, differentiate the critic's scores w.r.t. x̂, penalise the norms.
    raise NotImplementedError("gan.gradient_penalty")


def minibatch_stddev(x: Tensor, group_size: int = 4, eps: float = 1e-8) -> Tensor:
    """ProGAN / StyleGAN2 minibatch standard deviation with one extra channel (q13, q37).

    x: (B, C, H, W) → (B, C+1, H, W). G = min(group_size, B) (B is divisible by G); sample i
    belongs to group i mod (B/G) (StyleGAN2's layout). Per group and position: the population
    std over the G samples, sqrt(var + eps); average it over C, H, W to one number per group,
    and append it as a constant channel to every sample of the group.
    Question (q13): how does this channel let the discriminator detect mode collapse?
    """
    # TODO(q13): group, population std, average, append as channel C.
    raise NotImplementedError("gan.minibatch_stddev")


def concat_condition(x: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """Conditional GAN input: one-hot labels concatenated after x along dim 1 (q15).

    labels: (B,) int64 in [0, num_classes); the one-hot is in x's dtype.
    x: (B, D) → (B, D+K); x: (B, C, H, W) → (B, C+K, H, W), each one-hot value broadcast over H×W.
    Question (q15): where else can the condition enter a conditional GAN?
    """
    # TODO(q15): one-hot with num_classes columns, broadcast for images, concatenate after x.
    raise NotImplementedError("gan.concat_condition")


def r1_penalty(discriminator: Callable[[Tensor], Tensor], real: Tensor, gamma: float | Tensor = 10.0) -> Tensor:
    """R1 regularisation (Mescheder et al. 2018; StyleGAN2): gamma/2 · mean_b ‖∇_x D(x)_b‖² at the real samples (q14).

    real: (B, ...) (vectors or images); the discriminator is per-sample and returns (B,) or
    (B, 1) logits. ‖·‖² is the squared norm over all non-batch dims of sample b's gradient;
    the result is a 0-d tensor in real's dtype. gamma: a number (or a 0-d tensor).
    Take the gradient at a detached copy of real, as StyleGAN2 does: real itself (its values,
    requires_grad flag and .grad) must stay as it was. The result must be differentiable
    w.r.t. the discriminator's parameters (it is added to the discriminator's loss).
    Question (q14): how does penalising D's gradient on real data stabilise GAN training?
    """
    # TODO(q14): a fresh leaf from real, D's input-gradient with create_graph, squared norms, gamma/2 · mean.
    raise NotImplementedError("gan.r1_penalty")
