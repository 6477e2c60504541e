"""Reference solutions: adversarial training (q10–q15, q37)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """mean(softplus(−real)) + mean(softplus(fake)): BCE-with-logits against 1 and 0 (q10, q12).

    real_logits: (B_real,) or (B_real, 1); fake_logits: (B_fake,) or (B_fake, 1) → scalar.
    """
    # −log σ(l) = softplus(−l) and −log(1 − σ(l)) = softplus(l): never log of a probability
    # that has rounded to 0, so the loss stays finite for logits of ±100.
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: Tensor, non_saturating: bool = True) -> Tensor:
    """Generator loss on the discriminator's logits for fakes (q11, q12, q14).

    non_saturating: mean(softplus(−fake)) = −log D(G(z));
    saturating: mean(−softplus(fake)) = log(1 − D(G(z))), the minimax term G minimizes.
    fake_logits: (B,) or (B, 1) → scalar.
    """
    if non_saturating:
        # Its gradient −σ(−l) stays near −1 when D confidently rejects fakes (l ≪ 0).
        return F.softplus(-fake_logits).mean()
    # Its gradient −σ(l) vanishes exactly there: early in training G learns almost nothing.
    return -F.softplus(fake_logits).mean()


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, alpha: Tensor, weight: float = 10.0) -> Tensor:
    """WGAN-GP: weight · mean_b(‖∇x̂ critic(x̂)_b‖₂ − 1)² at x̂ = real + alpha·(fake − real) (q37).

    real, fake: (B, ...); alpha: (B,), broadcast over the non-batch dims; the critic is
    per-sample and returns (B,) or (B, 1). Differentiable w.r.t. the critic's parameters.
    """
    b = real.shape[0]
    a = alpha.reshape(b, *([1] * (real.dim() - 1)))  # (B, 1, ..., 1): one alpha per sample
    # A fresh leaf: the penalty needs the gradient w.r.t. the point itself; the generator is
    # not trained through the penalty, so real and fake need no gradient.
    x_hat = (real + a * (fake - real)).detach().requires_grad_(True)
    scores = critic(x_hat).reshape(b)  # (B,), whether the critic returns (B,) or (B, 1)
    # Sum, not mean: score b depends on x̂_b only, so ∂(Σ scores)/∂x̂_b is sample b's own
    # gradient. create_graph=True keeps the graph so the penalty can train the critic.
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norms = grad.flatten(1).norm(dim=1)  # (B,): the norm over all non-batch dims
    return weight * (norms - 1).square().mean()


def minibatch_stddev(x: Tensor, group_size: int = 4, eps: float = 1e-8) -> Tensor:
    """ProGAN / StyleGAN2 minibatch standard deviation, one extra channel (q13, q37).

    x: (B, C, H, W) → (B, C+1, H, W). G = min(group_size, B) divides B; sample i belongs to
    group i mod (B/G). The extra channel of sample i is the population std over its group
    (sqrt(var + eps)), averaged over C, H, W, repeated over H×W.
    """
    b, c, h, w = x.shape
    g = min(group_size, b)
    m = b // g  # number of groups
    # Sample i = k·M + j sits at [k, j]: groups are strided, j = i mod M (as in StyleGAN2).
    y = x.reshape(g, m, c, h, w)  # (G, M, C, H, W)
    var = (y - y.mean(dim=0)).square().mean(dim=0)  # (M, C, H, W): population variance over the group
    std = (var + eps).sqrt()  # eps inside the root: finite gradient for a constant group
    stat = std.mean(dim=(1, 2, 3))  # (M,): one number per group
    stat = stat.repeat(g)  # (B,): entry i is stat[i mod M]
    channel = stat.reshape(b, 1, 1, 1).expand(b, 1, h, w)  # (B, 1, H, W)
    return torch.cat([x, channel], dim=1)  # (B, C+1, H, W)


def concat_condition(x: Tensor, labels: Tensor, num_classes: int) -> Tensor:
    """Conditional-GAN input: one-hot labels concatenated after x along dim 1 (q15).

    labels: (B,) int64 in [0, num_classes). x: (B, D) → (B, D+K);
    x: (B, C, H, W) → (B, C+K, H, W), each one-hot value repeated over H×W. x's dtype.
    """
    # num_classes explicitly: one_hot would otherwise infer K from the largest label present.
    onehot = F.one_hot(labels, num_classes).to(dtype=x.dtype)  # (B, K)
    if x.dim() == 4:
        b, _, h, w = x.shape
        onehot = onehot.reshape(b, num_classes, 1, 1).expand(b, num_classes, h, w)  # (B, K, H, W)
    return torch.cat([x, onehot], dim=1)


def r1_penalty(discriminator: Callable[[Tensor], Tensor], real: Tensor, gamma: float | Tensor = 10.0) -> Tensor:
    """R1 regularisation (Mescheder et al. 2018; StyleGAN2): gamma/2 · mean_b ‖∇_x D(x)_b‖² at the real samples (q14).

    real: (B, ...); the discriminator is per-sample and returns (B,) or (B, 1). The squared
    norm is over all non-batch dims; 0-d result in real's dtype. gamma: a number or a 0-d
    tensor. The gradient is taken at a detached copy of real (real is left as it was);
    differentiable w.r.t. the discriminator's parameters.
    """
    b = real.shape[0]
    # A fresh leaf, as StyleGAN2's real_img_tmp = real_img.detach().requires_grad_(True): the
    # caller's tensor keeps its flag and .grad, and no gradient flows back into the data.
    x = real.detach().requires_grad_(True)
    scores = discriminator(x).reshape(b)  # (B,), whether D returns (B,) or (B, 1)
    # Sum, not mean: score b depends on x_b only, so ∂(Σ scores)/∂x_b is sample b's own gradient.
    # create_graph=True: the penalty must train D, which needs the double backward.
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    squared_norms = grad.flatten(1).square().sum(dim=1)  # (B,): ‖∇_x D(x)_b‖² over all non-batch dims
    if isinstance(gamma, Tensor):
        gamma = gamma.to(real.dtype)  # an auxiliary number: the result keeps the data's dtype
    return gamma / 2 * squared_norms.mean()  # the ½ of the papers: gamma is "R1 weight" in StyleGAN2 configs
