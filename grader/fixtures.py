"""Objects the judge hands to the worker as call arguments (pickled judge -> worker).

The worker may import this module (unlike the properties): critics for the gradient
penalty, simple invertible transforms for flows, mock models for sampling loops. Keep
each fixture small, deterministic and free of any reference solution.
"""

from __future__ import annotations

import torch
from torch import nn

# ---- flows ----
# Invertible transforms in the course's convention (EXERCISES.md, "flows"): ``t(x)`` maps data
# towards noise and returns ``(z, log|det ∂z/∂x|)`` with the log-det of shape (B,);
# ``t.inverse(z)`` returns ``(x, log|det ∂x/∂z|)``. Each is exact in both directions, so a
# property can run a chain forward in the judge and expect the student's code to undo it.
# Log-dets are fresh tensors (never expanded views), so a student may add to them in place.


class ElementwiseAffine(nn.Module):
    """z = x·exp(log_scale) + shift, per dimension; log-det Σ log_scale for every sample."""

    def __init__(self, log_scale: torch.Tensor, shift: torch.Tensor) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(log_scale.detach().clone())
        self.shift = nn.Parameter(shift.detach().clone())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = x * torch.exp(self.log_scale) + self.shift
        return z, self.log_scale.sum().repeat(x.shape[0])

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (z - self.shift) * torch.exp(-self.log_scale)
        return x, (-self.log_scale.sum()).repeat(z.shape[0])


