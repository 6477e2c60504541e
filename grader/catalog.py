"""The exercise catalog: every exercise id and the questions it belongs to.

Mirrors ``EXERCISES.md`` (the course's public interface). Kept free of torch so that the
question-bank validator and the TUI can use it without importing the grading engine.
"""

from __future__ import annotations

# exercise id -> questions it belongs to, in catalog order.
EXERCISES: dict[str, tuple[str, ...]] = {
    "vae.reparameterize": ("q5", "q54"),
    "vae.kl_standard_normal": ("q6",),
    "vae.negative_elbo": ("q5", "q7"),
    "vae.slerp": ("q2", "q54"),
    "gan.discriminator_loss": ("q10", "q12"),
    "gan.generator_loss": ("q11", "q12", "q14"),
    "gan.gradient_penalty": ("q37",),
    "gan.minibatch_stddev": ("q13", "q37"),
    "gan.concat_condition": ("q15",),
    "gan.r1_penalty": ("q14",),
    "diffusion.linear_beta_schedule": ("q17", "q19"),
    "diffusion.cosine_beta_schedule": ("q19",),
    "diffusion.q_sample": ("q16", "q17"),
    "diffusion.ddpm_step": ("q18",),
    "diffusion.ddim_timesteps": ("q38",),
    "diffusion.ddim_step": ("q38",),
    "diffusion.classifier_free_guidance": ("q24", "q25"),
    "diffusion.respaced_betas": ("q38", "q55"),
    "clip.clip_loss": ("q23",),
    "clip.zero_shot_probs": ("q23", "q34"),
    "metrics.inception_score": ("q28",),
    "metrics.feature_statistics": ("q29",),
    "metrics.frechet_distance": ("q29",),
    "metrics.precision_recall": ("q27", "q36"),
    "metrics.mean_pairwise_distance": ("q36",),
    "pixelcnn.causal_mask": ("q33",),
    "pixelcnn.MaskedConv2d": ("q31", "q33"),
    "pixelcnn.sample": ("q30", "q32"),
    "vq.vector_quantize": ("q39",),
    "vit.patchify": ("q40", "q41"),
    "vit.unpatchify": ("q40",),
    "vit.embed_patches": ("q41",),
    "vit.interpolate_pos_embed": ("q42",),
    "flows.AffineCoupling": ("q45", "q48", "q49"),
    "flows.log_prob": ("q46", "q47", "q50"),
    "flows.sample": ("q44", "q45", "q50"),
    "attention.scaled_dot_product_attention": ("q56", "q57", "q58", "q59", "q60"),
    "attention.causal_mask": ("q70", "q77"),
    "attention.multi_head_attention": ("q43", "q61", "q62", "q63", "q71"),
    "attention.online_softmax_attention": ("q72",),
    "attention.padding_mask": ("q78",),
    "attention.prefix_lm_mask": ("q78", "q79"),
    "transformer.layer_norm": ("q65",),
    "transformer.sinusoidal_position_encoding": ("q66",),
    "transformer.feed_forward": ("q67",),
    "transformer.encoder_block": ("q64", "q68"),
    "transformer.decoder_block": ("q69",),
    "lm.causal_lm_loss": ("q73", "q76"),
    "lm.filter_logits": ("q73",),
    "lm.sample_next_token": ("q73",),
    "lm.greedy_decode": ("q73", "q76"),
    "lm.mask_tokens": ("q74", "q75"),
    "lm.prepend_soft_prompt": ("q81",),
    "lm.completion_only_labels": ("q82",),
}

# Questions with no exercise (theory only), as listed in EXERCISES.md.
THEORY_ONLY: frozenset[str] = frozenset(
    f"q{n}" for n in (1, 8, 9, 20, 21, 26, 35, 52, 53, 80)
)

TOPICS: tuple[str, ...] = tuple(dict.fromkeys(ex.split(".")[0] for ex in EXERCISES))


def topic_of(exercise_id: str) -> str:
    """The topic module of an exercise id (``flows.log_prob`` -> ``flows``)."""
    return exercise_id.split(".", 1)[0]


def name_of(exercise_id: str) -> str:
    """The function or class name of an exercise id (``flows.log_prob`` -> ``log_prob``)."""
    return exercise_id.split(".", 1)[1]


def exercises_of_topic(topic: str) -> list[str]:
    """Exercise ids of a topic, in catalog order."""
    return [ex for ex in EXERCISES if topic_of(ex) == topic]
