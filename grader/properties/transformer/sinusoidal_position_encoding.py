"""Properties and known mistakes of ``transformer.sinusoidal_position_encoding``."""

from __future__ import annotations

import math

import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.transformer import strategies as gs


def _angles(num_positions, d_model, exponent_of_column):
    p = torch.arange(num_positions, dtype=torch.float64).unsqueeze(1)
    j = torch.arange(d_model, dtype=torch.float64)
    return p / 10000.0 ** (exponent_of_column(j) / d_model)  # (P, d): the angle used by column j


def _pe_concatenated_halves(num_positions, d_model):
    p = torch.arange(num_positions, dtype=torch.float64).unsqueeze(1)
    angle = p / 10000.0 ** (torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # (P, d/2)
    return torch.cat((torch.sin(angle), torch.cos(angle)), dim=-1).float()


def _pe_sin_cos_swapped(num_positions, d_model):
    angle = _angles(num_positions, d_model, lambda j: 2 * (j // 2))
    return torch.where(torch.arange(d_model) % 2 == 0, torch.cos(angle), torch.sin(angle)).float()


def _pe_exponent_per_column(num_positions, d_model):
    angle = _angles(num_positions, d_model, lambda j: j)  # (2i + 1)/d on the cos columns instead of 2i/d
    return torch.where(torch.arange(d_model) % 2 == 0, torch.sin(angle), torch.cos(angle)).float()


def _pe_float64(num_positions, d_model):
    angle = _angles(num_positions, d_model, lambda j: 2 * (j // 2))
    return torch.where(torch.arange(d_model) % 2 == 0, torch.sin(angle), torch.cos(angle))  # float64, as numpy builds it


position_encoding = Exercise(
    "transformer.sinusoidal_position_encoding",
    mistakes=[
        # First: it reproduces only outputs whose values are right, and at position 0 alone every layout agrees.
        Mistake("float64_result", "your output is float64 (built with numpy or in double); return torch.get_default_dtype()", _pe_float64),
        Mistake("concatenated_halves", "your output puts all sines in the first half of the columns and all cosines in the second; Vaswani interleaves them: sin on even columns 2i, cos on odd columns 2i+1", _pe_concatenated_halves),
        Mistake("sin_cos_swapped", "your output has cos on the even columns and sin on the odd ones; PE[p, 2i] = sin, PE[p, 2i+1] = cos", _pe_sin_cos_swapped),
        Mistake("exponent_per_column", "your output uses 10000^(j/d) with j the column index, so a cos column gets another frequency than its sin column; both columns of pair i use 10000^(2i/d)", _pe_exponent_per_column),
    ],
)


def _pe_formula(num_positions: int, d_model: int) -> torch.Tensor:
    """The definition with math.sin / math.cos, one entry at a time, in float64."""
    return torch.tensor(
        [[(math.sin if j % 2 == 0 else math.cos)(p / 10000 ** ((j - j % 2) / d_model)) for j in range(d_model)] for p in range(num_positions)],
        dtype=torch.float64,
    )


@position_encoding.property("known_answer", "PE(3, 4) has rows [sin p, cos p, sin(p/100), cos(p/100)], and PE(1, 2) = [[0, 1]]", tier="public")
@given(case=st.sampled_from(((3, 4), (1, 2))))
def _pe_known_answer(ctx: Context, case: tuple[int, int]) -> None:
    got = ctx.call(*case)
    ctx.assert_close(got, _pe_formula(*case).float(), inputs={"num_positions": case[0], "d_model": case[1]})


@position_encoding.property("pairs_on_unit_circle", "each (sin, cos) column pair satisfies PE[p, 2i]² + PE[p, 2i+1]² = 1, and position 0 is [0, 1, 0, 1, ...]", tier="public")
@given(sizes=gs.position_encoding_sizes())
def _pe_pairs_on_unit_circle(ctx: Context, sizes: tuple[int, int]) -> None:
    n, d = sizes
    pe = ctx.call(n, d)
    shown = {"num_positions": n, "d_model": d}
    ctx.check(isinstance(pe, torch.Tensor) and tuple(pe.shape) == (n, d), f"expected shape {(n, d)}, got {getattr(pe, 'shape', type(pe).__name__)}", inputs=shown)
    radius = pe[:, 0::2].double() ** 2 + pe[:, 1::2].double() ** 2  # (P, d/2)
    ctx.assert_close(radius, torch.ones_like(radius), inputs=shown, what="sin² + cos² of each column pair", rtol=1e-5, atol=1e-6)
    first = torch.tensor([0.0, 1.0] * (d // 2), dtype=pe.dtype)
    ctx.assert_close(pe[0], first, inputs=shown, what="the encoding of position 0")


@position_encoding.property("shift_is_rotation", "PE[p + k] is PE[p] with each (sin, cos) pair rotated by the angle of PE[k] (sin(a + b) and cos(a + b) formulas)", tier="public")
@given(sizes=gs.position_encoding_sizes(), data=st.data())
def _pe_shift_is_rotation(ctx: Context, sizes: tuple[int, int], data: st.DataObject) -> None:
    n, d = sizes
    pe = ctx.call(n, d)
    p = data.draw(st.integers(0, n - 1), label="p")
    k = data.draw(st.integers(0, n - 1 - p), label="k")
    s_p, c_p, s_k, c_k = (t.double() for t in (pe[p, 0::2], pe[p, 1::2], pe[k, 0::2], pe[k, 1::2]))
    expected = torch.stack((s_p * c_k + c_p * s_k, c_p * c_k - s_p * s_k), dim=-1).reshape(d)  # interleaved sin, cos
    ctx.assert_close(pe[p + k].double(), expected, inputs={"num_positions": n, "d_model": d, "p": p, "k": k}, what=f"PE[{p + k}]", rtol=1e-5, atol=1e-5)


@position_encoding.property("default_dtype", "the result has shape (num_positions, d_model) and the default float dtype (float32)", tier="public")
@given(sizes=gs.position_encoding_sizes())
def _pe_default_dtype(ctx: Context, sizes: tuple[int, int]) -> None:
    n, d = max(sizes[0], 2), max(sizes[1], 4)  # at least 2 positions and 2 pairs, where the known layouts differ
    got = ctx.call(n, d)
    shown = {"num_positions": n, "d_model": d}
    ctx.check(isinstance(got, torch.Tensor) and tuple(got.shape) == (n, d), f"expected shape {(n, d)}, got {getattr(got, 'shape', type(got).__name__)}", inputs=shown)
    ctx.check(got.dtype == torch.get_default_dtype(), f"expected the default dtype {torch.get_default_dtype()}, got {got.dtype}", inputs=shown)


@position_encoding.property("matches_reference", "the encodings equal the reference for up to 32 positions and widths up to 16", tier="hidden")
@given(sizes=gs.position_encoding_sizes())
def _pe_matches_reference(ctx: Context, sizes: tuple[int, int]) -> None:
    ctx.assert_close(ctx.call(*sizes), ctx.ref(*sizes), inputs={"num_positions": sizes[0], "d_model": sizes[1]})
