"""The Gradescope autograder bundle: its run_autograder on a fake /autograder tree."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT, SUBMISSIONS, run_grade

pytestmark = pytest.mark.slow
TARGET = "attention.scaled_dot_product_attention"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    proc = run_grade("bundle", "gradescope", str(path))
    assert proc.returncode == 0, proc.stderr
    return path


def test_zip_has_the_scripts_at_its_root(bundle) -> None:
    with zipfile.ZipFile(bundle) as z:
        names = set(z.namelist())
        assert {"setup.sh", "run_autograder", "genlab/pyproject.toml", "genlab/grader/cli.py", "genlab/solutions/attention.py"} <= names
        assert not any("__pycache__" in n for n in names)
        for script in ("setup.sh", "run_autograder"):
            assert stat.S_IMODE(z.getinfo(script).external_attr >> 16) & 0o111
        assert "torch==2.13.0" in z.read("setup.sh").decode() and "bubblewrap" in z.read("setup.sh").decode()


def run_autograder(bundle: Path, tmp: Path, submission: Path | None, sandbox: str = "auto") -> dict:
    root = tmp / "autograder"
    with zipfile.ZipFile(bundle) as z:
        z.extractall(root / "source")
    if submission is not None:
        shutil.copytree(submission, root / "submission")
    env = {**os.environ, "GENLAB_AUTOGRADER_ROOT": str(root), "GENLAB_PYTHON": sys.executable, "GENLAB_TARGETS": TARGET, "GENLAB_MAX_EXAMPLES": "5", "GENLAB_SANDBOX": sandbox}
    env.pop("PYTHONPATH", None)  # the bundle's own copy of genlab must do the grading
    env["PYTHONPATH"] = str(root / "source" / "genlab")
    proc = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((root / "results" / "results.json").read_text())
    assert isinstance(doc["score"], int | float) and isinstance(doc["tests"], list) and isinstance(doc["output"], str)
    return doc


def _submission(tmp: Path, source: Path) -> Path:
    folder = tmp / "sub"
    folder.mkdir()
    shutil.copy(source / "attention.py", folder / "attention.py")
    return folder


def test_correct_submission_gets_full_marks(bundle, tmp_path) -> None:
    doc = run_autograder(bundle, tmp_path, _submission(tmp_path, ROOT / "solutions"))
    assert doc["tests"] and doc["score"] == pytest.approx(sum(t["max_score"] for t in doc["tests"])) and doc["score"] > 0


def test_wrong_submission_loses_points(bundle, tmp_path) -> None:
    doc = run_autograder(bundle, tmp_path, _submission(tmp_path, SUBMISSIONS / "allclose_patch"))
    assert doc["score"] < sum(t["max_score"] for t in doc["tests"]) - 1e-9 and any(t["status"] == "failed" for t in doc["tests"])


def test_hostile_submission_gets_no_fake_success(bundle, tmp_path) -> None:
    doc = run_autograder(bundle, tmp_path, _submission(tmp_path, SUBMISSIONS / "fake_exit"))
    assert doc["score"] < sum(t["max_score"] for t in doc["tests"]) - 1e-9


def test_results_are_written_even_when_grading_fails(bundle, tmp_path) -> None:
    doc = run_autograder(bundle, tmp_path, None)  # no submission folder at all: grade exits with an error
    assert doc["score"] == 0 and doc["tests"] == [] and "could not grade" in doc["output"]


SNOOP = """
import os

print("worker uid", os.getuid())
for path, mode in {targets!r}:
    try:
        open(path, mode).close()
        print("REACHED", path)
    except OSError:
        pass
"""


def _nobody_can_run_python() -> bool:
    try:
        nobody = pwd.getpwnam("nobody")
        done = subprocess.run([sys.executable, "-c", "import torch"], user=nobody.pw_uid, group=nobody.pw_gid, extra_groups=[], capture_output=True, check=False, cwd="/")
    except OSError:  # the interpreter itself is out of nobody's reach
        return False
    return done.returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="the worker user is taken only by a grader running as root, as Gradescope's is")
@pytest.mark.parametrize("sandbox", ["none", "auto"])
def test_workers_run_unprivileged_and_cannot_reach_the_course(bundle, tmp_path, sandbox) -> None:
    if not _nobody_can_run_python():
        pytest.skip(f"`nobody` cannot run {sys.executable}: make its folders traversable (`chmod o+x /root`, as .ci/run does)")
    root = tmp_path / "autograder"
    targets = [(str(root / "source" / "genlab" / "solutions" / "attention.py"), "r"), (str(root / "results" / "results.json"), "a"), (str(root / "source" / "run_autograder"), "r")]
    folder = tmp_path / "sub"
    folder.mkdir()
    code = (ROOT / "solutions" / "attention.py").read_text()
    (folder / "attention.py").write_text(code + SNOOP.format(targets=targets))
    doc = run_autograder(bundle, tmp_path, folder, sandbox=sandbox)
    text = json.dumps(doc)
    assert f"worker uid {pwd.getpwnam('nobody').pw_uid}" in text
    assert "REACHED" not in text
    assert doc["score"] == pytest.approx(sum(t["max_score"] for t in doc["tests"])) and doc["score"] > 0  # the copy it grades still works


def test_a_notebook_submission_is_graded(bundle, tmp_path) -> None:
    from tests.test_notebook import solution_cells, write_notebook

    folder = tmp_path / "nb"
    folder.mkdir()
    write_notebook(folder / "homework.ipynb", solution_cells("attention"))
    doc = run_autograder(bundle, tmp_path, folder)
    assert doc["tests"] and doc["score"] == pytest.approx(sum(t["max_score"] for t in doc["tests"])) and doc["score"] > 0
