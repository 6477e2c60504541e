"""The CUDA side of the grader; skipped cleanly on machines without a GPU (CI has none)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from tests import gpu_checks
from tests.cli_helpers import ROOT, SUBMISSIONS, grade_json
from tests.harness import IMPLEMENTED

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_auto_grades_on_cpu_and_cuda(tmp_path) -> None:
    code, report = grade_json("--all", "--submission", str(ROOT / "solutions"), "--device", "auto", env={"GENLAB_PROGRESS": str(tmp_path / "p.sqlite3")})
    devices = {e["device"] for e in report["exercises"]}
    assert devices == {"cpu", "cuda"}
    failing = [(e["id"], e["device"], [p["message"] for p in e["properties"] if not p["passed"]]) for e in report["exercises"] if not e["passed"]]
    assert code == 0, failing


def test_stub_on_cuda_is_not_implemented(tmp_path) -> None:
    code, report = grade_json("q59", "--device", "cuda", env={"GENLAB_PROGRESS": str(tmp_path / "p.sqlite3")})
    assert code == 1
    assert report["exercises"][0]["status"] == "not_implemented"


@pytest.mark.parametrize("case", ["allclose_patch", "tensor_subclass", "frame_walk", "import_solutions", "fake_exit", "in_place"])
def test_cheating_submissions_fail_on_cuda(case: str, tmp_path) -> None:
    env = {"GENLAB_PROGRESS": str(tmp_path / "p.sqlite3")}
    code, report = grade_json("attention.scaled_dot_product_attention", "--submission", str(SUBMISSIONS / case), "--device", "cuda", env=env)
    assert code == 1
    (exercise,) = report["exercises"]
    assert not exercise["passed"] and exercise["device"] == "cuda"


def test_gpu_memory_is_bounded_by_the_memory_limit(tmp_path) -> None:
    """--memory-mb caps GPU memory too: a submission cannot take the whole card from its neighbours."""
    env = {"GENLAB_PROGRESS": str(tmp_path / "p.sqlite3")}
    code, report = grade_json("attention.scaled_dot_product_attention", "--submission", str(SUBMISSIONS / "gpu_memory_hog"), "--device", "cuda", env=env)
    assert code == 1
    (exercise,) = report["exercises"]
    assert exercise["status"] == "out_of_memory", exercise["message"]


def test_a_failed_cuda_kernel_ends_the_exercise_and_the_next_one_gets_a_fresh_worker(tmp_path) -> None:
    env = {"GENLAB_PROGRESS": str(tmp_path / "p.sqlite3")}
    targets = ("attention.scaled_dot_product_attention", "attention.causal_mask")
    code, report = grade_json(*targets, "--submission", str(SUBMISSIONS / "cuda_index_error"), "--device", "cuda", env=env)
    assert code == 1
    broken, healthy = report["exercises"]
    assert broken["status"] == "crashed", broken
    assert "CUDA" in broken["message"] and "--device cpu" in broken["message"]
    assert healthy["status"] == "passed", healthy


@pytest.mark.parametrize("exercise_id", IMPLEMENTED)
def test_wrong_implementations_are_caught_and_diagnosed_on_cuda(exercise_id: str) -> None:
    """Every property catches its wrong implementation, and every known mistake is named, on CUDA."""
    total, start, problems = len(gpu_checks.checks(exercise_id)), 0, []
    while start < total:
        child = subprocess.run([sys.executable, "-m", "tests.gpu_checks", exercise_id, str(start)], capture_output=True, text=True, cwd=ROOT, timeout=900)
        done = [json.loads(line) for line in child.stdout.splitlines() if line.startswith("{")]
        if not done:
            raise AssertionError(f"the check process failed (exit {child.returncode}):\n{child.stderr[-3000:]}")
        problems += [d["problem"] for d in done if d["problem"]]
        start = done[-1]["index"] + 1
    assert not problems, "\n".join(problems)
