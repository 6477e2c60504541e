"""The `grade` CLI through its real entry point: exit codes, JSON shape, error messages."""

from __future__ import annotations

import pytest

from tests.cli_helpers import ROOT, grade_json, run_grade

pytestmark = pytest.mark.slow


@pytest.fixture
def store_env(tmp_path):
    return {"GENLAB_PROGRESS": str(tmp_path / "progress.sqlite3")}


def test_reference_solutions_pass_with_json_report(store_env) -> None:
    code, report = grade_json("q59", "--submission", str(ROOT / "solutions"), "--device", "cpu", env=store_env)
    assert code == 0, report
    assert set(report) >= {"score", "max_score", "exercises"}
    assert report["score"] == report["max_score"] > 0
    (exercise,) = report["exercises"]
    assert set(exercise) >= {"id", "questions", "passed", "score", "max_score", "device", "properties"}
    assert exercise["id"] == "attention.scaled_dot_product_attention"
    assert "q59" in exercise["questions"]
    assert exercise["device"] == "cpu"
    for prop in exercise["properties"]:
        assert set(prop) >= {"name", "tier", "passed", "message"}
        assert prop["tier"] in ("public", "hidden")


def test_stub_says_not_implemented_once(store_env) -> None:
    proc = run_grade("attention.scaled_dot_product_attention", "--device", "cpu", env=store_env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout.count("not implemented yet") == 1
    assert "exercises/attention.py:" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_unknown_question_suggests_a_close_one() -> None:
    proc = run_grade("q99")
    assert proc.returncode == 2
    assert proc.stderr.startswith("Error: unknown question 'q99'; did you mean q9")
    assert "Traceback" not in proc.stderr


def test_unknown_exercise_suggests_the_topic_entries() -> None:
    proc = run_grade("flows.logprob")
    assert proc.returncode == 2
    assert "did you mean flows.log_prob" in proc.stderr


def test_missing_submission_folder_is_a_usage_error(tmp_path) -> None:
    proc = run_grade("q59", "--submission", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert "Error: --submission" in proc.stderr and "no such folder" in proc.stderr


def test_bad_option_value_is_a_usage_error() -> None:
    proc = run_grade("q59", "--device", "tpu")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_cuda_unavailable_is_a_usage_error(store_env) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    proc = run_grade("q59", "--device", "cuda", env=store_env)
    assert proc.returncode == 2
    assert "Error: --device cuda" in proc.stderr


def test_theory_only_question_has_nothing_to_grade() -> None:
    proc = run_grade("q1")
    assert proc.returncode == 0
    assert "theory only" in proc.stdout


def test_summary_reads_the_progress_store(store_env) -> None:
    run_grade("q59", "--submission", str(ROOT / "solutions"), "--device", "cpu", env=store_env)
    proc = run_grade(env=store_env)
    assert proc.returncode == 0, proc.stderr
    assert "q59" in proc.stdout
    assert "Next:" in proc.stdout or "Every exercise passes" in proc.stdout


def test_corrupt_store_is_reported_and_kept(tmp_path) -> None:
    path = tmp_path / "progress.sqlite3"
    path.write_bytes(b"not a database" * 100)
    env = {"GENLAB_PROGRESS": str(path)}
    proc = run_grade("q59", "--submission", str(ROOT / "solutions"), "--device", "cpu", env=env)
    assert proc.returncode == 0
    assert "progress not recorded" in proc.stderr and "left untouched" in proc.stderr
    assert path.read_bytes() == b"not a database" * 100


def test_version() -> None:
    proc = run_grade("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("genlab ")


def test_all_reference_solutions_pass_through_the_worker(store_env) -> None:
    code, report = grade_json("--all", "--submission", str(ROOT / "solutions"), "--device", "cpu", env=store_env)
    failing = [(e["id"], e["message"], [(p["name"], p["message"]) for p in e["properties"] if not p["passed"]]) for e in report["exercises"] if not e["passed"]]
    assert code == 0, failing
    assert report["score"] == report["max_score"]


def test_all_stubs_are_not_implemented(store_env) -> None:
    code, report = grade_json("--all", "--device", "cpu", env=store_env)
    assert code == 1
    for exercise in report["exercises"]:
        assert exercise["status"] == "not_implemented", (exercise["id"], exercise["status"], exercise["message"])
        assert exercise["message"].startswith("not implemented yet — ")
