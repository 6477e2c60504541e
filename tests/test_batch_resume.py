"""`grade batch --out DIR`: results written one per student as they finish, resumed after a kill -9,
and one student's broken folder never stops the batch."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT, SUBMISSIONS, run_grade

pytestmark = pytest.mark.slow
TARGET = "attention.scaled_dot_product_attention"


def _class(tmp_path: Path) -> Path:
    klass = tmp_path / "class"
    sources = {"alice": ROOT / "solutions", "bob": ROOT / "exercises", "carol": SUBMISSIONS / "allclose_patch", "dave": ROOT / "solutions", "erin": SUBMISSIONS / "syntax_error"}
    for student, source in sources.items():
        (klass / student).mkdir(parents=True)
        shutil.copy(source / "attention.py", klass / student / "attention.py")
    return klass


def _batch_args(klass: Path, out: Path, csv_path: Path) -> list[str]:
    return ["batch", str(klass), "-t", TARGET, "--out", str(out), "--csv", str(csv_path), "--jobs", "1", "--quiet", "--timeout", "3"]


def _graded_lines(stdout: str) -> set[str]:
    return {line.split(":")[0] for line in stdout.splitlines() if line.endswith("]") and ": " in line}


def test_killed_batch_resumes_grading_each_student_once(tmp_path) -> None:
    klass = _class(tmp_path)
    reference = run_grade(*_batch_args(klass, tmp_path / "ref", tmp_path / "ref.csv"))
    assert reference.returncode == 0, reference.stderr

    out, csv_path = tmp_path / "out", tmp_path / "grades.csv"
    env = {**os.environ, "GENLAB_MAX_EXAMPLES": os.environ.get("GENLAB_MAX_EXAMPLES", "10")}
    proc = subprocess.Popen([sys.executable, "-m", "grader", *_batch_args(klass, out, csv_path)], stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env, start_new_session=True)
    assert proc.stdout is not None
    seen = 0
    for line in proc.stdout:
        seen += line.rstrip().endswith("]")
        if seen == 2:
            break
    os.killpg(proc.pid, signal.SIGKILL)  # mid-batch, without warning
    proc.wait()
    proc.stdout.close()
    first = {p.stem for p in (out / "students").glob("*.json")}
    assert 2 <= len(first) < 5
    assert not csv_path.exists()

    resumed = run_grade(*_batch_args(klass, out, csv_path))
    assert resumed.returncode == 0, resumed.stderr
    second = _graded_lines(resumed.stdout)
    assert first.isdisjoint(second), (first, second)  # nobody graded twice
    assert first | second == {"alice", "bob", "carol", "dave", "erin"}
    assert csv_path.read_text() == (tmp_path / "ref.csv").read_text()

    again = run_grade(*_batch_args(klass, out, csv_path))
    assert _graded_lines(again.stdout) == set()  # finished and unchanged: nothing regraded
    (klass / "bob" / "attention.py").write_text((ROOT / "solutions" / "attention.py").read_text())
    changed = run_grade(*_batch_args(klass, out, csv_path))
    assert _graded_lines(changed.stdout) == {"bob"}


def test_broken_folders_get_a_status_and_the_rest_is_graded(tmp_path) -> None:
    klass = tmp_path / "class"
    for student in ("alice", "empty", "syntax", "junk", "link"):
        (klass / student).mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "attention.py", klass / "alice")
    shutil.copy(SUBMISSIONS / "syntax_error" / "attention.py", klass / "syntax")
    (klass / "junk" / "attention.py").write_bytes(bytes(range(256)) * 64)
    (tmp_path / "secret.py").write_text("SECRET = 1\n")
    (klass / "link" / "attention.py").symlink_to(tmp_path / "secret.py")
    out = tmp_path / "out"
    proc = run_grade("batch", str(klass), "-t", TARGET, "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    records = {p.stem: json.loads(p.read_text()) for p in (out / "students").glob("*.json")}
    assert set(records) == {"alice", "empty", "syntax", "junk", "link"}
    for record in records.values():
        assert set(record) == {"schema", "student", "submission_hash", "isolation", "status", "message", "report", "graded_at"}
    assert records["alice"]["status"] == "graded" and records["alice"]["report"]["passed"]
    assert records["empty"]["status"] == "error" and "no topic modules" in records["empty"]["message"]
    assert records["link"]["status"] == "error" and "outside" in records["link"]["message"]
    for student in ("syntax", "junk"):
        assert records[student]["status"] == "graded"
        assert records[student]["report"]["exercises"][0]["status"] == "error"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["schema"] == 1 and manifest["targets"] == [TARGET]


def test_a_zip_of_the_class_with_a_wrapping_folder_is_graded(tmp_path) -> None:
    import zipfile

    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(ROOT / "solutions" / "attention.py", "week5/alice/attention.py")
        zf.write(ROOT / "exercises" / "attention.py", "week5/bob/attention.py")
    out = tmp_path / "out"
    proc = run_grade("batch", str(archive), "-t", TARGET, "--out", str(out), "--quiet")
    assert proc.returncode == 0, proc.stderr
    records = {p.stem: json.loads(p.read_text()) for p in (out / "students").glob("*.json")}
    assert set(records) == {"alice", "bob"}
    assert records["alice"]["report"]["passed"] and not records["bob"]["report"]["passed"]


def test_a_zip_escaping_its_folder_is_refused(tmp_path) -> None:
    import zipfile

    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../outside.py", "x = 1\n")
    proc = run_grade("batch", str(archive), "-t", TARGET)
    assert proc.returncode == 2 and "outside the class folder" in proc.stderr
    assert not (tmp_path.parent / "outside.py").exists()
