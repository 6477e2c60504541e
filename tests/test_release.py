"""`grade release OUT`: a student copy built into a temporary folder, installed into a fresh
virtual environment, graded there: (a) the reference solutions pass, (b) the wrong
implementations of tests/wrong/ fail, (c) no file of the copy holds the reference's source."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.release.audit import find_reference_source
from tests.cli_helpers import ROOT, run_grade

pytestmark = pytest.mark.slow
EXAMPLES = "5"  # the copy records and replays with the same number; fewer keeps CI fast



def _clean_env(course: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "GENLAB_COURSE": str(course), "GENLAB_MAX_EXAMPLES": EXAMPLES, "GENLAB_PROGRESS": str(course.parent / "progress.sqlite3"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("release") / "student-copy"
    proc = run_grade("release", str(out), env={"GENLAB_MAX_EXAMPLES": EXAMPLES}, timeout=1800)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # 1 would mean the audit found reference source
    return out, proc


@pytest.fixture(scope="module")
def venv_python(release, tmp_path_factory) -> Path:
    """A fresh virtual environment (system packages visible: torch is not installed again) with the copy installed."""
    out, _ = release
    where = tmp_path_factory.mktemp("venv")
    # --without-pip: the system's pip and setuptools (visible through the system site-packages)
    # build and install; a venv's bundled setuptools may be too old to build a wheel.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(where / "env")], check=True, timeout=300)
    python = where / "env" / "bin" / "python"
    # A copy of the copy: building the wheel writes build/ and *.egg-info next to the sources.
    source = where / "source"
    shutil.copytree(out, source)
    pip = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--ignore-installed", str(source)]
    proc = subprocess.run(pip, capture_output=True, text=True, timeout=600, cwd=where, env=_clean_env(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return python


def _in_venv(python: Path, course: Path, *args: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    # cwd is an empty folder: `python -m` puts the cwd first on sys.path, and no grader/ may be there.
    cwd = course.parent / "cwd"
    cwd.mkdir(exist_ok=True)
    return subprocess.run([str(python), *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=_clean_env(course))


def test_the_copy_has_the_students_part_and_no_solutions(release) -> None:
    out, proc = release
    for item in ("pyproject.toml", "README.md", "questions.yaml", "grader/cli.py", "tui/app.py", "exercises/flows.py", "answers/manifest.json"):
        assert (out / item).is_file(), item
    for absent in ("solutions", "tests", "bench", "tools", ".git"):
        assert not (out / absent).exists(), absent
    assert not list(out.rglob("__pycache__")) and not list(out.rglob("*.pyc"))
    manifest = json.loads((out / "answers" / "manifest.json").read_text())
    assert manifest["max_examples"] == int(EXAMPLES)
    assert all((out / "answers" / entry["file"]).is_file() for entry in manifest["exercises"].values())
    assert "run only in the instructor's copy" in proc.stdout


def test_no_file_of_the_copy_holds_the_reference_source(release) -> None:
    """(c): no function body, near-copy (most statements of a function) or comment of
    solutions/*.py, normalized, is in any file of the copy of the real course (the property
    modules and their known mistakes included), and `grade release` said nothing of leaks."""
    out, proc = release
    assert find_reference_source(ROOT / "solutions", out, stubs=ROOT / "exercises") == []
    assert "reference's source" not in proc.stderr


def test_the_audit_finds_a_pasted_solution(tmp_path) -> None:
    """The check in (c) can fail: a solution body pasted into a module is found after normalization."""
    source = (ROOT / "solutions" / "vae.py").read_text()
    (tmp_path / "innocent.py").write_text("# a helper\n\n\ndef helper(mu, logvar):\n" + _body_of(source, "kl_standard_normal"))
    assert any("innocent.py: contains the body of solutions/vae.py" in hit for hit in find_reference_source(ROOT / "solutions", tmp_path, stubs=ROOT / "exercises"))


def _body_of(source: str, name: str) -> str:
    import ast

    node = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef) and n.name == name)
    return "\n".join("    " + line.strip() for line in ast.unparse(ast.Module(body=node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body, type_ignores=[])).splitlines()) + "\n"


def test_reference_solutions_pass_in_the_installed_copy(release, venv_python, tmp_path) -> None:
    """(a): graded by the installed copy's own `grade` (worker process and all), every exercise passes;
    only the checks the manifest leaves to the instructor are skipped."""
    out, _ = release
    where = _in_venv(venv_python, out, "-c", "import grader; print(grader.__file__)")
    assert str(venv_python.parent.parent) in where.stdout, where.stdout + where.stderr  # the copy, not this checkout
    solutions = tmp_path / "submission"
    shutil.copytree(ROOT / "solutions", solutions, ignore=shutil.ignore_patterns("__pycache__"))
    proc = _in_venv(venv_python, out, "-m", "grader", "--all", "--submission", str(solutions), "--format", "json", "--no-record", "--device", "cpu", "--sandbox", "none")
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, [(e["id"], [p for p in e["properties"] if p["status"] == "failed"]) for e in report["exercises"] if e["status"] != "passed"]
    manifest = json.loads((out / "answers" / "manifest.json").read_text())
    skipped = {(e["id"], p["name"]) for e in report["exercises"] for p in e["properties"] if p["status"] == "skipped"}
    assert skipped == {(e, p) for e, entry in manifest["exercises"].items() for p in entry["instructor_only"]}
    hidden_run = [p for e in report["exercises"] for p in e["properties"] if p["tier"] == "hidden" and p["status"] == "passed"]
    assert len(hidden_run) > 60  # the hidden tier runs, on recorded answers
    assert any("student copy" in note for note in report.get("notes", [])), report.get("notes")


def test_wrong_implementations_fail_in_the_installed_copy(release, venv_python) -> None:
    """(b): every wrong implementation the full grader catches fails in the copy too, unless the
    property it is written for is one the copy cannot check (instructor-only, or its answers
    were not recorded for the inputs it needs) and no other property catches it."""
    from tests.harness import grade_impl

    out, _ = release
    proc = _in_venv(venv_python, out, str(ROOT / "tests" / "release_catch.py"), str(ROOT / "solutions"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert "site-packages" in result["grader"]
    rows = result["rows"]
    assert len(rows) >= 300
    missed = [r for r in rows if not r["caught"]]
    for row in missed:
        full = grade_impl(row["exercise"], _wrong(row), only=row["property"])
        if full.properties[0].status != "failed":
            continue  # the full grader does not catch it with this few examples either
        assert row["status"] == "skipped" or row["message"].startswith("checked on the inputs"), row
    share = sum(r["caught"] for r in rows) / len(rows)
    print(f"release catches {sum(r['caught'] for r in rows)}/{len(rows)} wrong implementations ({share:.1%}); missed: {[(r['exercise'], r['property']) for r in missed]}")
    assert share > 0.9


def _wrong(row: dict[str, str]) -> object:
    from tests.harness import CAUGHT_BY

    return CAUGHT_BY[(row["exercise"], row["property"])]
