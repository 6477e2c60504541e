"""attention.padding_mask: the boolean key mask of right-padded sequences (True at the real
tokens); its properties and known mistakes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from hypothesis import example, given

from grader import strategies as gs
from grader.properties.api import Context, Exercise, Mistake
from grader.properties.attention.strategies import padding_lengths
from grader.properties.common import check_plain


def _positions(lengths, max_len):
    return torch.arange(max_len, device=lengths.device).unsqueeze(0), lengths.unsqueeze(1)


def _opposite_polarity(lengths, max_len):
    j, n = _positions(lengths, max_len)
    return j >= n


def _off_by_one(lengths, max_len):
    j, n = _positions(lengths, max_len)
    return j <= n


def _left_padded(lengths, max_len):
    j, n = _positions(lengths, max_len)
    return j >= max_len - n


padding = Exercise(
    "attention.padding_mask",
    mistakes=[
        Mistake("opposite_polarity", "your mask is True at the padding (the key_padding_mask convention of nn.MultiheadAttention, True = ignore); in this course True means 'may attend', so the real tokens are True", _opposite_polarity),
        Mistake("off_by_one", "your mask also keeps position lengths[b]: a row of length n has real tokens at 0 … n − 1, so mask[b, j] = j < lengths[b]", _off_by_one),
        Mistake("left_padded", "your mask keeps the LAST lengths[b] positions (left padding); the sequences are right-padded, so the real tokens come first", _left_padded),
    ],
)


def _loop(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """The mask written with loops: an independent statement of j < lengths[b]."""
    return torch.tensor([[j < int(n) for j in range(max_len)] for n in lengths], dtype=torch.bool)


def _inputs(lengths: torch.Tensor, max_len: int) -> dict:
    return {"lengths": lengths, "max_len": max_len}


def _check_mask(got: object, lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    shape = (lengths.shape[0], max_len)
    ok = isinstance(got, torch.Tensor) and got.dtype == torch.bool and tuple(got.shape) == shape
    check_plain(ok, f"expected a torch.bool tensor of shape (B, max_len) = {shape}, got {getattr(got, 'dtype', type(got).__name__)} of shape {tuple(getattr(got, 'shape', ()))}", _inputs(lengths, max_len))
    return got  # type: ignore[return-value]


@padding.property("returns_bool_mask", "the result is a torch.bool tensor of shape (B, max_len)", tier="public")
@given(sizes=padding_lengths())
def _returns_bool_mask(ctx: Context, sizes: tuple[torch.Tensor, int]) -> None:
    lengths, max_len = sizes
    _check_mask(ctx.call(lengths, max_len), lengths, max_len)


@padding.property("true_before_length", "mask[b, j] is True exactly at the real tokens j < lengths[b], the padding after them False", tier="public")
@given(sizes=padding_lengths())
@example(sizes=(torch.tensor([2, 4, 1]), 5))
def _true_before_length(ctx: Context, sizes: tuple[torch.Tensor, int]) -> None:
    lengths, max_len = sizes
    got = _check_mask(ctx.call(lengths, max_len), lengths, max_len)
    ctx.assert_close(got, _loop(lengths, max_len), inputs=_inputs(lengths, max_len))


@padding.property("hides_padding_as_key_mask", "broadcast as mask[:, None, None, :] over (B, H, Lq, Lk) scores, every query attends to its row's real tokens only", tier="public")
@given(sizes=padding_lengths(), heads=gs.dims(1, 2), lq=gs.dims(1, 3), seed=gs.seeds())
@example(sizes=(torch.tensor([3, 5]), 5), heads=1, lq=2, seed=0)
def _hides_padding(ctx: Context, sizes: tuple[torch.Tensor, int], heads: int, lq: int, seed: int) -> None:
    lengths, max_len = sizes
    b = lengths.shape[0]
    mask = _check_mask(ctx.call(lengths, max_len), lengths, max_len)
    q = gs.make_tensor((b, heads, lq, 3), torch.float64, seed)
    k = gs.make_tensor((b, heads, max_len, 3), torch.float64, seed + 1)
    v = gs.make_tensor((b, heads, max_len, 2), torch.float64, seed + 2)
    got = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])
    # Each row's attention over its real tokens alone, without any mask: padding must not count.
    expected = torch.stack([F.scaled_dot_product_attention(q[i], k[i, :, :n], v[i, :, :n]) for i, n in enumerate(lengths.tolist())])
    ctx.assert_close(got, expected, inputs=_inputs(lengths, max_len), what="attention with your mask as the key mask")


@padding.property("matches_reference", "the mask equals the reference, with max_len equal to or longer than the longest row", tier="hidden")
@given(sizes=padding_lengths(), extra=gs.dims(0, 3))
@example(sizes=(torch.tensor([1, 3]), 3), extra=0)
def _matches_reference(ctx: Context, sizes: tuple[torch.Tensor, int], extra: int) -> None:
    lengths, max_len = sizes[0], sizes[1] + extra
    ctx.assert_close(ctx.call(lengths, max_len), ctx.ref(lengths, max_len), inputs=_inputs(lengths, max_len))
