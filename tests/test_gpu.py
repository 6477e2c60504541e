"""The CUDA side of the grader; skipped cleanly on machines without a GPU (CI has none)."""

from __future__ import annotations

import pytest
import torch

from tests.cli_helpers import ROOT, grade_json

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
