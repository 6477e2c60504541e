"""Properties and known mistakes of ``lm.sample_next_token``."""

from __future__ import annotations

import torch
from hypothesis import assume, example, given
from hypothesis import strategies as st

from grader.properties.api import Context, Exercise, Mistake
from grader.properties.common import NotApplicable
from grader.properties.lm import strategies as gs
from grader.properties.lm._shared import NEG_INF, _filter_variant, _kept_by_statement, strict_diagnoses
from grader.properties.lm.filter_logits import _filter_unstable_softmax
from grader.properties.stability import UNSTABLE_SOFTMAX, naming_the_formula
from grader.stats import implausible

# Seeded statistical tests check each category of the draws (a token, "became [MASK]", …) with
# the Chernoff bound of grader/stats.py: a correct implementation fails one example with
# probability at most 1e-9, a grading run with probability below 1e-7.


def _sample_greedy(logits, generator, temperature=1.0, top_k=None, top_p=None):
    return logits.argmax(dim=-1)


def _sample_unfiltered(logits, generator, temperature=1.0, top_k=None, top_p=None):
    return torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1, generator=generator).squeeze(-1)


def _sample_global_rng(logits, generator, temperature=1.0, top_k=None, top_p=None):
    # The worker seeds torch's global generator with 0 before every call: a submission that
    # ignores `generator` draws this stream, whatever generator it is given.
    probs = torch.softmax(_filter_variant(logits, temperature, top_k, top_p), dim=-1)
    return torch.multinomial(probs, 1, generator=torch.Generator(device=logits.device).manual_seed(0)).squeeze(-1)


def _sample_keeps_sample_dim(logits, generator, temperature=1.0, top_k=None, top_p=None):
    return torch.multinomial(torch.softmax(_filter_variant(logits, temperature, top_k, top_p), dim=-1), 1, generator=generator)


