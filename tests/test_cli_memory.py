"""`grade q72` through the real entry point: memory is graded in the worker process.

online_softmax_attention passes on the reference, is "not implemented" on the stub, and an
implementation with the right values that builds the full score matrix fails with the size it
allocated and the bound.
"""

from __future__ import annotations

import pytest

from tests.cli_helpers import ROOT, SUBMISSIONS, grade_json, run_grade

pytestmark = pytest.mark.slow


@pytest.fixture
def store_env(tmp_path):
    return {"GENLAB_PROGRESS": str(tmp_path / "progress.sqlite3")}


def test_reference_passes_q72(store_env) -> None:
    code, report = grade_json("q72", "--submission", str(ROOT / "solutions"), "--device", "cpu", env=store_env)
    assert code == 0, report
    (exercise,) = report["exercises"]
    assert exercise["id"] == "attention.online_softmax_attention" and exercise["passed"]
    assert "memory_bounded" in {p["name"] for p in exercise["properties"]}


def test_stub_of_q72_is_not_implemented(store_env) -> None:
    proc = run_grade("q72", "--device", "cpu", env=store_env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "not implemented yet" in proc.stdout and "exercises/attention.py:" in proc.stdout


def test_materialising_the_score_matrix_fails_with_size_and_bound(store_env) -> None:
    code, report = grade_json("q72", "--submission", str(SUBMISSIONS / "materialized_scores"), "--device", "cpu", env=store_env)
    assert code == 1, report
    props = {p["name"]: p for p in report["exercises"][0]["properties"]}
    assert props["matches_softmax_attention"]["passed"]  # its values are right: only memory fails
    memory = props["memory_bounded"]
    assert not memory["passed"]
    message = memory["message"]
    assert "your code allocated" in message and "the bound is" in message, message
    allocated = int(message.split(" = ")[1].split(" elements")[0])
    bound = int(message.split("the bound is ")[1].split(" elements")[0])
    assert allocated > bound, message
