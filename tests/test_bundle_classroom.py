"""The GitHub Classroom template: its files, its workflow, and the workflow's grading step run here."""

from __future__ import annotations

import ast
import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.cli_helpers import ROOT, run_grade

pytestmark = pytest.mark.slow
TARGET = "q59"  # attention.scaled_dot_product_attention


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("classroom") / "assignment"
    proc = run_grade("bundle", "classroom", str(folder), TARGET)
    assert proc.returncode == 0, proc.stderr
    return folder


def workflow(template: Path) -> dict:
    return yaml.safe_load((template / ".github" / "workflows" / "classroom.yml").read_text())


def steps(template: Path) -> list[dict]:
    return workflow(template)["jobs"]["run-autograding-tests"]["steps"]


def test_template_holds_the_student_side_only(template) -> None:
    assert (template / "exercises" / "attention.py").is_file() and (template / "grader" / "cli.py").is_file()
    assert (template / "questions.yaml").is_file() and (template / "CLASSROOM.md").is_file()
    assert not (template / "solutions").exists() and not (template / "tests").exists()
    assert not list(template.rglob("__pycache__"))
    # No file carries the reference code: the body (past the docstring) of every solution function is absent.
    texts = [p.read_text(errors="replace") for p in template.rglob("*") if p.is_file()]
    bodies = list(solution_bodies(ROOT / "solutions" / "attention.py"))
    assert bodies
    for body in bodies:
        assert not any(body in text for text in texts)


def solution_bodies(path: Path):
    source = path.read_text()
    lines = source.splitlines(keepends=True)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            if body:
                yield "".join(lines[body[0].lineno - 1 : body[-1].end_lineno])


def test_workflow_uses_the_classroom_actions(template) -> None:
    doc = workflow(template)
    assert set(doc["on"]) >= {"push", "workflow_dispatch", "repository_dispatch"} and doc["permissions"]["checks"] == "write"
    by_uses = {s.get("uses", "").split("@")[0]: s for s in steps(template)}
    assert "actions/checkout" in by_uses and "actions/setup-python" in by_uses
    cache = by_uses["actions/cache"]["with"]
    assert cache["path"] == "~/.genlab-venv" and "torch2.13.0" in cache["key"]  # torch is installed once, then cached
    reporter = by_uses["classroom-resources/autograding-grading-reporter"]
    runner = reporter["with"]["runners"]
    grading = next(s for s in steps(template) if s.get("id") == runner)
    # The reporter reads <RUNNER>_RESULTS: base64 of the step's `result` output.
    assert reporter["env"][f"{runner.upper()}_RESULTS"] == "${{ steps." + runner + ".outputs.result }}"
    assert reporter["if"] == "always()" and TARGET in grading["run"]
    install = next(s["run"] for s in steps(template) if "pip install" in s.get("run", ""))
    assert install.index("torch==2.13.0") < install.index("install -e .")  # the CPU build first


def run_step(template: Path, tmp_path: Path, exercises_from: Path | None = None, command: str | None = None) -> dict:
    """The workflow's grading step, run here as Actions would: decode what it hands the reporter."""
    repo = tmp_path / "repo"
    shutil.copytree(template, repo)
    if exercises_from is not None:
        shutil.copy(exercises_from / "attention.py", repo / "exercises" / "attention.py")
    run = command or next(s["run"] for s in steps(template) if s.get("id") == "genlab")
    output = tmp_path / "github_output"
    env = {**os.environ, "GITHUB_OUTPUT": str(output), "PYTHONPATH": str(repo), "GENLAB_MAX_EXAMPLES": "5", "GENLAB_PROGRESS": str(tmp_path / "p.sqlite3")}
    env.pop("GENLAB_COURSE", None)
    proc = subprocess.run(["bash", "-c", run.replace("~/.genlab-venv/bin/python", sys.executable)], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    key, _, value = output.read_text().strip().partition("=")
    assert key == "result"
    doc = json.loads(base64.b64decode(value))
    doc["_log"] = proc.stdout
    return doc


def test_step_on_a_correct_repository_gets_full_marks(template, tmp_path) -> None:
    doc = run_step(template, tmp_path, ROOT / "solutions")
    assert doc["status"] == "pass" and doc["max_score"] > 0
    assert sum(t["score"] for t in doc["tests"]) == pytest.approx(doc["max_score"])
    # The copy has no solutions: checks that need them are left out and the log says so.
    assert "no solutions" in doc["_log"] and f"{doc['max_score']:g}/{doc['max_score']:g} points" in doc["_log"]


def test_step_on_the_stubs_scores_zero_and_says_why(template, tmp_path) -> None:
    doc = run_step(template, tmp_path)
    assert doc["status"] == "fail" and sum(t["score"] for t in doc["tests"]) == 0
    assert "not implemented" in doc["_log"]


def test_step_always_hands_over_a_document(template, tmp_path) -> None:
    command = next(s["run"] for s in steps(template) if s.get("id") == "genlab").replace(TARGET, "q999")
    doc = run_step(template, tmp_path, command=command)
    assert doc["status"] == "error" and "unknown question" in doc["tests"][0]["message"]


def test_bundle_refuses_a_folder_in_use_and_unknown_targets(tmp_path) -> None:
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    proc = run_grade("bundle", "classroom", str(tmp_path / "used"))
    assert proc.returncode == 2 and "not an empty folder" in proc.stderr and (tmp_path / "used" / "notes.txt").read_text() == "mine"
    proc = run_grade("bundle", "classroom", str(tmp_path / "new"), "q999")
    assert proc.returncode == 2 and "q999" in proc.stderr and not (tmp_path / "new").exists()
    proc = run_grade("bundle", "moodle", str(tmp_path / "x"))
    assert proc.returncode == 2 and "gradescope, classroom" in proc.stderr
