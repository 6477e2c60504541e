"""attention.causal_mask: the boolean mask that lets the last q_len of k_len positions attend
to themselves and the past (bottom-right aligned, as with a KV cache); its properties and known
mistakes.
"""

from __future__ import annotations

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.attention.strategies import causal_mask_sizes


def _top_left_aligned(q_len, k_len=None):
    k_len = q_len if k_len is None else k_len
    return torch.ones(q_len, k_len, dtype=torch.bool).tril()


def _strictly_lower(q_len, k_len=None):
    k_len = q_len if k_len is None else k_len
    return torch.ones(q_len, k_len, dtype=torch.bool).tril(k_len - q_len - 1)


def _future_mask(q_len, k_len=None):
    k_len = q_len if k_len is None else k_len
    return torch.ones(q_len, k_len, dtype=torch.bool).triu(k_len - q_len + 1)


causal = Exercise(
    "attention.causal_mask",
    mistakes=[
        Mistake("top_left_aligned", "your mask is aligned top-left (query i sees keys j ≤ i, like is_causal=True of F.scaled_dot_product_attention); the queries are the LAST q_len positions, so query i sees keys j ≤ i + k_len − q_len", _top_left_aligned),
        Mistake("strictly_lower", "your mask hides the diagonal (j < i): every token may attend to itself, so keys j ≤ i are visible", _strictly_lower),
        Mistake("future_mask", "your mask is True on the future keys (the nn.Transformer convention, True = blocked); in this course True means 'may attend'", _future_mask),
    ],
)


def _lower_triangular(n: int) -> torch.Tensor:
    """The square causal mask written out with loops: an independent statement of j ≤ i."""
    return torch.tensor([[j <= i for j in range(n)] for i in range(n)], dtype=torch.bool)


@causal.property("returns_bool_mask", "the result is a torch.bool tensor of shape (q_len, k_len)", tier="public")
@given(sizes=causal_mask_sizes())
def _returns_bool_mask(ctx: Context, sizes: tuple[int, int]) -> None:
    q_len, k_len = sizes
    got = ctx.call(q_len, k_len)
    ctx.check(isinstance(got, torch.Tensor), f"expected a tensor, got {type(got).__name__}", inputs={"q_len": q_len, "k_len": k_len})
    ctx.check(got.dtype == torch.bool and tuple(got.shape) == (q_len, k_len), f"expected torch.bool of shape {(q_len, k_len)}, got {got.dtype} of shape {tuple(got.shape)}", inputs={"q_len": q_len, "k_len": k_len})


@causal.property("square_lower_triangular", "with k_len left out, query i may attend to exactly the keys j ≤ i", tier="public")
@given(n=gs.dims(2, 8))  # 1×1 is checked by the other properties; here it would make mistakes indistinguishable
def _square_lower_triangular(ctx: Context, n: int) -> None:
    got = ctx.call(n)
    ctx.assert_close(got, _lower_triangular(n), inputs={"q_len": n}, check_dtype=False)


@causal.property("kv_cache_alignment", "with q_len < k_len the queries are the last q_len positions: the mask is the last q_len rows of the square k_len mask", tier="public")
@given(sizes=causal_mask_sizes())
@example(sizes=(2, 4))
@example(sizes=(1, 5))
def _kv_cache_alignment(ctx: Context, sizes: tuple[int, int]) -> None:
    q_len, k_len = sizes
    got = ctx.call(q_len, k_len)
    expected = _lower_triangular(k_len)[k_len - q_len :]  # (q_len, k_len)
    ctx.assert_close(got, expected, inputs={"q_len": q_len, "k_len": k_len}, check_dtype=False)


@causal.property("matches_reference", "the mask equals the reference for every q_len ≤ k_len, with k_len given or left out", tier="hidden")
@given(sizes=causal_mask_sizes(), pass_k_len=st.booleans())
@example(sizes=(3, 5), pass_k_len=True)
@example(sizes=(4, 4), pass_k_len=False)
def _causal_matches_reference(ctx: Context, sizes: tuple[int, int], pass_k_len: bool) -> None:
    q_len, k_len = sizes
    args = (q_len, k_len) if pass_k_len else (q_len,)
    ctx.assert_close(ctx.call(*args), ctx.ref(*args), inputs={"q_len": q_len, "k_len": k_len if pass_k_len else "left out"})

