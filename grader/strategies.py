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


def attend_masks(shape: tuple[int, ...], seed: int, *, p: float = 0.7) -> torch.Tensor:
    """A bool mask (..., Lq, Lk), True = may attend, in which every query row keeps at least one key.

    The kept key is drawn per row, so a correct result never relies on key 0 being visible.
    """
    mask = torch.rand(shape, generator=generator(seed)) < p
    keep = torch.randint(shape[-1], (*shape[:-1], 1), generator=generator(seed + 1))  # one key per row
    return mask.scatter(-1, keep, True)



# ---- vq ----


def nearest_gap(z_e: torch.Tensor, codebook: torch.Tensor) -> float:
    """Smallest gap between the nearest and second-nearest squared distance over positions (float64)."""
    flat = z_e.double().permute(0, 2, 3, 1).reshape(-1, z_e.shape[1])
    d2 = ((flat[:, None, :] - codebook.double()[None]) ** 2).sum(-1)
    if d2.shape[1] < 2:
        return float("inf")
    two = d2.topk(2, dim=1, largest=False).values
    return float((two[:, 1] - two[:, 0]).min())


@st.composite
def vq_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """z_e (B, D, H, W), codebook (K, D) and beta; near-ties of the nearest codeword are rejected
    (ties are outside the contract, and float32 rounding may break near-ties either way)."""
    from hypothesis import assume

    b, d, h, w, k = draw(dims(1, 3)), draw(dims(1, 4)), draw(dims(1, 4)), draw(dims(1, 4)), draw(dims(1, 8))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    codebook = make_tensor((k, d), dtype, seed)
    z_e = make_tensor((b, d, h, w), dtype, seed + 1)
    assume(nearest_gap(z_e, codebook) > 1e-3)
    beta = draw(st.sampled_from((0.25, 0.1, 0.5, 2.0)))  # never 1: it would hide which term carries beta
    return {"z_e": z_e, "codebook": codebook, "beta": beta}


# ---- lm ----


def token_ids(shape: tuple[int, ...], vocab_size: int, seed: int, *, exclude: int | None = None) -> torch.Tensor:
    """Reproducible int64 ids in [0, vocab_size), never equal to ``exclude`` (e.g. [MASK])."""
    g = generator(seed)
    if exclude is None:
        return torch.randint(vocab_size, shape, generator=g)
    ids = torch.randint(vocab_size - 1, shape, generator=g)
    return ids + (ids >= exclude).long()  # shift past the excluded id: still uniform over the rest


@st.composite
def causal_lm_inputs(draw: st.DrawFn, *, ignore_index: int = -100) -> dict[str, Any]:
    """logits (B, L, V) and labels (B, L) int64 for a causal LM loss.

    Every row ignores its own number of labels (set to ``ignore_index``, as prompts and
    padding are), so a mean over tokens and a mean over sequences differ; at least one
    target (labels[:, 1:]) is kept, since an all-ignored batch is outside the contract.
    """
    b, length, vocab = draw(dims(1, 4)), draw(dims(2, 8)), draw(dims(2, 8))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    logits = make_tensor((b, length, vocab), dtype, seed, scale=2.0)
    labels = token_ids((b, length), vocab, seed + 1)
    g = generator(seed + 2)
    for row in range(b):
        n_ignored = draw(st.integers(0, length - 1))
        labels[row, torch.randperm(length, generator=g)[:n_ignored]] = ignore_index
    if bool((labels[:, 1:] == ignore_index).all()):
        labels[0, 1] = 0
    return {"logits": logits, "labels": labels}


def top_p_margin(logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float | None) -> float:
    """How far ``top_p`` is from every cumulative probability a top-p filter compares it with.

    Computed in float64 after temperature and top-k (the Hugging Face order); inf when top-p
    is off. A small margin means float rounding decides which token crosses the threshold.
    """
    if top_p is None or top_p >= 1.0 or logits.shape[-1] < 2:
        return float("inf")
    scaled = logits.double() / float(temperature)
    if top_k:
        kth = scaled.topk(min(top_k, scaled.shape[-1]), dim=-1).values[..., -1:]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    probs = scaled.softmax(dim=-1).sort(dim=-1, descending=True).values
    mass_before = probs.cumsum(dim=-1) - probs  # (B, V); rank 0 (mass 0) is always kept
    return float((mass_before[..., 1:] - top_p).abs().min())


