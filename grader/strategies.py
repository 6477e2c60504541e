"""Shared Hypothesis strategies for the property tests.

Dimensions are drawn first and kept small (1–8) so that a failure shrinks to something a
student can read. Tensor values come from a drawn seed: Hypothesis shrinks the shape and
the seed, and the tensor stays reproducible from them.
"""

from __future__ import annotations

from typing import Any

import torch
from hypothesis import strategies as st

FLOAT_DTYPES = (torch.float32, torch.float64)


def dims(min_value: int = 1, max_value: int = 8) -> st.SearchStrategy[int]:
    """A small dimension."""
    return st.integers(min_value, max_value)


def float_dtypes() -> st.SearchStrategy[torch.dtype]:
    """float32 or float64 (float32 first, so failures shrink to it)."""
    return st.sampled_from(FLOAT_DTYPES)


def seeds() -> st.SearchStrategy[int]:
    return st.integers(0, 2**31 - 1)


def generator(seed: int) -> torch.Generator:
    """A CPU generator seeded for one example."""
    return torch.Generator().manual_seed(seed)


def make_tensor(shape: tuple[int, ...], dtype: torch.dtype, seed: int, *, scale: float = 1.0, low: float | None = None, high: float | None = None) -> torch.Tensor:
    """A reproducible tensor: standard normal times ``scale``, or uniform in [low, high)."""
    g = generator(seed)
    if low is not None and high is not None:
        t = torch.rand(shape, generator=g, dtype=torch.float64) * (high - low) + low
    else:
        t = torch.randn(shape, generator=g, dtype=torch.float64) * scale
    return t.to(dtype)


@st.composite
def tensors(draw: st.DrawFn, shape: tuple[int, ...], *, dtype: torch.dtype | None = None, scale: float = 1.0, low: float | None = None, high: float | None = None) -> torch.Tensor:
    """A tensor of a given shape; dtype drawn unless given."""
    dtype = dtype or draw(float_dtypes())
    return make_tensor(shape, dtype, draw(seeds()), scale=scale, low=low, high=high)


@st.composite
def shapes(draw: st.DrawFn, *, min_dims: int = 1, max_dims: int = 3, min_side: int = 1, max_side: int = 6) -> tuple[int, ...]:
    """A small tensor shape."""
    n = draw(st.integers(min_dims, max_dims))
    return tuple(draw(dims(min_side, max_side)) for _ in range(n))


@st.composite
def batch_shapes(draw: st.DrawFn, *, max_dims: int = 2) -> tuple[int, ...]:
    """Leading batch dimensions (possibly none), e.g. () or (B,) or (B, H)."""
    n = draw(st.integers(0, max_dims))
    return tuple(draw(dims(1, 4)) for _ in range(n))


@st.composite
def attention_inputs(draw: st.DrawFn, *, with_mask: bool | None = None) -> dict[str, Any]:
    """q (..., Lq, d), k (..., Lk, d), v (..., Lk, dv) and an optional bool mask (True = attend).

    Every query row keeps at least one key: fully masked rows are outside the contract.
    """
    batch = draw(batch_shapes())
    lq, lk, d, dv = draw(dims()), draw(dims()), draw(dims()), draw(dims())
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    q = make_tensor((*batch, lq, d), dtype, seed)
    k = make_tensor((*batch, lk, d), dtype, seed + 1)
    v = make_tensor((*batch, lk, dv), dtype, seed + 2)
    use_mask = draw(st.booleans()) if with_mask is None else with_mask
    mask = None
    if use_mask:
        mask = torch.rand((*batch, lq, lk), generator=generator(seed + 3)) < 0.7
        mask[..., 0] = True  # every query may attend to at least one key
    return {"q": q, "k": k, "v": v, "mask": mask}


@st.composite
def gaussian_params(draw: st.DrawFn, *, max_abs_logvar: float = 4.0) -> dict[str, Any]:
    """mu and logvar of a diagonal Gaussian posterior, (B, D)."""
    b, d = draw(dims()), draw(dims())
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    mu = make_tensor((b, d), dtype, seed, scale=2.0)
    logvar = make_tensor((b, d), dtype, seed + 1, low=-max_abs_logvar, high=max_abs_logvar)
    return {"mu": mu, "logvar": logvar}


# ---- attention ----


