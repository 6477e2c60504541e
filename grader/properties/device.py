"""The device contract, checked on every machine: one property per exercise, ``follows_the_device``.

Most students never grade on a GPU, and on the CPU a mask built with ``torch.ones(n, n)``, a
mask kept as a plain attribute, or a schedule indexed after ``.cpu()`` passes everything. The
property replays the calls of a public property of the exercise (its inputs, its call
pattern; at most ``EXAMPLES`` examples) with every call run on a simulated CUDA device in the worker
(``grader.device_check``): the inputs, the parameters and buffers of modules (what
``.to(device)`` moves) and the generators are tagged as on the device, and an operation mixing
them with a CPU tensor, ``.numpy()`` of one, or a result left on the CPU fails with the
student's lines. Values are real, so data-dependent code (``.item()``, sampling, ``nonzero``)
runs as on the CPU: every exercise can be checked, none is skipped. It runs the same way on
a GPU machine (the verdict does not depend on where grading runs).

Not simulated: code outside torch's Python API (a C extension), and CUDA failures that are
not about devices (kernels a dtype lacks on CUDA, nondeterminism).

Only the device verdict counts here: a wrong value, or an error raised, is reported by the
other properties.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings

from grader.failures import DeviceViolation, PropertyFailure
from grader.properties.api import REGISTRY, Context, Exercise
from grader.tensors import describe_inputs

NAME = "follows_the_device"
EXAMPLES = 4  # per replayed property: each call is checked, so a few examples cover the code paths

_SIMULATED = " (checked on a simulated CUDA device: no GPU needed)"
FUNCTION = "creates every tensor on its inputs' device and returns its result there, so that it runs on a GPU" + _SIMULATED
DEFAULT_DEVICE = "creates its result on the default device (torch.set_default_device('cuda') puts it on the GPU), never explicitly on the CPU" + _SIMULATED
MODULE = "keeps working after .to(device): masks and constants are registered buffers, tensors created in forward are on the input's device" + _SIMULATED
GENERATOR = "draws with the generator on its device and returns its result there, so that it runs on a GPU" + _SIMULATED

# exercise id -> (the public properties whose calls are replayed, the statement). dtype_contract
# where there is one: general inputs, float32 and float64, and no reference needed, so a
# student copy without solutions/ checks the device too.
CHECKED: dict[str, tuple[tuple[str, ...], str]] = {
    "attention.scaled_dot_product_attention": (("dtype_contract",), FUNCTION),
    "attention.causal_mask": (("square_lower_triangular", "kv_cache_alignment"), DEFAULT_DEVICE),
    "attention.multi_head_attention": (("dtype_contract",), FUNCTION),
    "attention.online_softmax_attention": (("dtype_contract",), FUNCTION),
    "attention.padding_mask": (("true_before_length",), FUNCTION),
    "attention.prefix_lm_mask": (("every_query_sees_the_prefix", "causal_after_the_prefix"), DEFAULT_DEVICE),
    "clip.clip_loss": (("dtype_contract",), FUNCTION),
    "clip.zero_shot_probs": (("dtype_contract",), FUNCTION),
    "diffusion.linear_beta_schedule": (("shape_dtype_endpoints",), DEFAULT_DEVICE),
    "diffusion.cosine_beta_schedule": (("shape_dtype_range",), DEFAULT_DEVICE),
    "diffusion.q_sample": (("shape_and_dtype",), FUNCTION),
    "diffusion.ddpm_step": (("dtype_contract",), FUNCTION),
    "diffusion.ddim_timesteps": (("descending_from_zero",), DEFAULT_DEVICE),
    "diffusion.ddim_step": (("dtype_contract",), FUNCTION),
    "diffusion.classifier_free_guidance": (("dtype_contract",), FUNCTION),
    "diffusion.respaced_betas": (("float64_for_a_float32_schedule", "cumprod_gives_the_kept_alphas"), FUNCTION),
    "flows.AffineCoupling": (("dtype_contract",), MODULE),
    "flows.log_prob": (("dtype_contract",), FUNCTION),
    "flows.sample": (("dtype_contract",), FUNCTION),
    "gan.discriminator_loss": (("dtype_contract",), FUNCTION),
    "gan.generator_loss": (("dtype_contract",), FUNCTION),
    "gan.gradient_penalty": (("dtype_contract",), FUNCTION),
    "gan.minibatch_stddev": (("dtype_contract",), FUNCTION),
    "gan.concat_condition": (("dtype_contract",), FUNCTION),
    "gan.r1_penalty": (("dtype_contract",), FUNCTION),
    "lm.causal_lm_loss": (("dtype_contract",), FUNCTION),
    "lm.filter_logits": (("dtype_contract",), FUNCTION),
    "lm.sample_next_token": (("never_draws_a_filtered_token",), GENERATOR),
    "lm.greedy_decode": (("finished_rows_repeat_eos",), FUNCTION),
    "lm.mask_tokens": (("returns_ids_and_labels",), GENERATOR),
    "lm.prepend_soft_prompt": (("dtype_contract",), FUNCTION),
    "lm.completion_only_labels": (("dtype_contract",), FUNCTION),
    "metrics.inception_score": (("dtype_contract",), FUNCTION),
    "metrics.feature_statistics": (("dtype_contract",), FUNCTION),
    "metrics.frechet_distance": (("dtype_contract",), FUNCTION),
    "metrics.precision_recall": (("dtype_contract",), FUNCTION),
    "metrics.mean_pairwise_distance": (("dtype_contract",), FUNCTION),
    "pixelcnn.causal_mask": (("float32_of_weight_shape",), DEFAULT_DEVICE),
    "pixelcnn.MaskedConv2d": (("dtype_contract",), MODULE),
    "pixelcnn.sample": (("integer_values_as_floats",), GENERATOR),
    "transformer.layer_norm": (("dtype_contract",), FUNCTION),
    "transformer.sinusoidal_position_encoding": (("pairs_on_unit_circle",), DEFAULT_DEVICE),
    "transformer.feed_forward": (("dtype_contract",), FUNCTION),
    "transformer.encoder_block": (("dtype_contract",), FUNCTION),
    "transformer.decoder_block": (("dtype_contract",), FUNCTION),
    "vae.reparameterize": (("dtype_contract",), FUNCTION),
    "vae.kl_standard_normal": (("dtype_contract",), FUNCTION),
    "vae.negative_elbo": (("dtype_contract",), FUNCTION),
    "vae.slerp": (("dtype_contract",), FUNCTION),
    "vit.patchify": (("dtype_contract",), FUNCTION),
    "vit.unpatchify": (("dtype_contract",), FUNCTION),
    "vit.embed_patches": (("dtype_contract",), FUNCTION),
    "vit.interpolate_pos_embed": (("dtype_contract",), FUNCTION),
    "vq.vector_quantize": (("dtype_contract",), FUNCTION),
}


def register_device_contracts(topic: str) -> None:
    """Add ``follows_the_device`` to each exercise of ``topic`` listed in CHECKED (after its
    other properties: their order, and so their examples, do not change)."""
    for exercise_id, (sources, statement) in CHECKED.items():
        exercise = REGISTRY.get(exercise_id)
        if exercise is None or exercise.topic != topic or any(p.name == NAME for p in exercise.properties):
            continue
        device_contract(exercise, sources, statement)


def device_contract(exercise: Exercise, sources: tuple[str, ...], statement: str) -> None:
    """Register ``follows_the_device``: the calls of ``sources`` replayed on the simulated device."""
    props = [exercise.property_named(name) for name in sources]
    tier = "hidden" if any(p.tier == "hidden" for p in props) else "public"
    runs = [_tracked(p.test) for p in props]

    def test(ctx: Context) -> None:
        for run in runs:
            run(ctx)

    exercise.property(NAME, statement, tier=tier)(test)


def _tracked(source: Callable[..., None]) -> Callable[[Context], None]:
    """A Hypothesis test drawing what ``source`` draws and running its body on the simulated device."""
    handle = _hypothesis_test(source).hypothesis  # type: ignore[attr-defined]
    inner = handle.inner_test

    @settings(max_examples=min(EXAMPLES, settings.default.max_examples))
    @given(**handle._given_kwargs)
    def run(ctx: Context, **drawn: Any) -> None:
        # Simulated on the CPU on every machine, a GPU one too: the same verdict everywhere, and
        # a function without tensor inputs is checked under the simulated default device.
        student = dataclasses.replace(ctx.student, track_device=True, device="cpu", calls=[])
        try:
            inner(dataclasses.replace(ctx, student=student, device="cpu"), **drawn)
        except DeviceViolation as violation:
            raise DeviceViolation(violation.message, details=_details(violation.details, drawn)) from None
        except PropertyFailure:
            pass  # a wrong value or an error is the business of the other properties

    return run


def _hypothesis_test(test: Callable[..., None]) -> Callable[..., None]:
    """The ``@given`` test itself, under wrappers that re-diagnose a failure (lm's ``strict_diagnoses``)."""
    if hasattr(test, "hypothesis"):
        return test
    for cell in test.__closure__ or ():
        inner = cell.cell_contents
        if callable(inner) and hasattr(inner, "hypothesis"):
            return inner
    raise TypeError(f"{test.__qualname__} is not a Hypothesis test: its calls cannot be replayed on the simulated device")


def _details(lines: str, drawn: dict[str, Any]) -> str:
    """The minimal input, then the student's lines: where the tensor was made and where it fails."""
    inputs: dict[str, Any] = {}
    for name, value in drawn.items():
        inputs.update(value if isinstance(value, dict) else {name: value})
    return describe_inputs(inputs) + (f"\nyour code:\n{lines}" if lines else "")
