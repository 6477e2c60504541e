"""What several metrics exercises share: tolerances for Python floats computed from inputs of a
given dtype, and how a wrong result type is shown.
"""

from __future__ import annotations

import torch

from grader.properties.api import Context


def _tol(ctx: Context, dtype: torch.dtype, *, scale: float = 1.0) -> dict[str, float]:
    """Keyword tolerances for comparing numbers computed from inputs of ``dtype``."""
    rtol, atol = ctx.tolerance(dtype)
    return {"rtol": rtol, "atol": atol * scale}


def _is_float(x: object) -> bool:
    return isinstance(x, float)


def _type_name(x: object) -> str:
    return f"{type(x).__name__} {x!r}"[:120]