def _sample_top_p_naive(logits, generator, temperature=1.0, top_k=None, top_p=None):
    # Top-p with probabilities exp(x)/Σexp(x): its nan cumulative sums remove nothing.
    probs = torch.softmax(_filter_unstable_softmax(logits, temperature, top_k, top_p), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _sample_unstable_top_p(logits, generator, temperature=1.0, top_k=None, top_p=None):
    # unless_right would draw twice from one generator: compare the filtered logits instead.
    if torch.equal(_filter_unstable_softmax(logits, temperature, top_k, top_p), _filter_variant(logits, temperature, top_k, top_p)):
        raise NotApplicable("the unstable top-p keeps the right tokens on these logits")
    return _sample_top_p_naive(logits, generator, temperature, top_k, top_p)


_sample_unstable_top_p.__wrapped__ = _sample_top_p_naive  # type: ignore[attr-defined]  # as a student writes it


sample_ex = Exercise(
    "lm.sample_next_token",
    mistakes=[
        Mistake("argmax_instead_of_sampling", "your output is the argmax of every row (greedy decoding); draw from the softmax of the filtered logits with torch.multinomial(probs, 1, generator=generator)", _sample_greedy),
        Mistake("unstable_top_p", f"your draws come from top-p whose probabilities are {UNSTABLE_SOFTMAX} (the nan probabilities then remove nothing)", _sample_unstable_top_p),
        Mistake("filters_ignored", "your output draws from softmax(logits / temperature) without top-k/top-p filtering; sample from softmax(filter_logits(...))", _sample_unfiltered),
        Mistake("generator_ignored", "your draws do not depend on the generator you were given (they come from torch's global random state); pass generator=generator to the sampling call", _sample_global_rng),
        Mistake("keeps_sample_dim", "your output has shape (B, 1), as torch.multinomial(probs, 1) returns it; squeeze the last dimension to get (B,)", _sample_keeps_sample_dim),
    ],
)


DRAWS = 8192  # identical rows per statistical example: one call, many independent draws


def _sample_inputs(logits: torch.Tensor, settings: dict, seed: int) -> dict:
    return {"logits": logits, **settings, "generator seed": seed}


def _draws(ctx: Context, logits: torch.Tensor, settings: dict, seed: int) -> torch.Tensor:
    """Call the student's sampler; check that it returned (B,) int64 ids in [0, V)."""
    out = ctx.call(logits, gs.generator(seed), settings["temperature"], settings["top_k"], settings["top_p"])
    b, vocab = logits.shape
    shape_ok = isinstance(out, torch.Tensor) and out.shape == (b,) and out.dtype == torch.int64
    ctx.check(shape_ok, f"expected a (B,) = ({b},) int64 tensor of token ids, got {getattr(out, 'dtype', type(out).__name__)} of shape {tuple(getattr(out, 'shape', ()))}", inputs=_sample_inputs(logits[:4], settings, seed))
    ctx.check(bool(((out >= 0) & (out < vocab)).all()), f"token ids must lie in [0, {vocab}); got values from {int(out.min())} to {int(out.max())}", inputs=_sample_inputs(logits[:4], settings, seed))
    return out


def _check_frequencies(ctx: Context, draws: torch.Tensor, probs: torch.Tensor, inputs: dict) -> None:
    counts = torch.bincount(draws, minlength=probs.numel()).tolist()
    table = [(f"token {i}", counts[i], draws.numel(), float(probs[i])) for i in range(probs.numel())]
    problem = implausible(table)
    ctx.check(problem is None, f"{draws.numel()} draws from identical rows do not follow the expected distribution — {problem}", inputs=inputs)


@sample_ex.property("draws_are_token_ids", "the result is a (B,) int64 tensor of ids in [0, V)", tier="public")
@given(a=gs.filter_logits_inputs(), seed=gs.seeds())
def _sample_shape(ctx: Context, a: dict, seed: int) -> None:
    _draws(ctx, a["logits"], a, seed)


@sample_ex.property("never_draws_a_filtered_token", "a token removed by top-k or top-p is never drawn", tier="public")
@given(a=gs.filter_logits_inputs(min_temperature=1.0), seed=gs.seeds())
@example(a={"logits": torch.tensor([[1.0, 0.9, 0.8, 0.7]]), "temperature": 1.0, "top_k": 2, "top_p": None}, seed=0)
def _never_filtered(ctx: Context, a: dict, seed: int) -> None:
    kept = _kept_by_statement(a["logits"], a["temperature"], a["top_k"], a["top_p"])
    assume(not bool(kept.all()))
    repeats = 512  # filtered tokens here carry a visible share of the unfiltered probability
    logits = a["logits"].repeat_interleave(repeats, dim=0)  # (B·512, V)
    draws = _draws(ctx, logits, a, seed)
    allowed = kept.repeat_interleave(repeats, dim=0).gather(-1, draws[:, None]).squeeze(-1)  # (B·512,)
    if not bool(allowed.all()):
        i = int((~allowed).nonzero()[0])
        survivors = kept[i // repeats].nonzero().flatten().tolist()
        ctx.fail(f"drew a filtered token: a copy of row {i // repeats} drew token {int(draws[i])}, but only tokens {survivors} survive the filter", inputs=_sample_inputs(a["logits"], a, seed))


@sample_ex.property("frequencies_follow_softmax", "without top-k/top-p, token i is drawn with probability softmax(logits / temperature)_i (seeded test on 8192 draws)", tier="public")
@given(vocab=gs.dims(2, 8), dtype=gs.float_dtypes(), seed=gs.seeds(), temperature=st.floats(0.5, 2.0))
def _follows_softmax(ctx: Context, vocab: int, dtype: torch.dtype, seed: int, temperature: float) -> None:
    row = gs.make_tensor((1, vocab), dtype, seed)
    settings = {"temperature": temperature, "top_k": None, "top_p": None}
    draws = _draws(ctx, row.repeat(DRAWS, 1), settings, seed + 1)
    probs = torch.softmax(row[0].double() / temperature, dim=-1)
    _check_frequencies(ctx, draws, probs, _sample_inputs(row, settings, seed + 1))


@sample_ex.property("uses_the_generator", "the same generator seed gives the same draws and another seed other draws", tier="public")
@given(vocab=gs.dims(2, 8), seed=gs.seeds())
def _uses_generator(ctx: Context, vocab: int, seed: int) -> None:
    logits = torch.zeros(2048, vocab)  # uniform rows: two seeds agree everywhere with probability ≤ 2^-2048
    settings = {"temperature": 1.0, "top_k": None, "top_p": None}
    first = _draws(ctx, logits, settings, seed)
    again = _draws(ctx, logits, settings, seed)
    ctx.check(torch.equal(first, again), "two calls with generators seeded alike gave different draws: draw only with the generator", inputs=_sample_inputs(logits[:2], settings, seed))
    other = _draws(ctx, logits, settings, seed + 1)
    ctx.check(not torch.equal(first, other), "generators with different seeds gave exactly the same 2048 draws: the draws must come from the generator argument", inputs=_sample_inputs(logits[:2], settings, seed + 1))


@sample_ex.property("follows_the_filtered_distribution", "draws follow softmax of the reference's filtered logits for random temperature, top_k and top_p (seeded test on 8192 draws)", tier="hidden")
@given(a=gs.filter_logits_inputs(), seed=gs.seeds())
def _follows_filtered(ctx: Context, a: dict, seed: int) -> None:
    row = a["logits"][:1]
    draws = _draws(ctx, row.repeat(DRAWS, 1), a, seed)
    probs = torch.softmax(ctx.ref_impl("filter_logits")(row, a["temperature"], a["top_k"], a["top_p"])[0].double(), dim=-1)
    _check_frequencies(ctx, draws, probs, _sample_inputs(row, a, seed))


@sample_ex.property("stable_for_large_logits", "with logits of magnitude 1e2–1e4 (positive or negative), temperature 0.5–2 and top-p on or off, draws follow the same distribution as for the logits shifted to 0 (seeded test on 8192 draws)", tier="public")
@given(a=gs.large_logit_sample_inputs(), seed=gs.seeds())
def _sample_stable_for_large_logits(ctx: Context, a: dict, seed: int) -> None:
    row = a["logits"]
    kept = _kept_by_statement(row, a["temperature"], None, a["top_p"])
    probs = (row[0].double() / a["temperature"]).masked_fill(~kept[0], NEG_INF).softmax(dim=-1)  # max subtracted
    shown = _sample_inputs(row, a, seed)
    with naming_the_formula(UNSTABLE_SOFTMAX, inputs=shown, note=f"(the row repeated {DRAWS} times)"):  # multinomial raises on nan
        _check_frequencies(ctx, _draws(ctx, row.repeat(DRAWS, 1), a, seed), probs, shown)


# Last, once every property is registered: failures are re-diagnosed strictly (see _shared).
strict_diagnoses(sample_ex)
