"""Messages that say how to fix a failure: an argument no gradient reaches, a compared gradient
that is zero where the property expected one, and a float64 result caused by type promotion
from a float64 auxiliary tensor.

Both are added to a property's failure message by the engine (``Context.fail``), so every
property gets them without changing its text.
"""

from __future__ import annotations

import copy
import re
from typing import Any

CUT_CAUSES = (
    "the usual causes: .item() or float(...) turn the tensor into a Python number; .detach(), "
    "torch.tensor(t), .numpy() or .tolist() copy it out of the autograd graph (torch.as_tensor(t, dtype=...) "
    "and t.to(...) keep it); keep it a tensor from the argument to the result"
)


def missing_gradient_hint(call: Any, reference: Any, arg_names: list[str]) -> str | None:
    """'no gradient reaches `mu` …' when the student's gradient for an argument of the latest vjp
    is missing or zero while the reference's is not; None otherwise (or when it cannot tell)."""
    import torch

    specs = [s for s in call.wrt if isinstance(s, int) or (isinstance(s, str) and s != "params")]
    got = list(call.grads.get("inputs") or [])[: len(specs)]
    suspects = [i for i, g in enumerate(got) if g is None or (isinstance(g, torch.Tensor) and g.is_floating_point() and not bool((g != 0).any()))]
    if not suspects:
        return None
    expected = _reference_grads(call, reference, specs) if reference is not None else None
    names = []
    for i in suspects:
        if expected is not None:
            e = expected[i]
            if e is None or not bool((e != 0).any()) or not bool(torch.isfinite(e).all()):
                continue  # the reference does not depend on it either
        elif got[i] is not None:
            continue  # without the reference a zero gradient may be right
        spec = specs[i]
        names.append(f"`{arg_names[spec] if isinstance(spec, int) and spec < len(arg_names) else spec}`")
    if not names:
        return None
    which = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "reaches" if expected is not None else "reaches (if the result depends on it)"
    return f"no gradient {verb} {which}: the result is cut off from {'it' if len(names) == 1 else 'them'} in the autograd graph; {CUT_CAUSES}"


STEP_CAUSES = (
    "or the result passes through a step whose derivative is 0 almost everywhere (torch.round, floor, sign, "
    "argmax, a comparison, an index chosen from it); pass the gradient straight through such a step: "
    "x + (step(x) - x).detach()"
)


def zero_gradient_hint(call: Any, got: Any, expected: Any, arg_names: list[str]) -> str | None:
    """'the gradient reaching `s` is zero …' when a gradient of the latest vjp that a property
    compares is missing or all zero while the property's own expected value is not.

    Needs no reference (a student copy has none to differentiate): the expected values come from
    the property. Gradients are matched to arguments by identity with those the vjp returned, so
    the hint names an argument, or a parameter of a module argument, only when it can tell which.
    """
    names = []
    for g, e in _compared_pairs(got, expected):
        if not _nonzero(e) or not _zero(g):
            continue
        name = _grad_name(call, g, got, arg_names)
        if name and name not in names:
            names.append(name)
    if not names:
        return None
    which = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"the gradient reaching {which} is {'zero or missing' if len(names) == 1 else 'zero or missing for each'}, but it should not be: the result is cut off from it in the autograd graph, {STEP_CAUSES}; {CUT_CAUSES}"


def _compared_pairs(got: Any, expected: Any) -> list[tuple[Any, Any]]:
    if isinstance(got, dict) and isinstance(expected, dict):
        return [(got.get(k), e) for k, e in expected.items()]
    if isinstance(got, (tuple, list)) and isinstance(expected, (tuple, list)) and len(got) == len(expected):
        return list(zip(got, expected, strict=True))
    return [(got, expected)]


def _nonzero(x: Any) -> bool:
    import torch

    return isinstance(x, torch.Tensor) and x.is_floating_point() and bool(torch.isfinite(x).all()) and bool((x != 0).any())


def _zero(x: Any) -> bool:
    import torch

    return x is None or (isinstance(x, torch.Tensor) and x.is_floating_point() and not bool((x != 0).any()))


def _grad_name(call: Any, g: Any, got: Any, arg_names: list[str]) -> str | None:
    """`mu` or `transforms` (parameter `0.shift`) for a gradient the latest vjp returned."""
    specs = [s for s in call.wrt if isinstance(s, int) or (isinstance(s, str) and s != "params")]
    inputs = list(call.grads.get("inputs") or [])
    index = next((i for i, t in enumerate(inputs) if t is g and t is not None), None)
    if index is None and g is None and isinstance(got, (tuple, list)) and len(got) == len(inputs) and all(a is b for a, b in zip(got, inputs, strict=True)):
        index = next(i for i, t in enumerate(got) if t is None)  # the property compares the whole list
    if index is not None and index < len(specs):
        spec = specs[index]
        if isinstance(spec, int):
            return f"`{arg_names[spec]}`" if spec < len(arg_names) else f"argument {spec}"  # a student copy knows no names
        return f"`{spec}`"
    for key, t in (call.grads.get("params") or {}).items():
        if t is g and t is not None:
            m = re.match(r"args\[(\d+)\]\.(.+)", key)
            if m:
                i = int(m.group(1))
                return f"{f'`{arg_names[i]}`' if i < len(arg_names) else f'argument {i}'} (its parameter `{m.group(2)}`)"
            return f"`{key}`"
    return None


def _reference_grads(call: Any, reference: Any, specs: list[Any]) -> list[Any] | None:
    """The reference's gradients for the same vjp, None where it does not use an argument."""
    import torch

    from grader.worker import _flatten

    try:
        args, kwargs = copy.deepcopy((list(call.args), dict(call.kwargs)))
        leaves = []
        for spec in specs:
            container = args if isinstance(spec, int) else kwargs
            container[spec] = container[spec].detach().clone().requires_grad_(True)
            leaves.append(container[spec])
        with torch.enable_grad():
            result = getattr(reference, call.name)(*args, **kwargs)
            pairs = [(o, g) for o, g in zip(_flatten(result), _flatten(call.grad_outputs), strict=False) if g is not None and isinstance(o, torch.Tensor) and o.requires_grad]
            if not pairs:
                return None
            outs = [o for o, _ in pairs]
            return list(torch.autograd.grad(outs, leaves, [g.to(o.dtype) for o, g in pairs], allow_unused=True))
    except Exception:  # the reference may not accept what a property sent (a wrong-kind argument)
        return None


_PROMOTED = re.compile(r"float32.*float64", re.DOTALL)


def promotion_hint(message: str, inputs: dict[str, Any]) -> str | None:
    """When float32 data gave a float64 result and a float64 tensor is among the inputs: name it."""
    import torch

    if not _PROMOTED.search(message):
        return None
    tensors = {k: v for k, v in inputs.items() if isinstance(v, torch.Tensor) and v.is_floating_point()}
    wide = [k for k, v in tensors.items() if v.dtype == torch.float64]
    if not wide or not any(v.dtype == torch.float32 for v in tensors.values()):
        return None
    which = ", ".join(f"`{k}`" for k in wide)
    return (
        f"type promotion: {which} {'is' if len(wide) == 1 else 'are'} float64, and a float64 tensor with dimensions "
        "promotes float32 data to float64 (a 0-d tensor or a Python number would not); cast what you take from it "
        "to the data's dtype, e.g. alphas_cumprod[t].to(x.dtype), before combining it with the data"
    )
