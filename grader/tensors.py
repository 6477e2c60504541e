"""Comparing and describing results: what a failure message shows a student."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

SMALL = 12  # tensors with at most this many elements are shown with their values


def fmt_value(x: Any) -> str:
    """A compact rendering of a tensor (shape, dtype, values when small) or a plain value."""
    import torch

    if isinstance(x, torch.Tensor):
        head = f"{str(x.dtype).removeprefix('torch.')} {tuple(x.shape)}"
        if x.numel() <= SMALL:
            values = x.detach().cpu()
            if values.is_floating_point():
                values = values.double()
                text = _round_list(values.tolist())
            else:
                text = str(values.tolist())
            return f"{head} = {text}"
        return head
    if isinstance(x, float):
        return f"{x:.6g}"
    if isinstance(x, (list, tuple)) and not any(_is_tensor(v) for v in x):
        return repr(x)
    if isinstance(x, (list, tuple)):
        inner = ", ".join(fmt_value(v) for v in x)
        return f"({inner})" if isinstance(x, tuple) else f"[{inner}]"
    if isinstance(x, torch.nn.Module):
        return type(x).__name__
    return repr(x)[:200]


def _is_tensor(x: Any) -> bool:
    import torch

    return isinstance(x, torch.Tensor)


def _round_list(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_round_list(x) for x in v) + "]"
    return f"{v:.4g}"


def describe_inputs(inputs: dict[str, Any]) -> str:
    """One line per input of the failing example."""
    return "\n".join(f"{name}: {fmt_value(value)}" for name, value in inputs.items())


def difference(got: Any, expected: Any, *, tol: Callable[[Any], tuple[float, float]], check_dtype: bool = True, path: str = "") -> str | None:
    """None when ``got`` matches ``expected``; otherwise what differs, for a student to read."""
    import torch

    where = f" in {path}" if path else ""
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"expected a tensor{where}, got {type(got).__name__} {fmt_value(got)}"
        if tuple(got.shape) != tuple(expected.shape):
            return f"expected shape {tuple(expected.shape)}{where}, got {tuple(got.shape)}"
        if check_dtype and got.dtype != expected.dtype:
            return f"expected dtype {str(expected.dtype).removeprefix('torch.')}{where}, got {str(got.dtype).removeprefix('torch.')}"
        if expected.dtype == torch.bool or not (expected.is_floating_point() or expected.is_complex()):
            mismatch = got.to(expected.dtype) != expected
            if mismatch.any():
                idx = tuple(int(i) for i in mismatch.nonzero()[0])
                return f"mismatch{where} at index {idx}: expected {expected[idx].item()}, got {got[idx].item()} ({int(mismatch.sum())} of {expected.numel()} entries differ)"
            return None
        rtol, atol = tol(expected.dtype)
        g, e = got.detach().double().cpu(), expected.detach().double().cpu()
        both_nan = g.isnan() & e.isnan()
        same_inf = g.isinf() & e.isinf() & (g == e)
        close = e.isfinite() & ((g - e).abs() <= atol + rtol * e.abs())  # an infinite expectation is met only exactly
        ok = close | both_nan | same_inf
        if bool(ok.all()):
            return None
        bad = ~ok
        diff = (g - e).abs().nan_to_num(nan=math.inf)
        diff = torch.where(bad, diff, torch.zeros_like(diff))
        flat = int(diff.reshape(-1).argmax()) if diff.numel() else 0
        idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), tuple(e.shape))) if e.dim() else ()
        gv, ev = g[idx].item(), e[idx].item()
        return (
            f"max abs difference {abs(gv - ev):.3g}{where} at index {idx}: expected {ev:.6g}, got {gv:.6g} "
            f"({int(bad.sum())} of {e.numel()} entries outside rtol={rtol:g}, atol={atol:g})"
        )
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return f"expected a {type(expected).__name__} of {len(expected)} values{where}, got {type(got).__name__}"
        if len(got) != len(expected):
            return f"expected {len(expected)} values{where}, got {len(got)}"
        for i, (g_, e_) in enumerate(zip(got, expected, strict=True)):
            problem = difference(g_, e_, tol=tol, check_dtype=check_dtype, path=f"{path}[{i}]" if path else f"result[{i}]")
            if problem:
                return problem
        return None
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return None if got == expected and type(got) is type(expected) else f"expected {expected!r}{where}, got {fmt_value(got)}"
    if isinstance(expected, (int, float)):
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            return f"expected a number{where}, got {type(got).__name__}"
        rtol, atol = tol("float64") if isinstance(expected, float) else (0.0, 0.0)
        if math.isnan(expected) and math.isnan(got):
            return None
        if got == expected or abs(got - expected) <= atol + rtol * abs(expected):
            return None
        return f"expected {expected:.6g}{where}, got {got:.6g} (difference {abs(got - expected):.3g})"
    return None if got == expected else f"expected {expected!r}{where}, got {got!r}"


def allclose(a: Any, b: Any) -> bool:
    """Loose structural equality, used to match a student's output with a known mistake."""
    def tol(dtype: Any) -> tuple[float, float]:
        name = str(dtype).removeprefix("torch.")
        return {"float64": (1e-6, 1e-8)}.get(name, (1e-3, 1e-5))

    try:
        return difference(a, b, tol=tol, check_dtype=False) is None
    except Exception:
        return False
