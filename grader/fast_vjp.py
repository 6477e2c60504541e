"""Vector-Jacobian products without torch's first-call import of sympy.

``torch.autograd.grad(outputs, inputs, grad_outputs)`` checks the gradients' shapes through
``torch.fx.experimental.symbolic_shapes``, whose first import (it pulls in sympy) costs about a
fifth of importing torch itself — in the judge (the reference's gradients) and in every fresh
worker (the student's), on the path of every exercise with a gradient property. The gradient of
Σ output·grad_output with respect to the inputs is the same product, bit for bit: the backward of
``(o * g).sum()`` hands ``1.0 * g``, exactly ``g``, to ``o``'s graph. Shapes are compared here,
since the product would broadcast where ``autograd.grad`` refuses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch


def vjp_loss(outputs: Sequence[Any], grad_outputs: Sequence[Any]) -> Any:
    """Σ (output · its gradient), whose gradient is the vector-Jacobian product."""
    if not outputs:
        return list(outputs)  # torch reports the empty case itself
    for out, g in zip(outputs, grad_outputs, strict=True):
        if out.shape != g.shape:
            raise RuntimeError(f"Mismatch in shape: grad_output has a shape of {g.shape} and output has a shape of {out.shape}")
    loss = (outputs[0] * grad_outputs[0]).sum()
    for out, g in zip(outputs[1:], grad_outputs[1:], strict=True):
        loss = loss + (out * g).sum()
    return loss


@contextmanager
def grads_without_sympy() -> Iterator[None]:
    """Within: ``torch.autograd.grad`` with plain tensor gradients and no ``create_graph`` goes
    through :func:`vjp_loss`; every other call (double backward, batched or missing gradients,
    sparse or nested tensors) goes to torch unchanged. For the judge, which is single-threaded."""
    original = torch.autograd.grad

    def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None, create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None, is_grads_batched: bool = False, materialize_grads: bool = False) -> Any:
        # Grad mode off (inside a custom backward, e.g. grader.release.answers' recorder): the
        # loss built by vjp_loss would have no graph; torch's own path handles it.
        pairs = None if create_graph or is_grads_batched or not torch.is_grad_enabled() else _plain_pairs(outputs, grad_outputs)
        if pairs is None:
            return original(outputs, inputs, grad_outputs, retain_graph, create_graph, only_inputs, allow_unused, is_grads_batched, materialize_grads)
        loss = vjp_loss([o for o, _ in pairs], [g for _, g in pairs])
        return original(loss, inputs, None, retain_graph, False, only_inputs, allow_unused, False, materialize_grads)

    torch.autograd.grad = grad
    try:
        yield
    finally:
        torch.autograd.grad = original


def _plain_pairs(outputs: Any, grad_outputs: Any) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
    """(output, gradient) pairs when every one is a dense tensor pair of one shape, dtype and
    device with a graph to follow; None when torch's own path must judge the call."""
    outs = [outputs] if isinstance(outputs, torch.Tensor) else outputs
    grads = [grad_outputs] if isinstance(grad_outputs, torch.Tensor) else grad_outputs
    if not isinstance(outs, (list, tuple)) or not isinstance(grads, (list, tuple)) or len(outs) != len(grads) or not outs:
        return None
    pairs = []
    for out, g in zip(outs, grads, strict=True):
        if type(out) is not torch.Tensor or type(g) is not torch.Tensor or not out.requires_grad:
            return None
        if out.layout != torch.strided or g.layout != torch.strided or out.is_nested or out.is_complex():
            return None
        if out.shape != g.shape or out.dtype != g.dtype or out.device != g.device:
            return None
        pairs.append((out, g))
    return pairs
