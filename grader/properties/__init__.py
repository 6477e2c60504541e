"""The property tests, one module per topic, registered in ``api.REGISTRY``.

Importing this package fixes the Hypothesis settings used for grading: derandomized (the
same code gets the same grade on every run), no example database, no deadline.
"""

from __future__ import annotations

import importlib
import os

import torch
from hypothesis import HealthCheck, Phase, Verbosity, settings

from grader.core.catalog import TOPICS


def _default_examples() -> str:
    """20, or in a student copy the number its reference answers were recorded with (the
    examples past it would find no recorded answer)."""
    from grader.core import paths

    answers = paths.answers_dir()
    if answers is None:
        return "20"
    import json

    return str(json.loads((answers / "manifest.json").read_text(encoding="utf-8")).get("max_examples", 20))


MAX_EXAMPLES = int(os.environ.get("GENLAB_MAX_EXAMPLES") or _default_examples())


def _student_copy_draws() -> None:
    """In a student copy, draw as the release-time run did (see grader.release.determinism)."""
    from grader.core import paths

    if paths.answers_dir() is not None:
        from grader.release.determinism import ignore_local_constants

        ignore_local_constants()


_student_copy_draws()

torch.set_num_threads(1)  # the judge's references run on tiny inputs too

settings.register_profile(
    "genlab-grading",
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    report_multiple_bugs=False,
    verbosity=Verbosity.quiet,
    phases=(Phase.explicit, Phase.generate, Phase.shrink),
    suppress_health_check=list(HealthCheck),
)
settings.load_profile("genlab-grading")


def load_topics(topics: set[str] | tuple[str, ...]) -> dict[str, object]:
    """Import the property modules of some topics (those that exist); returns the registry."""
    from grader.properties.api import REGISTRY

    for topic in sorted(topics):
        try:
            importlib.import_module(f"grader.properties.{topic}")
        except ModuleNotFoundError as exc:
            if exc.name != f"grader.properties.{topic}":
                raise
    return REGISTRY


def load_all() -> dict[str, object]:
    """Import every topic's property module that exists; returns the registry."""
    return load_topics(TOPICS)
