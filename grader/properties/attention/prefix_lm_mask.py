"""attention.prefix_lm_mask: the boolean mask of a prefix LM (T5, UniLM), bidirectional over
the prefix and causal after it; its properties and known mistakes.
"""

from __future__ import annotations

import torch
from hypothesis import example, given

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.attention.strategies import prefix_sizes
from grader.properties.common import check_plain


def _grid(total_len):
    return torch.arange(total_len).unsqueeze(1), torch.arange(total_len).unsqueeze(0)  # query (L, 1), key (1, L)


def _prefix_off_by_one(prefix_len, total_len):
    i, j = _grid(total_len)
    return (j <= i) | (j <= prefix_len)


def _prefix_queries_see_everything(prefix_len, total_len):
    i, j = _grid(total_len)
    return (j <= i) | (i < prefix_len)


def _opposite_polarity(prefix_len, total_len):
    i, j = _grid(total_len)
    return ~((j <= i) | (j < prefix_len))


def _causal_only(prefix_len, total_len):
    i, j = _grid(total_len)
    return j <= i


prefix = Exercise(
    "attention.prefix_lm_mask",
    mistakes=[
        Mistake("prefix_off_by_one", "your mask also shows key prefix_len to every query: the prefix is keys 0 … prefix_len − 1 (j < prefix_len), the first key after it is causal", _prefix_off_by_one),
        Mistake("prefix_queries_see_everything", "your mask lets the prefix's QUERIES see every key, the future suffix included; it is the prefix's KEYS (columns j < prefix_len) that every query sees, the suffix stays causal", _prefix_queries_see_everything),
        Mistake("opposite_polarity", "your mask is True where attention is blocked; in this course True means 'may attend'", _opposite_polarity),
        Mistake("causal_only", "your mask is the plain causal mask: the prefix must be visible to every query, also to the queries inside it (bidirectional prefix)", _causal_only),
    ],
)


def _loop(prefix_len: int, total_len: int) -> torch.Tensor:
    """The mask written with loops: an independent statement of j < prefix_len or j ≤ i."""
    return torch.tensor([[j < prefix_len or j <= i for j in range(total_len)] for i in range(total_len)], dtype=torch.bool)


def _inputs(prefix_len: int, total_len: int) -> dict:
    return {"prefix_len": prefix_len, "total_len": total_len}


def _mask(ctx: Context, prefix_len: int, total_len: int) -> torch.Tensor:
    got = ctx.call(prefix_len, total_len)
    shape = (total_len, total_len)
    ok = isinstance(got, torch.Tensor) and got.dtype == torch.bool and tuple(got.shape) == shape
    check_plain(ok, f"expected a torch.bool tensor of shape (total_len, total_len) = {shape}, got {getattr(got, 'dtype', type(got).__name__)} of shape {tuple(getattr(got, 'shape', ()))}", _inputs(prefix_len, total_len))
    return got


@prefix.property("returns_bool_mask", "the result is a torch.bool tensor of shape (total_len, total_len)", tier="public")
@given(sizes=prefix_sizes())
def _returns_bool_mask(ctx: Context, sizes: tuple[int, int]) -> None:
    _mask(ctx, *sizes)


@prefix.property("every_query_sees_the_prefix", "every query sees every prefix key j < prefix_len, and key prefix_len only from query prefix_len on", tier="public")
@given(sizes=prefix_sizes())
@example(sizes=(2, 4))
@example(sizes=(3, 3))
def _every_query_sees_the_prefix(ctx: Context, sizes: tuple[int, int]) -> None:
    p, n = sizes
    got = _mask(ctx, p, n)
    ctx.check(bool(got[:, :p].all()), f"some query cannot see a prefix key: the columns j < {p} should be all True, got {got[:, :p].int().tolist()}", inputs=_inputs(p, n))
    if p < n:
        expected = torch.arange(n) >= p  # the first key after the prefix is causal
        ctx.check(torch.equal(got[:, p], expected), f"key {p} (the first after the prefix) should be visible to queries i ≥ {p} only: expected column {expected.int().tolist()}, got {got[:, p].int().tolist()}", inputs=_inputs(p, n))


@prefix.property("causal_after_the_prefix", "a key j ≥ prefix_len is seen by query i exactly when j ≤ i", tier="public")
@given(sizes=prefix_sizes())
@example(sizes=(2, 4))
def _causal_after_the_prefix(ctx: Context, sizes: tuple[int, int]) -> None:
    p, n = sizes
    got = _mask(ctx, p, n)
    expected = _loop(0, n)[:, p:]
    ctx.assert_close(got[:, p:], expected, inputs=_inputs(p, n), what=f"the columns j ≥ {p} (after the prefix)")


@prefix.property("ends_are_causal_and_full", "prefix_len = 0 gives the causal (lower-triangular) mask, prefix_len = total_len the full one", tier="public")
@given(n=gs.dims(1, 8))
@example(n=3)
def _ends(ctx: Context, n: int) -> None:
    ctx.assert_close(_mask(ctx, 0, n), torch.ones(n, n, dtype=torch.bool).tril(), inputs=_inputs(0, n), what="the mask with prefix_len = 0 (causal)")
    ctx.assert_close(_mask(ctx, n, n), torch.ones(n, n, dtype=torch.bool), inputs=_inputs(n, n), what="the mask with prefix_len = total_len (full)")


@prefix.property("matches_reference", "the mask equals the reference for every 0 ≤ prefix_len ≤ total_len", tier="hidden")
@given(sizes=prefix_sizes())
@example(sizes=(1, 4))
def _matches_reference(ctx: Context, sizes: tuple[int, int]) -> None:
    ctx.assert_close(ctx.call(*sizes), ctx.ref(*sizes), inputs=_inputs(*sizes))