@st.composite
def sampling_settings(draw: st.DrawFn, logits: torch.Tensor, *, min_temperature: float = 0.25, max_temperature: float = 4.0, top_k: bool = True, top_p: bool = True) -> dict[str, Any]:
    """temperature, top_k and top_p for ``logits`` (B, V), including the "off" values.

    top_p stays 1e-3 away from the cumulative probabilities it is compared with: exact
    boundaries, where rounding picks the crossing token, are not graded.
    """
    from hypothesis import assume

    vocab = logits.shape[-1]
    temperature = draw(st.floats(min_temperature, max_temperature))
    k = draw(st.one_of(st.none(), st.just(0), st.integers(1, vocab + 2))) if top_k else None
    p = draw(st.one_of(st.none(), st.just(1.0), st.just(0.0), st.floats(0.05, 0.95))) if top_p else None
    assume(top_p_margin(logits, temperature, k, p) > 1e-3)
    return {"temperature": temperature, "top_k": k, "top_p": p}


@st.composite
def filter_logits_inputs(draw: st.DrawFn, *, min_temperature: float = 0.25, max_temperature: float = 4.0, top_k: bool = True, top_p: bool = True) -> dict[str, Any]:
    """logits (B, V) with distinct entries, and sampling settings (see ``sampling_settings``)."""
    b, vocab, dtype, seed = draw(dims(1, 4)), draw(dims(2, 8)), draw(float_dtypes()), draw(seeds())
    logits = make_tensor((b, vocab), dtype, seed, scale=2.0)
    settings = draw(sampling_settings(logits, min_temperature=min_temperature, max_temperature=max_temperature, top_k=top_k, top_p=top_p))
    return {"logits": logits, **settings}


@st.composite
def decode_inputs(draw: st.DrawFn, *, min_new: int = 0, max_new: int = 6, max_vocab: int = 6) -> dict[str, Any]:
    """A ``fixtures.PrefixLM`` (float32 or float64 logits), prompts (B, L) int64, max_new_tokens."""
    from grader import fixtures

    vocab, b, length = draw(dims(2, max_vocab)), draw(dims(1, 4)), draw(dims(1, 5))
    dtype, seed = draw(float_dtypes()), draw(seeds())
    return {
        "model": fixtures.PrefixLM(vocab, seed, dtype),
        "input_ids": token_ids((b, length), vocab, seed + 1),
        "max_new_tokens": draw(st.integers(min_new, max_new)),
    }


