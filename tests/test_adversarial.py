"""Submissions that try to cheat or misbehave are graded as failed, and the run finishes."""

from __future__ import annotations

import pytest

from tests.cli_helpers import SUBMISSIONS, grade_json

pytestmark = pytest.mark.slow


def _grade(case: str, *extra: str, tmp_path) -> tuple[int, dict]:
    env = {"GENLAB_PROGRESS": str(tmp_path / "progress.sqlite3")}
    return grade_json("attention.scaled_dot_product_attention", "--submission", str(SUBMISSIONS / case), "--device", "cpu", *extra, env=env)


@pytest.mark.parametrize("case", ["allclose_patch", "tensor_subclass", "frame_walk", "import_solutions"])
def test_cheats_are_graded_failed(case: str, tmp_path) -> None:
    code, report = _grade(case, tmp_path=tmp_path)
    assert code == 1
    (exercise,) = report["exercises"]
    assert not exercise["passed"]
    assert report["score"] < report["max_score"]


def test_fake_success_and_exit_is_a_crash(tmp_path) -> None:
    code, report = _grade("fake_exit", tmp_path=tmp_path)
    assert code == 1
    (exercise,) = report["exercises"]
    assert exercise["status"] == "crashed"
    assert "ended the worker process" in exercise["message"]
    assert "7 passed" in exercise["output"]  # what it printed is shown, not believed


def test_infinite_loop_times_out(tmp_path) -> None:
    code, report = _grade("infinite_loop", "--timeout", "1.5", tmp_path=tmp_path)
    assert code == 1
    (exercise,) = report["exercises"]
    assert exercise["status"] == "timed_out"
    assert "timed out" in exercise["message"]


def test_memory_hog_runs_out_of_memory(tmp_path) -> None:
    code, report = _grade("memory_hog", "--memory-mb", "1200", tmp_path=tmp_path)
    assert code == 1
    (exercise,) = report["exercises"]
    assert exercise["status"] == "out_of_memory"


def test_syntax_error_is_reported_once(tmp_path) -> None:
    code, report = _grade("syntax_error", tmp_path=tmp_path)
    assert code == 1
    (exercise,) = report["exercises"]
    assert exercise["status"] == "error"
    assert "SyntaxError" in exercise["message"] and "attention.py" in exercise["message"]


def test_breakpoint_and_prints_do_not_break_the_protocol(tmp_path) -> None:
    code, report = _grade("breakpoint_and_prints", tmp_path=tmp_path)
    assert code == 0, report
    (exercise,) = report["exercises"]
    assert exercise["passed"]
    assert "debug: shapes" in exercise["output"]
    assert len(exercise["output"]) < 5000  # capped


def test_modifying_an_input_in_place_fails(tmp_path) -> None:
    code, report = _grade("in_place", tmp_path=tmp_path)
    assert code == 1
    messages = " ".join(p["message"] for p in report["exercises"][0]["properties"])
    assert "in place" in messages
