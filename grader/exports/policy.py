"""The grading policy: how many points each exercise is worth and how partial credit works.

Kept in one file at the course root, ``grading.toml``; every export and report reads its
numbers through ``grader.exports.scoring``, so a policy change moves every format at once.

    default_points = 1                    # points of an exercise the [points] table does not name
    partial_credit = "fraction"           # or "all_or_nothing"
    hidden_weight = 2.0                   # a hidden-tier property counts this many public ones
    hidden_visibility = "after_published" # Gradescope visibility of hidden-tier properties

    [points]
    "flows.log_prob" = 3                  # one exercise
    attention = 2                         # every exercise of a topic
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from grader.core import paths
from grader.core.catalog import EXERCISES, TOPICS, topic_of
from grader.errors import UsageError

POLICY_FILE = "grading.toml"
PARTIAL_CREDIT = ("fraction", "all_or_nothing")
# Gradescope's documented visibility values.
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
KEYS = ("default_points", "partial_credit", "hidden_weight", "hidden_visibility", "points")


@dataclass(frozen=True)
class Policy:
    default_points: float = 1.0
    partial_credit: str = "fraction"
    hidden_weight: float = 1.0
    hidden_visibility: str = "after_published"
    points: dict[str, float] = field(default_factory=dict)  # exercise id or topic -> points
    source: str = "default policy (no grading.toml)"

    def points_of(self, exercise_id: str) -> float:
        """An exercise's own entry wins over its topic's, which wins over the default."""
        for key in (exercise_id, topic_of(exercise_id)):
            if key in self.points:
                return self.points[key]
        return self.default_points

    def property_weight(self, tier: str) -> float:
        return self.hidden_weight if tier == "hidden" else 1.0

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "default_points": self.default_points,
            "partial_credit": self.partial_credit,
            "hidden_weight": self.hidden_weight,
            "hidden_visibility": self.hidden_visibility,
            "points": dict(self.points),
        }


class PolicyError(UsageError):
    """grading.toml is wrong; the message names the file, the line and the fix."""


def load_policy(path: Path | None = None) -> Policy:
    """The course's policy: ``path``, else ``grading.toml`` at the course root, else the default."""
    target = path or paths.course_root() / POLICY_FILE
    if path is None and not target.is_file():
        return Policy()
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{target}: cannot read the grading policy ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{target}: not valid TOML: {exc}; see the example in grader/exports/policy.py") from None
    return _validate(data, text, target)


def _line_of(text: str, key: str) -> int:
    """The line where ``key`` is assigned (tomllib keeps no positions); 1 when not found."""
    pattern = re.compile(rf'^[ \t]*(?:"{re.escape(key)}"|\'{re.escape(key)}\'|{re.escape(key)})\s*=', re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _validate(data: dict[str, object], text: str, target: Path) -> Policy:
    def fail(key: str, problem: str, fix: str) -> PolicyError:
        return PolicyError(f"{target}:{_line_of(text, key)}: {key}: {problem}; {fix}")

    for key in data:
        if key not in KEYS:
            raise fail(key, "unknown setting", f"the settings are {', '.join(KEYS)}")
    values: dict[str, object] = {}
    for key in ("default_points", "hidden_weight"):
        if key in data:
            number = _number(data[key])
            if number is None or number < 0:
                raise fail(key, f"must be a number >= 0, not {data[key]!r}", f"write e.g. {key} = 1")
            values[key] = number
    if "partial_credit" in data and data["partial_credit"] not in PARTIAL_CREDIT:
        raise fail("partial_credit", f"{data['partial_credit']!r} is not a known rule", 'write partial_credit = "fraction" (share of properties passed) or "all_or_nothing"')
    if "hidden_visibility" in data and data["hidden_visibility"] not in VISIBILITIES:
        raise fail("hidden_visibility", f"{data['hidden_visibility']!r} is not a Gradescope visibility", f"use one of {', '.join(VISIBILITIES)}")
    for key in ("partial_credit", "hidden_visibility"):
        if key in data:
            values[key] = data[key]
    points: dict[str, float] = {}
    table = data.get("points", {})
    if not isinstance(table, dict):
        raise fail("points", "must be a table", 'write a [points] section with lines like "flows.log_prob" = 3')
    for key, value in table.items():
        if key not in EXERCISES and key not in TOPICS:
            import difflib

            guess = difflib.get_close_matches(key, [*EXERCISES, *TOPICS], n=1)
            raise fail(key, "no such exercise or topic", f"did you mean {guess[0]}?" if guess else "use an exercise id (flows.log_prob) or a topic (flows); `grade --all` lists them")
        number = _number(value)
        if number is None or number < 0:
            raise fail(key, f"points must be a number >= 0, not {value!r}", f'write e.g. "{key}" = 2')
        points[key] = number
    return Policy(**values, points=points, source=str(target))  # type: ignore[arg-type]