def attend_masks(shape: tuple[int, ...], seed: int, *, p: float = 0.7) -> torch.Tensor:
    """A bool mask (..., Lq, Lk), True = may attend, in which every query row keeps at least one key.

    The kept key is drawn per row, so a correct result never relies on key 0 being visible.
    """
    mask = torch.rand(shape, generator=generator(seed)) < p
    keep = torch.randint(shape[-1], (*shape[:-1], 1), generator=generator(seed + 1))  # one key per row
    return mask.scatter(-1, keep, True)


@st.composite
def causal_mask_sizes(draw: st.DrawFn, *, max_len: int = 8) -> tuple[int, int]:
    """(q_len, k_len) with 1 ≤ q_len ≤ k_len: the queries are the last q_len of k_len positions."""
    k_len = draw(dims(1, max_len))
    return draw(dims(1, k_len)), k_len


def mha_parameters(embed_dim: int, dtype: torch.dtype, seed: int) -> dict[str, torch.Tensor]:
    """Packed nn.MultiheadAttention parameters; weights scaled by 1/√E so that scores are O(1), not saturated."""
    w = embed_dim**-0.5
    return {
        "in_proj_weight": make_tensor((3 * embed_dim, embed_dim), dtype, seed, scale=w),
        "in_proj_bias": make_tensor((3 * embed_dim,), dtype, seed + 1, scale=0.3),
        "out_proj_weight": make_tensor((embed_dim, embed_dim), dtype, seed + 2, scale=w),
        "out_proj_bias": make_tensor((embed_dim,), dtype, seed + 3, scale=0.3),
    }


