"""Helpers shared by several lm exercises."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch

from grader.failures import PropertyFailure
from grader.properties.api import Context, Exercise, replay
from grader.properties.judge_only import judge_only
from grader.tensors import allclose

NEG_INF = float("-inf")


def _kept_by_statement(logits: torch.Tensor, temperature: Any, top_k: int | None, top_p: float | None) -> torch.Tensor:
    """(B, V) bool: which tokens the statement keeps, one row at a time in float64 (a naive loop)."""
    scaled = logits.double() / float(temperature)
    kept = torch.ones_like(scaled, dtype=torch.bool)
    for b in range(scaled.shape[0]):
        row = scaled[b].tolist()
        order = sorted(range(len(row)), key=lambda i: -row[i])
        if top_k:
            kth = row[order[min(top_k, len(row)) - 1]]
            kept[b] = torch.tensor([x >= kth for x in row])
        if top_p is not None and top_p < 1.0:
            survivors = [i for i in order if kept[b, i]]
            norm = sum(math.exp(row[i] - row[survivors[0]]) for i in survivors)
            mass = 0.0
            for rank, i in enumerate(survivors):
                if rank > 0 and mass >= top_p:  # the mass above already reaches top_p
                    kept[b, i] = False
                mass += math.exp(row[i] - row[survivors[0]]) / norm
    return kept


@judge_only
def _filter_variant(logits, temperature=1.0, top_k=None, top_p=None, *, ties=True, crossing=True, scale_first=True, k_first=True, multiply=False):
    """Filtering with one known mistake switched on (the defaults give the correct result)."""
    out = logits * temperature if multiply else logits / temperature if scale_first else logits
    steps = [("k", top_k), ("p", top_p)] if k_first else [("p", top_p), ("k", top_k)]
    for kind, value in steps:
        if kind == "k" and value:
            k = min(value, out.shape[-1])
            values, idx = torch.topk(out, k, dim=-1)
            if ties:
                out = out.masked_fill(out < values[..., -1:], NEG_INF)
            else:
                out = torch.full_like(out, NEG_INF).scatter(-1, idx, values)
        if kind == "p" and value is not None and value < 1.0:
            sorted_logits, order = torch.sort(out, dim=-1, descending=True)
            cum = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
            remove = cum > value if not crossing else (cum - sorted_logits.softmax(dim=-1)) >= value
            if crossing:
                remove[..., 0] = False
            out = out.masked_fill(remove.scatter(-1, order, remove), NEG_INF)
    return out if scale_first or multiply else out / temperature


# ----------------------------------------------------------------------------- diagnoses

def _identical(got: Any, wrong: Any) -> bool:
    """Like the engine's match of an output with a mistake's, but dtypes must agree and ±inf
    must sit at the same places (the engine accepts any value where the mistake has -inf)."""
    if isinstance(wrong, (tuple, list)):
        return isinstance(got, (tuple, list)) and len(got) == len(wrong) and all(_identical(g, w) for g, w in zip(got, wrong))
    if not isinstance(wrong, torch.Tensor):
        return allclose(got, wrong)
    if not isinstance(got, torch.Tensor) or got.shape != wrong.shape or got.dtype != wrong.dtype:
        return False
    if wrong.is_floating_point():
        infinite = wrong.isinf()
        if not torch.equal(got.isinf(), infinite) or not torch.equal(got[infinite], wrong[infinite]):
            return False
        return allclose(got.masked_fill(infinite, 0.0), wrong.masked_fill(infinite, 0.0))
    return torch.equal(got, wrong)


def _diagnose(ctx: Context) -> str | None:
    """The message of the first mistake that reproduces the latest call exactly (see _identical)."""
    if not ctx.student.calls:
        return None
    call = ctx.student.calls[-1]
    for mistake in ctx.exercise.mistakes:
        try:
            wrong = replay(call, mistake.impl, ctx.device)
        except Exception:  # a variant may not apply to every input
            continue
        if _identical(call.result, wrong):
            return mistake.message
    return None


def _strict_diagnosis(test: Any) -> Any:
    """Re-diagnose a failed property with ``_diagnose``: a float64 result for float32 inputs, or
    logits kept where a mistake removes them, must not be named after that mistake."""

    def run(ctx: Context, *args: Any, **kwargs: Any) -> None:
        try:
            test(ctx, *args, **kwargs)
        except PropertyFailure as failure:
            if type(failure) is PropertyFailure:  # a student's exception or a contract violation has no diagnosis
                failure.diagnosis = _diagnose(ctx)
            raise

    return run


def strict_diagnoses(exercise: Exercise) -> None:
    """Wrap every property of an lm exercise with ``_strict_diagnosis``; each exercise module calls
    it after its last property."""
    exercise.properties[:] = [dataclasses.replace(p, test=_strict_diagnosis(p.test)) for p in exercise.properties]
