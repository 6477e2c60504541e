"""The numerical-stability properties (issue 17): each catches its wrong implementations
(unstable softmax, naive log-softmax, finite mask fill, expanded distances, ...), which every
other property of the exercise lets through — they agree with the reference on well-scaled
inputs — while the reference passes (tests/test_properties.py)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import tests.wrong
from tests.harness import failed_properties, grade_impl


def _stability_wrong() -> list[tuple[str, str, object]]:
    found = []
    for info in pkgutil.iter_modules(tests.wrong.__path__):
        found += getattr(importlib.import_module(f"tests.wrong.{info.name}"), "STABILITY_WRONG", [])
    return found


STABILITY_WRONG = _stability_wrong()
NEW_PROPERTIES = {(e, p) for e, p, _ in STABILITY_WRONG}
# Wrong variants an older property already catches on some inputs (the new one explains them).
ALREADY_CAUGHT = {
    ("clip.zero_shot_probs", "_probs_exp_over_sum"): "sharper_with_larger_scale",  # raises logit_scale until exp overflows
    ("gan.discriminator_loss", "d_bce_of_sigmoid"): "gradients_match",  # the clamped log has zero gradient there (hidden tier)
    ("gan.generator_loss", "g_bce_of_sigmoid"): "gradient_saturation",  # likewise, on the public tier
}


@pytest.mark.parametrize(("exercise_id", "prop", "wrong"), STABILITY_WRONG, ids=[f"{e}:{p}:{w.__name__}" for e, p, w in STABILITY_WRONG])
def test_only_the_stability_properties_catch_it(exercise_id: str, prop: str, wrong: object) -> None:
    failed = failed_properties(grade_impl(exercise_id, wrong))
    assert prop in failed, f"{prop} let {wrong.__name__} pass"
    allowed = {ALREADY_CAUGHT.get((exercise_id, wrong.__name__))}
    assert {(exercise_id, p) for p in failed - allowed} <= NEW_PROPERTIES, f"an older property already catches {wrong.__name__}: {failed}"


def test_failure_names_the_unstable_formula() -> None:
    exercise_id, prop, wrong = STABILITY_WRONG[0]
    result = grade_impl(exercise_id, wrong, only=prop)
    (failure,) = [p for p in result.properties if p.status == "failed"]
    assert "subtracting the maximum" in failure.message + (failure.diagnosis or "")
