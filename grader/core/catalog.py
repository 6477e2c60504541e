"""The exercise catalog: every exercise id, in the course's order.

Mirrors ``EXERCISES.md`` (the course's public interface). Which questions an exercise belongs
to is written once, in ``questions.yaml`` (each question's ``exercises:``, the file the course
author edits); ``links`` and ``questions_of`` read those links from the validated bank,
through its cache (grader.core.bankcache). Free of torch, like all of grader.core.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.core.bank import Bank

# One exercise id per line, in catalog order (the order `grade --all` and every report use).
# A line holds the id only: the questions an exercise belongs to are listed in questions.yaml.
# A text table rather than a tuple literal: a line left in the old `"id": ("q1",),` form then stops
# the import with a message saying how to rewrite it, not with a bare SyntaxError.
_CATALOG = """
vae.reparameterize
vae.kl_standard_normal
vae.negative_elbo
vae.slerp
gan.discriminator_loss
gan.generator_loss
gan.gradient_penalty
gan.minibatch_stddev
gan.concat_condition
gan.r1_penalty
diffusion.linear_beta_schedule
diffusion.cosine_beta_schedule
diffusion.q_sample
diffusion.ddpm_step
diffusion.ddim_timesteps
diffusion.ddim_step
diffusion.classifier_free_guidance
diffusion.respaced_betas
clip.clip_loss
clip.zero_shot_probs
metrics.inception_score
metrics.feature_statistics
metrics.frechet_distance
metrics.precision_recall
metrics.mean_pairwise_distance
pixelcnn.causal_mask
pixelcnn.MaskedConv2d
pixelcnn.sample
vq.vector_quantize
vit.patchify
vit.unpatchify
vit.embed_patches
vit.interpolate_pos_embed
flows.AffineCoupling
flows.log_prob
flows.sample
attention.scaled_dot_product_attention
attention.causal_mask
attention.multi_head_attention
attention.online_softmax_attention
attention.padding_mask
attention.prefix_lm_mask
transformer.layer_norm
transformer.sinusoidal_position_encoding
transformer.feed_forward
transformer.encoder_block
transformer.decoder_block
lm.causal_lm_loss
lm.filter_logits
lm.sample_next_token
lm.greedy_decode
lm.mask_tokens
lm.prepend_soft_prompt
lm.completion_only_labels
"""


class CatalogError(Exception):
    """grader/core/catalog.py itself is malformed (a course author's mistake, found at import)."""


def parse_catalog(text: str) -> tuple[str, ...]:
    """The exercise ids of a catalog table; raises CatalogError naming the line and the fix."""
    ids: list[str] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line:
            continue
        if re.search(r"\bq\d+\b", line):
            bare = re.sub(r"[\"':,()\s]|\bq\d+\b", " ", line).split()
            raise CatalogError(
                f"grader/core/catalog.py: {line!r} links questions; since issue 12 the catalog lists ids only and questions.yaml "
                f"links them. Write the line as `{bare[0] if bare else 'topic.name'}` and add the id to the `exercises:` of each of those questions "
                f"in questions.yaml"
            )
        if not re.fullmatch(r"[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*", line):
            raise CatalogError(f"grader/core/catalog.py: {line!r} is not an exercise id; write one `topic.name` per line (flows.log_prob)")
        if line in ids:
            raise CatalogError(f"grader/core/catalog.py: {line} is listed twice; keep one line")
        ids.append(line)
    return tuple(ids)


EXERCISES: tuple[str, ...] = parse_catalog(_CATALOG)

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


# ----------------------------------------------------------------------------- question links


@dataclass(frozen=True)
class Links:
    """The exercise↔question links of a bank, both ways."""

    questions: dict[str, tuple[str, ...]]  # exercise -> its questions, in bank order
    exercises: dict[str, tuple[str, ...]]  # question -> its exercises, in catalog order (() for theory only)

    @classmethod
    def of(cls, bank: Bank) -> Links:
        order = {ex: i for i, ex in enumerate(EXERCISES)}
        questions: dict[str, list[str]] = {}
        for q in bank.questions:
            for ex in q.exercises:
                questions.setdefault(ex, []).append(q.id)
        return cls(
            {ex: tuple(qs) for ex, qs in questions.items()},
            {q.id: tuple(sorted(dict.fromkeys(q.exercises), key=lambda e: order.get(e, len(order)))) for q in bank.questions},
        )


_loaded: dict[tuple[Path, int, int], Links] = {}


def links(bank_file: Path | None = None) -> Links:
    """The links of the course's bank (``bank_file``, default the course's questions.yaml).

    Read through the bank cache, and kept per file version, so a batch that builds thousands
    of results reads the bank once; raises BankError when the bank is invalid."""
    from grader.core.bankcache import load_cached
    from grader.core.paths import bank_path

    path = bank_file or bank_path()
    try:
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = (path, 0, 0)  # missing: load_cached raises the loader's BankError
    if key not in _loaded:
        _loaded[key] = Links.of(load_cached(path))
    return _loaded[key]


def questions_of(exercise_id: str) -> tuple[str, ...]:
    """The questions an exercise belongs to, in bank order (as every report lists them)."""
    return links().questions.get(exercise_id, ())