def mlm_batch(shape: tuple[int, int], vocab_size: int, mask_token_id: int, seed: int, *, special_rate: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids other than [MASK] (as in real text) and a bool special-tokens mask (True =
    special): column 0 is special ([CLS]), other positions with probability ``special_rate``."""
    ids = token_ids(shape, vocab_size, seed, exclude=mask_token_id)
    special = torch.rand(shape, generator=generator(seed + 1)) < special_rate
    special[:, 0] = True
    return ids, special


@st.composite
def mlm_inputs(draw: st.DrawFn, *, max_length: int = 8) -> dict[str, Any]:
    """input_ids and special_tokens_mask (B, L), vocab_size, mask_token_id < vocab_size (as in
    BERT), and a seed for the generator."""
    b, length = draw(dims(1, 4)), draw(dims(1, max_length))
    vocab = draw(st.integers(3, 30))
    mask_id, seed = draw(st.integers(0, vocab - 1)), draw(seeds())
    ids, special = mlm_batch((b, length), vocab, mask_id, seed)
    return {"input_ids": ids, "mask_token_id": mask_id, "vocab_size": vocab, "special_tokens_mask": special, "seed": seed + 2}


MASK_DTYPES = (torch.int64, torch.bool, torch.float32)


@st.composite
def soft_prompt_inputs(draw: st.DrawFn, *, with_labels: bool | None = None) -> dict[str, Any]:
    """input_embeds (B, L, E), a right-padded attention_mask (B, L) of a drawn dtype,
    soft_prompt (n, E) and labels (B, L) int64 with -100 on padding, or None."""
    b, length, emb, n = draw(dims(1, 4)), draw(dims(1, 6)), draw(dims(1, 6)), draw(dims(1, 4))
    dtype, mask_dtype, seed = draw(float_dtypes()), draw(st.sampled_from(MASK_DTYPES)), draw(seeds())
    lengths = torch.randint(1, length + 1, (b,), generator=generator(seed + 2))
    mask = torch.arange(length) < lengths[:, None]  # (B, L): True on real tokens
    use_labels = draw(st.booleans()) if with_labels is None else with_labels
    return {
        "input_embeds": make_tensor((b, length, emb), dtype, seed),
        "attention_mask": mask.to(mask_dtype),
        "soft_prompt": make_tensor((n, emb), dtype, seed + 1),
        "labels": token_ids((b, length), 50, seed + 3).masked_fill(~mask, -100) if use_labels else None,
    }


# ---- vae ----


@st.composite
def reparameterize_inputs(draw: st.DrawFn, *, max_abs_logvar: float = 4.0) -> dict[str, Any]:
    """mu, logvar and the given noise eps of the reparameterization trick, all (B, D)."""
    params = draw(gaussian_params(max_abs_logvar=max_abs_logvar))
    mu = params["mu"]
    return {**params, "eps": make_tensor(tuple(mu.shape), mu.dtype, draw(seeds()))}


@st.composite
def vector_or_image_shapes(draw: st.DrawFn, *, images: bool | None = None) -> tuple[int, ...]:
    """The shape of one sample without the batch dim: a vector (D,) or an image (C, H, W)."""
    use_images = draw(st.booleans()) if images is None else images
    if use_images:
        return (draw(dims(1, 3)), draw(dims(1, 4)), draw(dims(1, 4)))
    return (draw(dims()),)


@st.composite
def elbo_inputs(draw: st.DrawFn, *, likelihood: str | None = None) -> dict[str, Any]:
    """Arguments of vae.negative_elbo: x in [0, 1] (fractional) and x_hat of one shape, (B, D)
    or (B, C, H, W); mu, logvar (B, Z); beta ≥ 0; the likelihood (drawn unless given)."""
    params = draw(gaussian_params())
    mu = params["mu"]
    shape = (mu.shape[0], *draw(vector_or_image_shapes()))
    seed = draw(seeds())
    return {
        "x": make_tensor(shape, mu.dtype, seed, low=0.0, high=1.0),
        "x_hat": make_tensor(shape, mu.dtype, seed + 1, scale=3.0),
        **params,
        "beta": draw(st.one_of(st.just(1.0), st.floats(0.0, 4.0))),
        "likelihood": likelihood or draw(st.sampled_from(("bernoulli", "gaussian"))),
    }


def parallel_rows(b: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """float64 (z0, z1), (B, D), whose rows are exactly parallel or opposite: z1 = c·z0, c = ±2^k.

    Rows have entries ±2^j on 1 or 4 coordinates, so dot products and norms are exact and the
    cosine is exactly ±1 however it is computed: the case where slerp must fall back to lerp.
    """
    g = generator(seed)
    z0 = torch.zeros(b, d, dtype=torch.float64)
    for i in range(b):
        n = 4 if d >= 4 and bool(torch.rand((), generator=g) < 0.5) else 1  # norm 2^j·√n is exact
        idx = torch.randperm(d, generator=g)[:n]
        signs = (torch.randint(0, 2, (n,), generator=g) * 2 - 1).double()
        z0[i, idx] = signs * 2.0 ** int(torch.randint(-1, 2, (), generator=g))
    sign = (torch.randint(0, 2, (b, 1), generator=g) * 2 - 1).double()
    c = sign * 2.0 ** torch.randint(-1, 3, (b, 1), generator=g).double()
    return z0, z0 * c


def separated_rows(b: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """float64 random (z0, z1), (B, D) with D ≥ 2, every pair of rows with sin Ω ≥ 1e-2."""
    z0 = make_tensor((b, d), torch.float64, seed)
    z1 = make_tensor((b, d), torch.float64, seed + 1, scale=1.5)
    cos = (z0 * z1).sum(-1) / (z0.norm(dim=-1) * z1.norm(dim=-1))
    for i in ((1 - cos.square()).clamp_min(0).sqrt() < 1e-2).nonzero().flatten().tolist():
        # Replace z1's row by one orthogonal to z0's: rotate z0 by 90° in the plane of its
        # largest coordinate and another one.
        j = int(z0[i].abs().argmax())
        k = (j + 1) % d
        z1[i] = 0.0
        z1[i, j], z1[i, k] = -z0[i, k], z0[i, j]
    return z0, z1


@st.composite
def slerp_inputs(draw: st.DrawFn, *, parallel: bool | None = None, t_tensor: bool | None = None) -> dict[str, Any]:
    """z0, z1: (B, D) with non-zero rows; t: a float or a (B,) tensor in [0, 1].

    parallel=True: every pair of rows exactly parallel or opposite; False: every pair with
    sin Ω ≥ 1e-2; None: a mix. Nothing in between is drawn (outside the contract).
    """
    b, dtype, seed = draw(dims(1, 6)), draw(float_dtypes()), draw(seeds())
    if parallel:
        z0, z1 = parallel_rows(b, draw(dims(1, 6)), seed)
    else:
        d = draw(dims(2, 6))
        z0, z1 = separated_rows(b, d, seed)
        if parallel is None:
            p0, p1 = parallel_rows(b, d, seed + 2)
            pick = torch.rand(b, 1, generator=generator(seed + 3)) < 0.3  # rows that are (anti)parallel
            z0, z1 = torch.where(pick, p0, z0), torch.where(pick, p1, z1)
    use_tensor = draw(st.booleans()) if t_tensor is None else t_tensor
    if use_tensor:
        t: Any = make_tensor((b,), dtype, seed + 4, low=0.0, high=1.0)
    else:
        t = draw(st.floats(0.0, 1.0))
    return {"z0": z0.to(dtype), "z1": z1.to(dtype), "t": t}


# ---- pixelcnn ----

MASK_KERNEL_SIZES = (1, 3, 5)


@st.composite
def mask_configs(draw: st.DrawFn, *, min_groups: int = 1) -> dict[str, Any]:
    """causal_mask / MaskedConv2d settings: odd kernel_size ≤ 5, mask_type, color_groups ≤ 3, and
    in/out channel counts drawn apart as multiples of color_groups (1–2 channels per group)."""
    groups = draw(st.integers(min_groups, 3))
    return {
        "kernel_size": draw(st.sampled_from(MASK_KERNEL_SIZES)),
        "mask_type": draw(st.sampled_from(("A", "B"))),
        "in_channels": groups * draw(dims(1, 2)),
        "out_channels": groups * draw(dims(1, 2)),
        "color_groups": groups,
    }


def mask_args(cfg: dict[str, Any]) -> tuple[int, str, int, int, int]:
    """The positional arguments of causal_mask for a mask_configs() dict."""
    return cfg["kernel_size"], cfg["mask_type"], cfg["in_channels"], cfg["out_channels"], cfg["color_groups"]


def masked_conv_init(cfg: dict[str, Any]) -> tuple[int, int, int, str, int]:
    """The constructor arguments of MaskedConv2d for a mask_configs() dict."""
    return cfg["in_channels"], cfg["out_channels"], cfg["kernel_size"], cfg["mask_type"], cfg["color_groups"]


def dense_conv_weights(cfg: dict[str, Any], dtype: torch.dtype, seed: int) -> dict[str, torch.Tensor]:
    """weight (out, in, k, k) without a zero entry (|w| in [0.5, 1.5), random signs) and bias (out,):
    what an optimizer may leave in a masked layer's stored weight, masked positions included."""
    k, c_out = cfg["kernel_size"], cfg["out_channels"]
    shape = (c_out, cfg["in_channels"], k, k)
    g = generator(seed)
    magnitude = torch.rand(shape, generator=g, dtype=torch.float64) + 0.5
    sign = torch.randint(0, 2, shape, generator=g).double() * 2 - 1
    return {"weight": (magnitude * sign).to(dtype), "bias": make_tensor((c_out,), dtype, seed + 1, scale=0.5)}


@st.composite
def masked_conv_inputs(draw: st.DrawFn, *, dtype: torch.dtype | None = None, min_groups: int = 1) -> dict[str, Any]:
    """A mask_configs() layer, dense_conv_weights() to load into it, and x (B, in, H, W) with
    B ≤ 2 and H, W ≤ 5 (sometimes smaller than the kernel); the seed is kept for more tensors."""
    cfg = draw(mask_configs(min_groups=min_groups))
    dtype = dtype or draw(float_dtypes())
    seed = draw(seeds())
    b, h, w = draw(dims(1, 2)), draw(dims(1, 5)), draw(dims(1, 5))
    x = make_tensor((b, cfg["in_channels"], h, w), dtype, seed + 2)
    return {**cfg, **dense_conv_weights(cfg, dtype, seed), "x": x, "seed": seed}


@st.composite
def pixel_image_shapes(draw: st.DrawFn, *, min_batch: int = 1, max_batch: int = 3, min_side: int = 1, max_channels: int = 3, max_side: int = 3, max_pixels: int | None = None) -> tuple[int, int, int, int]:
    """(B, C, H, W) of a small image batch, C, H, W ≥ min_side; with ``max_pixels``, C·H·W ≤ max_pixels."""
    limit = max_pixels or max_channels * max_side * max_side
    c = draw(dims(min_side, min(max_channels, limit // min_side**2)))
    h = draw(dims(min_side, min(max_side, limit // (c * min_side))))
    w = draw(dims(min_side, min(max_side, limit // (c * h))))
    return draw(dims(min_batch, max_batch)), c, h, w


def pixel_logits_model(chw: tuple[int, int, int], num_values: int, dtype: torch.dtype, seed: int, *, coupling_scale: float = 0.0) -> torch.nn.Module:
    """A fixtures.PixelLogitsModel: base logits N(0, 1.5²) per (c, value, i, j); with coupling_scale > 0,
    couplings N(0, coupling_scale²) to s = Σ weight·x, weights scaled so that s stays of order 1."""
    from grader import fixtures

    c, h, w = chw
    base = make_tensor((c, num_values, h, w), dtype, seed, scale=1.5)
    if coupling_scale == 0:
        return fixtures.PixelLogitsModel(base)
    coupling = make_tensor((c, num_values, h, w), dtype, seed + 1, scale=coupling_scale)
    weight = make_tensor((c, h, w), dtype, seed + 2, scale=1.0 / ((c * h * w) ** 0.5 * max(num_values - 1, 1)))
    return fixtures.PixelLogitsModel(base, coupling, weight)
