"""The issue's acceptance class through `grade batch`: a correct student, an untouched copy of the
stubs and one student per hostile behaviour (tests/submissions/*), graded together in the sandbox.

The correct student gets full marks, the stubs "not implemented", every hostile one a failure;
afterwards no file outside the output folder has changed, no process is left and no connection
was made."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import socket
import time
from pathlib import Path

import pytest

from grader.sandbox import bwrap_works
from tests.cli_helpers import ROOT, SUBMISSIONS, run_grade

pytestmark = pytest.mark.slow
_ok, _why = bwrap_works()
TARGET = "attention.scaled_dot_product_attention"
HOSTILE = ("fork_outlive", "connect_localhost", "detached_writer", "search_solutions", "flood_output")


def _snapshot(*roots: Path, skip: Path) -> dict[str, str]:
    """Every file under ``roots`` (except under ``skip``) with a hash of its bytes."""
    files = {}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink() and not path.is_relative_to(skip):
                files[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline or b"genlab-hostile-fork" in cmdline:
                found.append(f"{entry.name}: {cmdline[:200]!r}")
    return found


@pytest.mark.skipif(not _ok, reason=f"bwrap cannot create namespaces on this machine: {_why}")
def test_hostile_class_through_grade_batch(tmp_path) -> None:
    klass = tmp_path / "class"
    (klass / "alice").mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / "attention.py", klass / "alice")
    (klass / "stubs").mkdir()
    shutil.copy(ROOT / "exercises" / "attention.py", klass / "stubs")
    for case in HOSTILE:
        shutil.copytree(SUBMISSIONS / case, klass / case)
    # Bait for the detached writer, in its own folder, the class folder and above it.
    for bait in (tmp_path / "gradebook.csv", tmp_path / "progress.sqlite3", klass / "roster.json", klass / "detached_writer" / "mine.json"):
        bait.write_text("intact")
    out = tmp_path / "out"
    before = _snapshot(tmp_path, ROOT / "solutions", skip=out)

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        source = klass / "connect_localhost" / "attention.py"
        source.write_text(source.read_text().replace("PORT = 0", f"PORT = {server.getsockname()[1]}"))
        before[str(source)] = hashlib.sha256(source.read_bytes()).hexdigest()
        env = {"GENLAB_PROGRESS": str(tmp_path / "progress.sqlite3")}
        args = ("batch", str(klass), "-t", TARGET, "--out", str(out), "--csv", str(out / "grades.csv"), "--json", str(out / "grades.json"))
        proc = run_grade(*args, "--jobs", "2", "--sandbox", "bwrap", "--quiet", "--timeout", "30", env=env)
        time.sleep(3)  # the detached writer strikes 2 s after it starts
        with pytest.raises(BlockingIOError):
            server.accept()  # no connection was made
    assert proc.returncode == 0, proc.stderr

    with (out / "grades.csv").open(newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"alice", "stubs", *HOSTILE}
    assert rows["alice"]["percent"] == "100.0"
    assert rows["stubs"][TARGET].endswith("(not implemented)")
    for case in HOSTILE:
        assert rows[case]["status"] == "graded" and int(rows[case]["score"]) < int(rows[case]["max_score"]), rows[case]
    assert all(r["isolation"] == "bwrap" for r in rows.values())
    students = {s["student"]: s for s in json.loads((out / "grades.json").read_text())["students"]}
    assert "connect failed" in students["connect_localhost"]["exercises"][0]["output"]
    assert "found: None" in students["search_solutions"]["exercises"][0]["output"]
    assert len(students["flood_output"]["exercises"][0]["output"]) < 10_000
    assert sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) < 5 * 2**20  # the flood filled no disk

    assert _snapshot(tmp_path, ROOT / "solutions", skip=out) == before  # nothing outside the output folder changed
    assert "HACKED" not in (out / "grades.csv").read_text() + (out / "grades.json").read_text()
    for path in (out / "students").iterdir():
        assert "HACKED" not in path.read_text() and json.loads(path.read_text())
    assert _processes_mentioning(str(klass)) == []  # no process left
