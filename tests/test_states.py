"""Exercise and question states: one vocabulary for `grade`'s summary and the TUI."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.core.states import code_hash, exercise_state, exercise_states, latest_per_exercise, question_state
from grader.core.store import GradingRun


def run(status: str, code: str = "h", device: str = "cpu") -> GradingRun:
    return GradingRun("vq.vector_quantize", code, device, status, status == "passed", 0, 1, 0.0, "2026-01-01T00:00:00+00:00", [])


@pytest.mark.parametrize(
    "latest, now, state",
    [
        (None, "h", "new"),
        (run("not_implemented"), "h", "new"),
        (run("failed"), "h", "failing"),
        (run("timed_out"), "h", "failing"),
        (run("passed"), "h", "passing"),
        (run("passed"), "other", "changed"),
        (run("passed"), "", "passing"),  # the file is gone: judged on the run
    ],
)
def test_exercise_state(latest: GradingRun | None, now: str, state: str) -> None:
    assert exercise_state(latest, now) == state


def test_the_cpu_run_counts_else_the_only_one() -> None:
    cpu, cuda = run("failed"), run("passed", device="cuda")
    assert latest_per_exercise({("a.b", "cuda"): cuda, ("a.b", "cpu"): cpu}) == {"a.b": cpu}
    assert latest_per_exercise({("a.b", "cuda"): cuda}) == {"a.b": cuda}


def test_states_compare_the_file_with_the_graded_hash(tmp_path: Path) -> None:
    (tmp_path / "vq.py").write_text("x = 1\n")
    graded = run("passed", code=code_hash(tmp_path, "vq.vector_quantize"))
    assert exercise_states({("vq.vector_quantize", "cpu"): graded}, tmp_path) == {"vq.vector_quantize": "passing"}
    (tmp_path / "vq.py").write_text("x = 2\n")
    assert exercise_states({("vq.vector_quantize", "cpu"): graded}, tmp_path) == {"vq.vector_quantize": "changed"}
    assert code_hash(tmp_path, "flows.log_prob") == ""  # no flows.py


@pytest.mark.parametrize(
    "states, combined",
    [
        ([], "none"),
        (["passing", "passing"], "passing"),
        (["passing", "changed", "failing"], "failing"),
        (["passing", "changed"], "changed"),
        (["passing", "new"], "partial"),
        (["new", "new"], "new"),
    ],
)
def test_question_state_priorities(states: list, combined: str) -> None:
    assert question_state(states) == combined