@st.composite
def mha_inputs(draw: st.DrawFn, *, mask_kind: str | None = None, min_batch: int = 1) -> dict[str, Any]:
    """query (B, Lq, E), key and value (B, Lk, E), packed parameters, num_heads and a mask.

    E = num_heads · head_dim ≤ 8; Lq and Lk are drawn independently (cross-attention).
    ``mask_kind``: "none", "2d" (Lq, Lk) or "3d" (B, Lq, Lk); drawn when None.
    """
    num_heads = draw(st.sampled_from((1, 2, 4)))
    embed_dim = num_heads * draw(dims(1, 8 // num_heads))
    b, lq, lk = draw(dims(min_batch, 3)), draw(dims(1, 5)), draw(dims(1, 5))
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    kind = mask_kind or draw(st.sampled_from(("none", "2d", "3d")))
    mask = None if kind == "none" else attend_masks((lq, lk) if kind == "2d" else (b, lq, lk), seed + 10)
    return {
        "query": make_tensor((b, lq, embed_dim), dtype, seed),
        "key": make_tensor((b, lk, embed_dim), dtype, seed + 1),
        "value": make_tensor((b, lk, embed_dim), dtype, seed + 2),
        **mha_parameters(embed_dim, dtype, seed + 3),
        "num_heads": num_heads,
        "mask": mask,
    }


# ---- transformer ----


@st.composite
def layer_norm_inputs(draw: st.DrawFn, *, min_width: int = 1) -> dict[str, Any]:
    """x (..., D) whose rows have spreads from ~3e-4 to ~10 (variances far below and above eps),
    row means of the order of the spread, weight and bias (D,) and eps; min_width ≤ D ≤ 8."""
    batch = draw(batch_shapes())
    d = draw(dims(min_width, 8))
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    eps = draw(st.sampled_from((1e-5, 1e-3)))
    spread = 10.0 ** make_tensor((*batch, 1), torch.float64, seed + 1, low=-3.5, high=1.0)  # per row
    offset = make_tensor((*batch, 1), torch.float64, seed + 2)
    x = (make_tensor((*batch, d), torch.float64, seed) + offset) * spread  # built in float64, then cast once
    return {
        "x": x.to(dtype),
        "weight": (1.0 + make_tensor((d,), torch.float64, seed + 3, scale=0.5)).to(dtype),
        "bias": make_tensor((d,), dtype, seed + 4, scale=0.5),
        "eps": eps,
    }


@st.composite
def position_encoding_sizes(draw: st.DrawFn, *, max_positions: int = 32, max_half_width: int = 8) -> tuple[int, int]:
    """(num_positions, d_model) with d_model even."""
    return draw(dims(1, max_positions)), 2 * draw(dims(1, max_half_width))


@st.composite
def feed_forward_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """x (B, L, d) and nn.Linear-layout weights w1 (d_ff, d), b1 (d_ff,), w2 (d, d_ff), b2 (d,)."""
    b, length, d, d_ff = draw(dims(1, 3)), draw(dims(1, 5)), draw(dims(1, 8)), draw(dims(1, 8))
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    return {
        "x": make_tensor((b, length, d), dtype, seed),
        "w1": make_tensor((d_ff, d), dtype, seed + 1, scale=d**-0.5),
        "b1": make_tensor((d_ff,), dtype, seed + 2, scale=0.5),
        "w2": make_tensor((d, d_ff), dtype, seed + 3, scale=d_ff**-0.5),
        "b2": make_tensor((d,), dtype, seed + 4, scale=0.5),
    }


def transformer_block_params(d_model: int, d_ff: int, dtype: torch.dtype, seed: int, *, decoder: bool = False) -> dict[str, torch.Tensor]:
    """Parameters under the state_dict() names of nn.TransformerEncoderLayer (or DecoderLayer), as a fixtures.StateDict."""
    shapes: dict[str, tuple[int, ...]] = {}
    for attn in ("self_attn", "multihead_attn") if decoder else ("self_attn",):
        shapes |= {f"{attn}.in_proj_weight": (3 * d_model, d_model), f"{attn}.in_proj_bias": (3 * d_model,), f"{attn}.out_proj.weight": (d_model, d_model), f"{attn}.out_proj.bias": (d_model,)}
    shapes |= {"linear1.weight": (d_ff, d_model), "linear1.bias": (d_ff,), "linear2.weight": (d_model, d_ff), "linear2.bias": (d_model,)}
    for i in range(1, 4 if decoder else 3):
        shapes |= {f"norm{i}.weight": (d_model,), f"norm{i}.bias": (d_model,)}
    from grader.fixtures import StateDict  # here, not at the top: this section is appended to a shared file

    params = StateDict()  # a dict with a short repr, so that failure records stay small
    for offset, (name, shape) in enumerate(shapes.items()):
        if name.endswith("bias"):
            t = make_tensor(shape, torch.float64, seed + offset, scale=0.3)
        elif name.startswith("norm"):
            t = 1.0 + make_tensor(shape, torch.float64, seed + offset, scale=0.3)
        else:  # weights in nn.Linear layout (out, in): scaled by 1/√fan_in so activations stay O(1)
            t = make_tensor(shape, torch.float64, seed + offset, scale=shape[1] ** -0.5)
        params[name] = t.to(dtype)
    return params


@st.composite
def block_inputs(draw: st.DrawFn, *, decoder: bool = False, mask_kind: str | None = None, min_len: int = 1) -> dict[str, Any]:
    """x (B, L, d), [memory (B, Lm, d)], params (a state_dict), num_heads, norm_first, [mask].

    d ∈ {4, 6, 8} (at least 4 features keep the layer norms well conditioned in float32),
    num_heads divides d, min_len ≤ L ≤ 5 and Lm ≤ 5 drawn independently. Encoder masks: ``mask_kind``
    "none", "2d" (L, L) or "3d" (B, L, L), drawn when None.
    """
    d = draw(st.sampled_from((4, 6, 8)))
    num_heads = draw(st.sampled_from([h for h in (1, 2, 3, 4) if d % h == 0]))
    b, length, d_ff = draw(dims(1, 3)), draw(dims(min_len, 5)), draw(dims(2, 8))
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    inputs: dict[str, Any] = {
        "x": make_tensor((b, length, d), dtype, seed),
        "params": transformer_block_params(d, d_ff, dtype, seed + 1, decoder=decoder),
        "num_heads": num_heads,
        "norm_first": draw(st.booleans()),
    }
    if decoder:
        inputs["memory"] = make_tensor((b, draw(dims(1, 5)), d), dtype, seed + 100)
    else:
        kind = mask_kind or draw(st.sampled_from(("none", "2d", "3d")))
        inputs["mask"] = None if kind == "none" else attend_masks((length, length) if kind == "2d" else (b, length, length), seed + 101)
    return inputs


# ---- metrics ----


def make_class_probs(n: int, k: int, dtype: torch.dtype, seed: int, *, zero_share: float = 0.3) -> torch.Tensor:
    """(n, k) rows of class probabilities summing to 1, about ``zero_share`` of entries exactly 0."""
    g = generator(seed)
    logits = torch.randn((n, k), generator=g, dtype=torch.float64) * 2.0
    keep = torch.rand((n, k), generator=g, dtype=torch.float64) >= zero_share
    keep[torch.arange(n), logits.argmax(dim=1)] = True  # every row keeps some mass
    p = logits.softmax(dim=1) * keep
    return (p / p.sum(dim=1, keepdim=True)).to(dtype)


@st.composite
def inception_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """probs (N, K) with exact zeros and a number of splits 1 ≤ S ≤ N (no empty split)."""
    splits = draw(st.integers(1, 4))
    n, k = draw(st.integers(splits, 12)), draw(dims(1, 6))
    return {"probs": make_class_probs(n, k, draw(float_dtypes()), draw(seeds())), "splits": splits}


@st.composite
def feature_samples(draw: st.DrawFn, *, min_rows: int = 2, max_rows: int = 8, max_dim: int = 6) -> torch.Tensor:
    """features (N, D): rows are samples, N ≥ min_rows; columns have different means and scales."""
    n, d = draw(dims(min_rows, max_rows)), draw(dims(1, max_dim))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    scales = make_tensor((d,), torch.float64, seed + 1, low=0.5, high=2.0)
    shift = make_tensor((d,), torch.float64, seed + 2, scale=2.0)
    return (make_tensor((n, d), torch.float64, seed) * scales + shift).to(dtype)


def make_psd_covariance(d: int, dtype: torch.dtype, seed: int, *, rank: int | None = None, low: float = 0.2, high: float = 2.0) -> torch.Tensor:
    """A symmetric PSD (d, d) matrix Q·diag(λ)·Qᵀ, λ uniform in [low, high); the last d − rank λ are 0."""
    g = generator(seed)
    q, _ = torch.linalg.qr(torch.randn((d, d), generator=g, dtype=torch.float64))
    lam = torch.rand(d, generator=g, dtype=torch.float64) * (high - low) + low
    if rank is not None:
        lam[rank:] = 0.0
    sigma = (q * lam) @ q.T  # (d, d)
    return ((sigma + sigma.T) / 2).to(dtype)  # exactly symmetric before rounding to dtype


@st.composite
def fid_stats(draw: st.DrawFn, *, singular: bool = False) -> dict[str, Any]:
    """mu1, sigma1, mu2, sigma2 of two D-dim Gaussians; well conditioned, or each covariance of rank < D."""
    d, dtype, seed = draw(dims(1, 6)), draw(float_dtypes()), draw(seeds())
    rank1 = draw(st.integers(0, d - 1)) if singular else None
    rank2 = draw(st.integers(0, d - 1)) if singular else None
    return {
        "mu1": make_tensor((d,), dtype, seed),
        "sigma1": make_psd_covariance(d, dtype, seed + 1, rank=rank1),
        "mu2": make_tensor((d,), dtype, seed + 2),
        "sigma2": make_psd_covariance(d, dtype, seed + 3, rank=rank2),
    }


@st.composite
def real_fake_sets(draw: st.DrawFn, *, max_k: int = 3) -> dict[str, Any]:
    """real (Nr, D) and fake (Nf, D) points in general position, and k < min(Nr, Nf).

    Fakes are drawn around a shifted centre so that precision and recall take various values.
    """
    k = draw(st.integers(1, max_k))
    n_real, n_fake, d = draw(dims(k + 1, 8)), draw(dims(k + 1, 8)), draw(dims(1, 4))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    shift = draw(st.sampled_from([0.0, 0.5, 1.5]))
    real = make_tensor((n_real, d), dtype, seed)
    fake = (make_tensor((n_fake, d), torch.float64, seed + 1) + shift).to(dtype)
    return {"real": real, "fake": fake, "k": k}


# ---- clip ----


@st.composite
def clip_logit_scales(draw: st.DrawFn, dtype: torch.dtype) -> float | torch.Tensor:
    """log of the inverse temperature, up to ln 100 (CLIP's clamp): a Python float or a 0-d tensor."""
    value = draw(st.floats(-1.0, 4.6, allow_nan=False))
    return torch.tensor(value, dtype=dtype) if draw(st.booleans()) else value


def positive_row_scales(n: int, seed: int) -> torch.Tensor:
    """(n, 1) positive factors in [0.1, 10) for rescaling rows of embeddings (float64)."""
    return 10.0 ** make_tensor((n, 1), torch.float64, seed, low=-1.0, high=1.0)


@st.composite
def clip_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """image_emb (N, D), text_emb (N, D) (row i of each is a matching pair) and logit_scale."""
    n, d, dtype, seed = draw(dims()), draw(dims()), draw(float_dtypes()), draw(seeds())
    image = make_tensor((n, d), dtype, seed)
    # Texts correlate with their images, so the loss is not just log N.
    text = (image.double() + make_tensor((n, d), torch.float64, seed + 1)).to(dtype)
    return {"image_emb": image, "text_emb": text, "logit_scale": draw(clip_logit_scales(dtype))}


@st.composite
def zero_shot_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """image_emb (N, D), class_emb (K, D) and logit_scale."""
    n, k, d, dtype, seed = draw(dims()), draw(dims()), draw(dims()), draw(float_dtypes()), draw(seeds())
    image, classes = make_tensor((n, d), dtype, seed), make_tensor((k, d), dtype, seed + 1)
    return {"image_emb": image, "class_emb": classes, "logit_scale": draw(clip_logit_scales(dtype))}


# ---- flows ----
# Transforms come from grader.fixtures (picklable, importable by the worker); a chain is a
# list in data -> noise order, as `flows.log_prob` applies it.

FLOW_KINDS = ("affine", "permutation", "leaky", "asinh", "triangular")
SMOOTH_FLOW_KINDS = ("affine", "asinh", "triangular")  # densities without kinks (quadrature)


def flow_transform(kind: str, dim: int, dtype: torch.dtype, seed: int) -> torch.nn.Module:
    """One invertible fixture transform with seeded parameters.

    Scales stay within exp(±0.7) so that chains of up to three transforms remain well
    conditioned in float32.
    """
    from grader import fixtures

    if kind == "affine":
        return fixtures.ElementwiseAffine(make_tensor((dim,), dtype, seed, low=-0.7, high=0.7), make_tensor((dim,), dtype, seed + 1, scale=0.5))
    if kind == "permutation":
        return fixtures.Permutation(torch.randperm(dim, generator=generator(seed)))
    if kind == "leaky":
        return fixtures.LeakyMap(float(make_tensor((), torch.float64, seed, low=0.3, high=2.0)))
    if kind == "asinh":
        return fixtures.Asinh()
    if kind == "triangular":
        lower = make_tensor((dim, dim), dtype, seed, scale=0.4)
        return fixtures.TriangularLinear(lower, make_tensor((dim,), dtype, seed + 1, low=-0.5, high=0.5), make_tensor((dim,), dtype, seed + 2, scale=0.5))
    raise ValueError(f"unknown transform kind {kind!r}")


@st.composite
def flow_chains(draw: st.DrawFn, dim: int, dtype: torch.dtype, *, min_size: int = 0, max_size: int = 3, kinds: tuple[str, ...] = FLOW_KINDS) -> list[torch.nn.Module]:
    """A list of fixture transforms, data -> noise order.

    At most one Asinh: its inverse (sinh) grows exponentially, and two of them in a chain
    would make float32 round trips lose all precision.
    """
    names = draw(st.lists(st.sampled_from(kinds), min_size=min_size, max_size=max_size))
    names = [n if n != "asinh" or "asinh" not in names[:i] else "affine" for i, n in enumerate(names)]
    seed = draw(seeds())
    return [flow_transform(kind, dim, dtype, seed + 10 * i) for i, kind in enumerate(names)]


def apply_chain(x: torch.Tensor, transforms: list[torch.nn.Module]) -> tuple[torch.Tensor, torch.Tensor]:
    """Run fixture transforms forward in the judge: (z, summed log-det (B,))."""
    z, total = x, torch.zeros(x.shape[0], dtype=x.dtype)
    for t in transforms:
        z, log_det = t(z)
        total = total + log_det
    return z.detach(), total.detach()


@st.composite
def flow_inputs(draw: st.DrawFn, *, min_transforms: int = 0, max_transforms: int = 3, kinds: tuple[str, ...] = FLOW_KINDS, max_dim: int = 5) -> dict[str, Any]:
    """x (B, D) and a chain of transforms for it."""
    b, d, dtype, seed = draw(dims(1, 6)), draw(dims(1, max_dim)), draw(float_dtypes()), draw(seeds())
    transforms = draw(flow_chains(d, dtype, min_size=min_transforms, max_size=max_transforms, kinds=kinds))
    return {"x": make_tensor((b, d), dtype, seed), "transforms": transforms}


def coupling_nets(dim: int, hidden: int, dtype: torch.dtype, seed: int) -> tuple[torch.nn.Sequential, torch.nn.Sequential]:
    """Scale and shift networks D -> hidden -> D for an affine coupling layer.

    Layers are named (``scale_in`` ... ``shift_out``) so that a property can tell each net's
    parameters apart among the coupling module's, whatever attribute the student keeps the
    nets under. The scale net ends in tanh, as in RealNVP, so exp(s) stays moderate.
    """
    from collections import OrderedDict

    nn = torch.nn
    scale = nn.Sequential(OrderedDict(scale_in=nn.Linear(dim, hidden), scale_act=nn.Tanh(), scale_out=nn.Linear(hidden, dim), scale_squash=nn.Tanh()))
    shift = nn.Sequential(OrderedDict(shift_in=nn.Linear(dim, hidden), shift_act=nn.Tanh(), shift_out=nn.Linear(hidden, dim)))
    nets = (scale.to(dtype), shift.to(dtype))
    with torch.no_grad():
        for i, p in enumerate(q for net in nets for q in net.parameters()):
            p.copy_(make_tensor(tuple(p.shape), dtype, seed + i, scale=1.0))
    return nets


def coupling_masks(dim: int, dtype: torch.dtype, seed: int) -> torch.Tensor:
    """A random binary mask (D,) in the data's dtype (1 = passed through)."""
    return (torch.rand(dim, generator=generator(seed)) < 0.5).to(dtype)


@st.composite
def coupling_inputs(draw: st.DrawFn, *, dtype: torch.dtype | None = None) -> dict[str, Any]:
    """mask (D,), scale_net, shift_net and x (B, D) for `flows.AffineCoupling`."""
    b, d, hidden = draw(dims(1, 5)), draw(dims(1, 6)), draw(dims(1, 6))
    dtype = dtype or draw(float_dtypes())
    seed = draw(seeds())
    scale_net, shift_net = coupling_nets(d, hidden, dtype, seed)
    mask = coupling_masks(d, dtype, seed + 100)
    return {"mask": mask, "scale_net": scale_net, "shift_net": shift_net, "x": make_tensor((b, d), dtype, seed + 101)}


# ---- vit ----


@st.composite
def vit_images(draw: st.DrawFn) -> dict[str, Any]:
    """images (B, C, H, W) with H = h·P and W = w·P (h and w drawn independently: non-square too)."""
    p, h, w, c, b = draw(dims(1, 3)), draw(dims(1, 4)), draw(dims(1, 4)), draw(dims(1, 3)), draw(dims(1, 2))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    return {"images": make_tensor((b, c, h * p, w * p), dtype, seed), "patch_size": p}


@st.composite
def vit_embed_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """images plus the patch projection weight (P·P·C, E), bias (E,), cls_token (E,), pos_embed (N+1, E)."""
    a = draw(vit_images())
    images, p = a["images"], a["patch_size"]
    _, c, hgt, wid = images.shape
    n, e, seed = (hgt // p) * (wid // p), draw(dims(1, 5)), draw(seeds())
    a["weight"] = make_tensor((p * p * c, e), images.dtype, seed, scale=0.5)
    a["bias"] = make_tensor((e,), images.dtype, seed + 1)
    a["cls_token"] = make_tensor((e,), images.dtype, seed + 2)
    a["pos_embed"] = make_tensor((n + 1, e), images.dtype, seed + 3)
    return a


# ---- vae and gan (shared) ----


@st.composite
def vector_or_image_shapes(draw: st.DrawFn, *, images: bool | None = None) -> tuple[int, ...]:
    """The shape of one sample without the batch dim: a vector (D,) or an image (C, H, W)."""
    use_images = draw(st.booleans()) if images is None else images
    if use_images:
        return (draw(dims(1, 3)), draw(dims(1, 4)), draw(dims(1, 4)))
    return (draw(dims()),)


# ---- gan ----


@st.composite
def gan_logits(draw: st.DrawFn, *, dtype: torch.dtype | None = None, scale: float = 4.0, extreme: bool = False) -> torch.Tensor:
    """Discriminator logits, (B,) or (B, 1); extreme=True: about half the entries are ±100."""
    shape = (draw(dims()), 1) if draw(st.booleans()) else (draw(dims()),)
    dtype = dtype or draw(float_dtypes())
    seed = draw(seeds())
    logits = make_tensor(shape, dtype, seed, scale=scale)
    if extreme:
        g = generator(seed + 1)
        pick = torch.rand(shape, generator=g) < 0.5
        pick.view(-1)[0] = True  # at least one extreme entry
        sign = torch.randint(0, 2, shape, generator=g) * 2 - 1
        logits = torch.where(pick, (100.0 * sign).to(dtype), logits)
    return logits


@st.composite
def gradient_penalty_inputs(draw: st.DrawFn, *, images: bool | None = None, min_batch: int = 1) -> dict[str, Any]:
    """real, fake: (B, D) or (B, C, H, W); alpha: (B,) in [0, 1]; weight; a seed for the critic."""
    b = draw(dims(min_batch, 6))
    shape = (b, *draw(vector_or_image_shapes(images=images)))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    return {
        "real": make_tensor(shape, dtype, seed),
        "fake": make_tensor(shape, dtype, seed + 1, scale=2.0),
        "alpha": make_tensor((b,), dtype, seed + 2, low=0.0, high=1.0),
        "weight": draw(st.sampled_from((10.0, 1.0, 0.5, 3.0))),
        "critic_seed": draw(seeds()),
    }


@st.composite
def minibatch_stddev_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """x: (B, C, H, W) and group_size such that G = min(group_size, B) divides B; eps."""
    group_size = draw(st.integers(1, 6))
    if draw(st.booleans()):
        b = group_size * draw(dims(1, 3))  # G = group_size, B/G groups
    else:
        b = draw(st.integers(1, group_size))  # G = B: a single group
    shape = (b, draw(dims(1, 3)), draw(dims(1, 3)), draw(dims(1, 3)))
    return {
        "x": make_tensor(shape, draw(float_dtypes()), draw(seeds())),
        "group_size": group_size,
        "eps": draw(st.sampled_from((1e-8, 1e-4, 1e-2))),
    }


@st.composite
def condition_inputs(draw: st.DrawFn, *, images: bool | None = None) -> dict[str, Any]:
    """x: (B, D) or (B, C, H, W); labels: (B,) int64 in [0, num_classes); num_classes."""
    b, k = draw(dims()), draw(dims(1, 6))
    seed = draw(seeds())
    return {
        "x": make_tensor((b, *draw(vector_or_image_shapes(images=images))), draw(float_dtypes()), seed),
        "labels": torch.randint(0, k, (b,), generator=generator(seed + 1)),
        "num_classes": k,
    }


# ---- diffusion ----

DIFFUSION_SCHEDULE_KINDS = ("linear", "cosine", "random")


@st.composite
def beta_schedules(draw: st.DrawFn, *, min_steps: int = 1, max_steps: int = 30) -> torch.Tensor:
    """A float64 beta schedule (T,): linear with random endpoints, cosine (capped at 0.999, so
    its last ᾱ is tiny, as in real models), or random increasing betas."""
    num_steps = draw(st.integers(min_steps, max_steps))
    kind = draw(st.sampled_from(DIFFUSION_SCHEDULE_KINDS))
    if kind == "linear":
        start = draw(st.floats(1e-4, 0.05))
        end = draw(st.floats(start, 0.3))
        return torch.linspace(start, end, num_steps, dtype=torch.float64)
    if kind == "cosine":
        u = torch.arange(num_steps + 1, dtype=torch.float64) / num_steps
        alpha_bar = torch.cos((u + 0.008) / 1.008 * torch.pi / 2) ** 2
        return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=0.999)
    return make_tensor((num_steps,), torch.float64, draw(seeds()), low=1e-4, high=0.3).sort().values


@st.composite
def diffusion_shapes(draw: st.DrawFn, *, min_rank: int = 1, max_rank: int = 4, tied: bool = False) -> tuple[int, ...]:
    """(B, ...) of rank min_rank–max_rank whose other dims are often B itself, so that a
    per-sample coefficient broadcast along the last axis instead of the batch axis runs and
    shows. ``tied``: every other dim is B or 1, so such a bug never raises, it only gives
    wrong values or a wrong shape."""
    b = draw(dims(1, 4))
    rank = draw(st.integers(min_rank, max_rank))
    other = st.sampled_from((b, 1)) if tied else st.one_of(st.just(b), dims(1, 3))
    return (b, *(draw(other) for _ in range(rank - 1)))


@st.composite
def q_sample_inputs(draw: st.DrawFn, *, tied: bool = False) -> dict[str, Any]:
    """x0 and noise (B, ...) of the drawn dtype, per-sample t (B,) int64, float64 alphas_cumprod (T,)."""
    betas = draw(beta_schedules())
    shape = draw(diffusion_shapes(tied=tied))
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    return {
        "x0": make_tensor(shape, dtype, seed),
        "t": torch.randint(0, len(betas), (shape[0],), generator=generator(seed + 1)),
        "noise": make_tensor(shape, dtype, seed + 2),
        "alphas_cumprod": torch.cumprod(1 - betas, dim=0),
    }


@st.composite
def ddpm_step_inputs(draw: st.DrawFn, *, min_t: int = 0, max_t: int | None = None) -> dict[str, Any]:
    """eps, x_t, noise of one shape and dtype, an int t in [min_t, T), float64 betas, a variance kind.
    At t = 0 the noise is sometimes None (allowed there)."""
    betas = draw(beta_schedules(min_steps=min_t + 1))
    t = draw(st.integers(min_t, len(betas) - 1 if max_t is None else min(max_t, len(betas) - 1)))
    shape = draw(diffusion_shapes())
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    noise = None if t == 0 and draw(st.booleans()) else make_tensor(shape, dtype, seed + 2)
    return {
        "eps": make_tensor(shape, dtype, seed),
        "t": t,
        "x_t": make_tensor(shape, dtype, seed + 1),
        "betas": betas,
        "noise": noise,
        "variance": draw(st.sampled_from(("fixed_small", "fixed_large"))),
    }


def ddim_etas() -> st.SearchStrategy[float]:
    """η in [0, 1], with the two named cases (DDIM, DDPM-like) drawn often."""
    return st.one_of(st.sampled_from((0.0, 1.0)), st.floats(0.0, 1.0))


@st.composite
def ddim_step_inputs(draw: st.DrawFn, *, min_t_prev: int = -1, etas: st.SearchStrategy[float] | None = None, consecutive: bool = False, eta_tensor: bool | None = False) -> dict[str, Any]:
    """eps, x_t (and noise when η > 0) of one shape and dtype, ints t_prev < t (t_prev = −1 is
    the last step; ``consecutive``: t_prev = t − 1), float64 alphas_cumprod, and η drawn from
    ``etas`` (a 0-d float64 tensor when ``eta_tensor``; drawn when it is None)."""
    betas = draw(beta_schedules(min_steps=max(1, min_t_prev + 2)))
    t = draw(st.integers(min_t_prev + 1, len(betas) - 1))
    t_prev = t - 1 if consecutive else draw(st.integers(min_t_prev, t - 1))
    eta = draw(ddim_etas() if etas is None else etas)
    as_tensor = draw(st.booleans()) if eta_tensor is None else eta_tensor
    shape = draw(diffusion_shapes())
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    return {
        "eps": make_tensor(shape, dtype, seed),
        "t": t,
        "t_prev": t_prev,
        "x_t": make_tensor(shape, dtype, seed + 1),
        "alphas_cumprod": torch.cumprod(1 - betas, dim=0),
        "eta": torch.tensor(eta, dtype=torch.float64) if as_tensor else eta,
        "noise": make_tensor(shape, dtype, seed + 2) if eta > 0 else None,
    }


@st.composite
def ddim_grid_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """A step on a diffusers DDIM grid: float64 betas (T,), n inference steps, t = k·(T // n) and
    t_prev = t − T // n (negative at the last step), η, and eps, x_t, noise (None when η = 0)."""
    betas = draw(beta_schedules())
    n = draw(st.integers(1, len(betas)))
    ratio = len(betas) // n
    k = draw(st.integers(0, n - 1))
    eta = draw(ddim_etas())
    shape = draw(diffusion_shapes())
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    return {
        "betas": betas,
        "num_inference_steps": n,
        "t": k * ratio,
        "t_prev": (k - 1) * ratio,
        "eta": eta,
        "eps": make_tensor(shape, dtype, seed),
        "x_t": make_tensor(shape, dtype, seed + 1),
        "noise": make_tensor(shape, dtype, seed + 2) if eta > 0 else None,
    }


def guidance_scales() -> st.SearchStrategy[float]:
    """Guidance scales as used in practice (0, 1, 7.5) and around them, negatives included."""
    return st.one_of(st.sampled_from((0.0, 1.0, 7.5)), st.floats(-2.0, 15.0))


@st.composite
def guidance_inputs(draw: st.DrawFn, *, scale_kind: str | None = None, tied: bool = False) -> dict[str, Any]:
    """eps_uncond, eps_cond (B, ...) and a scale: a float, a 0-d tensor, or a per-sample
    (B, 1, ..., 1) tensor (of the data's dtype or float64)."""
    shape = draw(diffusion_shapes(tied=tied))
    dtype = draw(float_dtypes())
    seed = draw(seeds())
    kind = scale_kind or draw(st.sampled_from(("float", "0-d", "per-sample")))
    if kind == "float":
        scale: float | torch.Tensor = draw(guidance_scales())
    else:
        scale_shape = () if kind == "0-d" else (shape[0],) + (1,) * (len(shape) - 1)
        scale_dtype = draw(st.sampled_from((dtype, torch.float64)))
        scale = make_tensor(scale_shape, scale_dtype, seed + 2, low=-2.0, high=15.0)
    return {"eps_uncond": make_tensor(shape, dtype, seed), "eps_cond": make_tensor(shape, dtype, seed + 1), "scale": scale}