class Permutation(nn.Module):
    """z = x[:, perm]: volume-preserving (log-det 0), but it does not commute with other transforms."""

    def __init__(self, perm: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("perm", perm.detach().clone().long())
        self.register_buffer("inverse_perm", torch.argsort(self.perm))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x[:, self.perm], x.new_zeros(x.shape[0])

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return z[:, self.inverse_perm], z.new_zeros(z.shape[0])


class LeakyMap(nn.Module):
    """Piecewise linear: z = x for x ≥ 0, slope·x below; log-det = (number of negative entries)·log slope."""

    def __init__(self, negative_slope: float) -> None:
        super().__init__()
        if negative_slope <= 0:
            raise ValueError("negative_slope must be positive for the map to be invertible")
        self.negative_slope = float(negative_slope)
        self.log_slope = float(torch.log(torch.tensor(self.negative_slope, dtype=torch.float64)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        negative = x < 0
        z = torch.where(negative, x * self.negative_slope, x)
        return z, negative.to(x.dtype).sum(-1) * self.log_slope

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        negative = z < 0  # the map keeps signs, so the branch is read off z
        x = torch.where(negative, z / self.negative_slope, z)
        return x, negative.to(z.dtype).sum(-1) * -self.log_slope


class Asinh(nn.Module):
    """z = asinh(x), a smooth nonlinear squashing map; log-det = −½ Σ log(1 + x²)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.asinh(x), -0.5 * torch.log1p(x * x).sum(-1)

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.sinh(z)
        return x, 0.5 * torch.log1p(x * x).sum(-1)  # log cosh z = ½ log(1 + sinh² z), without overflow


class TriangularLinear(nn.Module):
    """z = x·Lᵀ + bias with L lower triangular, diagonal exp(log_diag) > 0: mixes dimensions.

    log-det = Σ log_diag (the determinant of a triangular matrix is the product of its diagonal).
    """

    def __init__(self, lower: torch.Tensor, log_diag: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        self.lower = nn.Parameter(lower.detach().clone())
        self.log_diag = nn.Parameter(log_diag.detach().clone())
        self.bias = nn.Parameter(bias.detach().clone())

    def matrix(self) -> torch.Tensor:
        return torch.tril(self.lower, diagonal=-1) + torch.diag(torch.exp(self.log_diag))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x @ self.matrix().T + self.bias, self.log_diag.sum().repeat(x.shape[0])

    def inverse(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Solve x·Lᵀ = z − bias (Lᵀ is upper triangular) instead of forming the inverse matrix.
        x = torch.linalg.solve_triangular(self.matrix().T, z - self.bias, upper=True, left=False)
        return x, (-self.log_diag.sum()).repeat(z.shape[0])


# ---- lm ----


class PrefixLM(nn.Module):
    """A tiny deterministic causal language model for decoding loops (lm.greedy_decode).

    ``logits[b, t] = bigram[ids[b, t]] + context[(ids[b, 0] + … + ids[b, t]) mod V]``: position
    t sees only its prefix (causal), and through the prefix sum all of it, so a loop that feeds
    only the last token gets other logits. Rows never mix. Its tables are buffers (nothing to
    train) drawn from ``seed`` in float64 and stored in ``dtype``; ties are practically absent.
    """

    def __init__(self, vocab_size: int, seed: int, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.vocab_size = vocab_size
        self.register_buffer("bigram", torch.randn(vocab_size, vocab_size, generator=g, dtype=torch.float64).to(dtype))
        self.register_buffer("context", torch.randn(vocab_size, vocab_size, generator=g, dtype=torch.float64).to(dtype))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        prefix = ids.cumsum(dim=-1) % self.vocab_size  # (B, L): a hash of each prefix
        return self.bigram[ids] + self.context[prefix]  # (B, L, V)

    def extra_repr(self) -> str:
        return f"vocab_size={self.vocab_size}"


# ---- gan ----
# Critics for gan.gradient_penalty: per-sample (score b depends on sample b only), any input
# shape (B, ...) flattened to (B, F). Parameters are created in float64; call .to(dtype).


class MLPCritic(nn.Module):
    """A smooth critic: flatten, linear, tanh, linear. Returns (B, 1), or (B,) with squeeze=True.

    tanh makes the input-gradient depend on the point and on every weight, so the penalty's
    gradient w.r.t. the parameters needs the double backward (create_graph=True).
    """

    def __init__(self, features: int, hidden: int = 6, seed: int = 0, squeeze: bool = False) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        # Scaled so that input-gradient norms are of order 1, where the penalty is informative.
        self.w1 = nn.Parameter(torch.randn(hidden, features, generator=g, dtype=torch.float64) / features**0.5)
        self.b1 = nn.Parameter(0.5 * torch.randn(hidden, generator=g, dtype=torch.float64))
        self.w2 = nn.Parameter(1.5 * torch.randn(1, hidden, generator=g, dtype=torch.float64) / hidden**0.5)
        self.b2 = nn.Parameter(torch.zeros(1, dtype=torch.float64))
        self.squeeze = squeeze

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(x.flatten(1) @ self.w1.T + self.b1)  # (B, hidden)
        scores = h @ self.w2.T + self.b2  # (B, 1)
        return scores.squeeze(1) if self.squeeze else scores


class LinearCritic(nn.Module):
    """critic(x) = ⟨weight, flatten(x)⟩ + bias: its gradient is ``weight`` at every point.

    So the penalty is weight_coef·(‖weight‖ − 1)² exactly, and 0 for a unit weight vector.
    Returns (B,), or (B, 1) with squeeze=False.
    """

    def __init__(self, weight: torch.Tensor, bias: float = 0.0, squeeze: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone())  # (F,)
        self.bias = nn.Parameter(torch.tensor(bias, dtype=weight.dtype))
        self.squeeze = squeeze

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = x.flatten(1) @ self.weight + self.bias  # (B,)
        return scores if self.squeeze else scores.unsqueeze(1)


# ---- pixelcnn ----
# Mock autoregressive image models for pixelcnn.sample: ``model(x)`` maps x (B, C, H, W), holding
# integer values as floats, to logits (B, C, V, H, W). None has learned anything: each makes the
# sampler's behaviour show in what it draws. Tables are drawn from a seed; logits come out in
# ``logits_dtype`` (float32 or float64), whatever x's dtype.

# ±L logits: the softmax is exactly one-hot (e^(−2L) underflows to 0: e^(−120) in float32, e^(−800)
# in float64), so any correct way of drawing — multinomial, inverse CDF, Gumbel-max — picks the
# target; and a naive exp(l) / Σ exp(l) softmax still does not overflow (e^60, e^400 are finite).
SURE_LOGITS = {torch.float32: 60.0, torch.float64: 400.0}


def sure_logits(hit: torch.Tensor) -> torch.Tensor:
    """+L where ``hit`` (a 0/1 float tensor) is 1, −L elsewhere, L by hit's dtype."""
    return (2 * hit - 1) * SURE_LOGITS.get(hit.dtype, 60.0)


def one_hot_logits(target: torch.Tensor, num_values: int, dtype: torch.dtype) -> torch.Tensor:
    """Logits (B, C, V, H, W) putting all the mass on ``target`` (B, C, H, W, int64) at every pixel."""
    values = torch.arange(num_values, device=target.device).view(1, 1, -1, 1, 1)
    return sure_logits((target.unsqueeze(2) == values).to(dtype))  # (B, C, V, H, W)


class PrefixHashModel(nn.Module):
    """All the mass on one value per (b, c, i, j) — or split equally over ``ties`` consecutive values —
    a hash of what x holds so far: value = (offset[c, i, j] + b·stride[c, i, j] + Σ weight·x[b]) mod V.

    With ties = 1 the drawn image is fixed by the model, yet a value drawn from another pixel's
    logits, or from logits computed before an earlier value or after a later one was written,
    almost always comes out different. With ties = 2 the image is random but as order-dependent.
    Rows differ through b, so a sampler that mixes the rows of the batch shows too.
    """

    def __init__(self, channels: int, height: int, width: int, num_values: int, seed: int, logits_dtype: torch.dtype = torch.float32, ties: int = 1) -> None:
        super().__init__()
        if not 1 <= ties < num_values:
            raise ValueError("PrefixHashModel needs 1 ≤ ties < num_values")
        g = torch.Generator().manual_seed(seed)
        shape = (channels, height, width)
        self.num_values = num_values
        self.logits_dtype = logits_dtype
        self.ties = ties
        self.register_buffer("offset", torch.randint(num_values, shape, generator=g))
        self.register_buffer("stride", torch.randint(1, num_values, shape, generator=g))
        self.register_buffer("weight", torch.randint(1, num_values, shape, generator=g))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = (x.double() * self.weight.double()).sum(dim=(1, 2, 3))  # (B,): exact for integer-valued x
        rows = torch.arange(x.shape[0], device=x.device, dtype=torch.float64).view(-1, 1, 1, 1)
        hashed = self.offset.double() + rows * self.stride.double() + total.view(-1, 1, 1, 1)  # (B, C, H, W)
        target = torch.remainder(hashed, self.num_values).floor().long()
        values = torch.arange(self.num_values, device=x.device).view(1, 1, -1, 1, 1)
        return sure_logits(((values - target.unsqueeze(2)) % self.num_values < self.ties).to(self.logits_dtype))  # (B, C, V, H, W)

    def extra_repr(self) -> str:
        return f"num_values={self.num_values}, ties={self.ties}"


class CallCounterModel(nn.Module):
    """The n-th call (n = 1, 2, …) puts all the mass on value n mod V, at every pixel.

    The image then records after which call each value was drawn: with V > H·W·C, pixel
    (c, i, j) holds the number of the call made just before its draw. The count is a plain
    attribute, so each pickled copy (every request to the worker) starts from 0.
    """

    def __init__(self, num_values: int, logits_dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.num_values = num_values
        self.logits_dtype = logits_dtype
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        target = torch.full(tuple(x.shape), self.calls % self.num_values, dtype=torch.long, device=x.device)
        return one_hot_logits(target, self.num_values, self.logits_dtype)

    def extra_repr(self) -> str:
        return f"num_values={self.num_values}"


class PixelLogitsModel(nn.Module):
    """Soft logits that depend on the values drawn so far (a tiny autoregressive model).

    logits[b, c, :, i, j] = base[c, :, i, j] + coupling[c, :, i, j]·s_b with s_b = Σ weight·x[b].
    base, coupling: (C, V, H, W); weight: (C, H, W); the logits take base's dtype. With no
    coupling every pixel is an independent categorical, softmax(base[c, :, i, j]).
    """

    def __init__(self, base: torch.Tensor, coupling: torch.Tensor | None = None, weight: torch.Tensor | None = None) -> None:
        super().__init__()
        channels, _, height, width = base.shape
        self.register_buffer("base", base.detach().clone())
        self.register_buffer("coupling", torch.zeros_like(self.base) if coupling is None else coupling.detach().clone().to(base.dtype))
        self.register_buffer("weight", torch.zeros(channels, height, width, dtype=base.dtype) if weight is None else weight.detach().clone().to(base.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = (x.to(self.weight.dtype) * self.weight).sum(dim=(1, 2, 3))  # (B,)
        return self.base + self.coupling * s.view(-1, 1, 1, 1, 1)  # (B, C, V, H, W), a fresh tensor


class GradModeProbe(nn.Module):
    """All the mass on value 1 when called with autograd enabled, on value 0 under torch.no_grad().

    Its logits are scaled by a parameter, so with autograd on they carry a graph, as a real
    model's would; a sampler that runs without torch.no_grad() draws ones.
    """

    def __init__(self, num_values: int) -> None:
        super().__init__()
        if num_values < 2:
            raise ValueError("GradModeProbe needs num_values ≥ 2")
        self.num_values = num_values
        self.scale = nn.Parameter(torch.ones((), dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        target = torch.full(tuple(x.shape), int(torch.is_grad_enabled()), dtype=torch.long, device=x.device)
        return one_hot_logits(target, self.num_values, self.scale.dtype) * self.scale


# ---- transformer ----


class StateDict(dict):
    """A layer's parameters under their state_dict() names. The worker hands the student a
    plain dict; this subclass only gives the judge a short repr (names and shapes), so that
    the records of a failing example stay small enough for Hypothesis to print."""

    def __repr__(self) -> str:
        return "StateDict(" + ", ".join(f"{name}: {tuple(getattr(t, 'shape', ()))}" for name, t in self.items()) + ")"
