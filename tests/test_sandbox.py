"""The OS sandbox (bubblewrap) around the worker: hostile submissions through `grade` and `grade batch`.

Each submission prints what its attack did, so a test sees that the attack ran and that it
had no effect."""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import time
from pathlib import Path

import pytest

from grader.sandbox import bwrap_works
from tests.cli_helpers import ROOT, SUBMISSIONS, grade_json, run_grade

pytestmark = pytest.mark.slow

_ok, _why = bwrap_works()
needs_bwrap = pytest.mark.skipif(not _ok, reason=f"bwrap cannot create namespaces on this machine: {_why}")
TARGET = "attention.scaled_dot_product_attention"


def _grade(folder: Path, tmp_path: Path, *extra: str) -> tuple[int, dict]:
    env = {"GENLAB_PROGRESS": str(tmp_path / "progress.sqlite3")}
    return grade_json(TARGET, "--submission", str(folder), "--device", "cpu", "--sandbox", "bwrap", *extra, env=env)


def _copy(case: str, tmp_path: Path) -> Path:
    folder = tmp_path / "class" / case
    shutil.copytree(SUBMISSIONS / case, folder)
    return folder


def _marked_processes(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@needs_bwrap
def test_correct_solution_passes_inside_the_sandbox(tmp_path) -> None:
    folder = tmp_path / "alice"
    folder.mkdir()
    shutil.copy(ROOT / "solutions" / "attention.py", folder)
    code, report = _grade(folder, tmp_path)
    assert code == 0, report
    assert report["isolation"] == "bwrap"


@needs_bwrap
def test_forked_processes_do_not_outlive_the_exercise(tmp_path) -> None:
    code, report = _grade(_copy("fork_outlive", tmp_path), tmp_path)
    assert code == 1
    assert "forked 200" in report["exercises"][0]["output"]
    time.sleep(0.5)
    assert _marked_processes("genlab-hostile-fork") == []


@needs_bwrap
def test_no_connection_to_localhost(tmp_path) -> None:
    folder = _copy("connect_localhost", tmp_path)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        source = folder / "attention.py"
        source.write_text(source.read_text().replace("PORT = 0", f"PORT = {server.getsockname()[1]}"))
        code, report = _grade(folder, tmp_path)
        with pytest.raises(BlockingIOError):
            server.accept()
    assert code == 1
    assert "connect failed" in report["exercises"][0]["output"]


@needs_bwrap
def test_detached_writer_changes_no_file_outside_its_tmp(tmp_path) -> None:
    folder = _copy("detached_writer", tmp_path)
    victims = [tmp_path / "grades.csv", tmp_path / "class" / "other.json", folder / "mine.json", tmp_path / "progress.sqlite3"]
    for victim in victims[:3]:
        victim.write_text("intact")
    code, report = _grade(folder, tmp_path)
    assert code == 1
    assert "detached writer started" in report["exercises"][0]["output"]
    time.sleep(3)  # the writer waits 2 s before it strikes
    for victim in victims:
        assert b"HACKED" not in victim.read_bytes(), victim


@needs_bwrap
def test_search_for_solutions_finds_nothing(tmp_path) -> None:
    code, report = _grade(_copy("search_solutions", tmp_path), tmp_path)
    assert code == 1
    (exercise,) = report["exercises"]
    assert "found: None" in exercise["output"], exercise
    assert not exercise["passed"]


@needs_bwrap
def test_output_flood_is_capped_while_written(tmp_path) -> None:
    start = time.monotonic()
    code, report = _grade(_copy("flood_output", tmp_path), tmp_path)
    assert code == 1
    assert time.monotonic() - start < 120
    (exercise,) = report["exercises"]
    assert not exercise["passed"]
    assert len(exercise["output"]) < 10_000


@needs_bwrap
def test_batch_of_hostile_students_changes_nothing_outside_its_output(tmp_path) -> None:
    klass = tmp_path / "class"
    (klass / "alice").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "attention.py", klass / "alice")
    for case in ("fork_outlive", "detached_writer", "search_solutions"):
        shutil.copytree(SUBMISSIONS / case, klass / case)
    sentinel = tmp_path / "gradebook.csv"
    sentinel.write_text("intact")
    out, out_csv = tmp_path / "out", tmp_path / "grades.csv"
    proc = run_grade("batch", str(klass), "-t", TARGET, "--out", str(out), "--csv", str(out_csv), "--jobs", "2", "--sandbox", "bwrap", "--quiet")
    assert proc.returncode == 0, proc.stderr
    time.sleep(3)
    with out_csv.open(newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert rows["alice"]["percent"] == "100.0"
    for case in ("fork_outlive", "detached_writer", "search_solutions"):
        assert int(rows[case]["score"]) < int(rows[case]["max_score"]), rows[case]
        assert rows[case]["isolation"] == "bwrap"
    assert sentinel.read_text() == "intact" and "HACKED" not in out_csv.read_text()
    for path in (out / "students").iterdir():
        json.loads(path.read_text())  # every result file intact
    assert _marked_processes("genlab-hostile-fork") == []


def test_sandbox_bwrap_without_bwrap_exits_2_with_the_fix(tmp_path) -> None:
    env = {"PATH": str(tmp_path), "GENLAB_PROGRESS": str(tmp_path / "p.sqlite3")}  # no bwrap on PATH
    proc = run_grade(TARGET, "--submission", str(ROOT / "solutions"), "--sandbox", "bwrap", env={**os.environ, **env})
    assert proc.returncode == 2
    assert "apt-get install -y bubblewrap" in proc.stderr


def test_unknown_worker_user_exits_2_with_the_fix(tmp_path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the worker user is taken only by a grader running as root")
    env = {"GENLAB_WORKER_USER": "genlab-no-such-user", "GENLAB_PROGRESS": str(tmp_path / "p.sqlite3")}
    proc = run_grade(TARGET, "--submission", str(ROOT / "solutions"), env=env)
    assert proc.returncode == 2 and "genlab-no-such-user: no such user" in proc.stderr and "useradd" in proc.stderr
