"""Kernel limits on sandboxed workers (grader.cgroup_limits), for real: a memory burst is stopped,
a fork bomb is contained, and no worker cgroup is left once grading ends. Through `grade` and
`grade batch`; skipped where this machine gives no writable cgroup hierarchy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.cgroup_limits import PIDS_MAX, CgroupStatus, WorkerCgroup
from grader.cgroup_tree import Hierarchy, detect
from grader.sandbox import bwrap_works
from tests.cli_helpers import ROOT, SUBMISSIONS

pytestmark = pytest.mark.slow
TARGET = "attention.scaled_dot_product_attention"
_found = detect(prepare=False)
_ok, _why = bwrap_works()
needs_cgroups = pytest.mark.skipif(not isinstance(_found, Hierarchy), reason=f"no writable cgroup hierarchy here: {_found}")
needs_bwrap = pytest.mark.skipif(not _ok, reason=f"bwrap cannot create namespaces on this machine: {_why}")


def _grade(*args: str, tmp_path: Path, env: dict[str, str] | None = None) -> tuple[set[Path], subprocess.CompletedProcess[str]]:
    """`python -m grader ARGS`; also returns the worker cgroups that existed before it ran."""
    before = _worker_cgroups()
    env = {**os.environ, "GENLAB_MAX_EXAMPLES": "5", "GENLAB_PROGRESS": str(tmp_path / "progress.sqlite3"), **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    return before, proc


def _worker_cgroups() -> set[Path]:
    if not isinstance(_found, Hierarchy):
        return set()
    return {d for parent in _found.parents for d in parent.glob("genlab-*-*")}


def _left_cgroups(before: set[Path]) -> list[Path]:
    """Worker cgroups made since ``before`` whose judge has ended (`grade batch` judges in slot processes)."""
    return sorted(d for d in _worker_cgroups() - before if not _alive(int(d.name.split("-")[1])))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _bombs_left() -> int:
    left = 0
    for entry in Path("/proc").iterdir():
        try:
            left += entry.name.isdigit() and b"genlab-hostile-bomb" in (entry / "cmdline").read_bytes()
        except OSError:
            pass
    return left


@needs_cgroups
def test_the_kernel_stops_a_process_over_the_memory_limit() -> None:
    group = WorkerCgroup.create(128)
    assert isinstance(group, WorkerCgroup), group
    hog = subprocess.Popen([sys.executable, "-c", "input(); b = bytearray(1024 * 2**20); print('survived')"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        group.adopt_tree(hog.pid)  # before it allocates: it waits for a line
        assert group.members() == {hog.pid}
        out, _ = hog.communicate("go\n", timeout=60)
    finally:
        hog.kill()
    assert hog.returncode == -9 and "survived" not in out
    assert group.oom_killed()
    assert group.remove() and not any(d.exists() for d in group.dirs)


@needs_cgroups
@needs_bwrap
def test_memory_burst_fails_with_a_memory_message_and_the_judge_survives(tmp_path) -> None:
    before, proc = _grade(TARGET, "--submission", str(SUBMISSIONS / "memory_burst"), "--device", "cpu", "--sandbox", "bwrap", "--memory-mb", "1024", "--format", "json", tmp_path=tmp_path)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    (exercise,) = report["exercises"]
    assert exercise["status"] == "out_of_memory" and "1024 MiB limit" in exercise["message"], exercise["message"]
    assert report["isolation"] == "bwrap"
    assert report["cgroup"] == {"version": _found.version, "memory_mb": 1024, "pids": PIDS_MAX}
    assert _left_cgroups(before) == []


@needs_cgroups
@needs_bwrap
def test_fork_bomb_is_contained_by_the_process_limit(tmp_path) -> None:
    before, proc = _grade(TARGET, "--submission", str(SUBMISSIONS / "fork_bomb"), "--device", "cpu", "--sandbox", "bwrap", "--timeout", "60", "--format", "json", tmp_path=tmp_path)
    assert proc.returncode == 1, proc.stderr
    (exercise,) = json.loads(proc.stdout)["exercises"]
    output = exercise["output"]
    assert "Resource temporarily unavailable" in output, output  # fork failed: the limit, not the bomb's own bound of 3000
    assert int(output.split("forked ")[1].split(":")[0]) < PIDS_MAX
    time.sleep(0.5)
    assert _bombs_left() == 0
    assert _left_cgroups(before) == []


@needs_cgroups
@needs_bwrap
def test_batch_records_the_limits_and_the_text_footer_names_them(tmp_path) -> None:
    klass = tmp_path / "class"
    (klass / "alice").mkdir(parents=True)
    (klass / "alice" / "attention.py").write_text((ROOT / "solutions" / "attention.py").read_text())
    out = tmp_path / "out"
    before, proc = _grade("batch", str(klass), "-t", TARGET, "--out", str(out), "--json", str(tmp_path / "grades.json"), "--sandbox", "bwrap", "--memory-mb", "2048", "--quiet", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (alice,) = json.loads((tmp_path / "grades.json").read_text())["students"]
    assert alice["isolation"] == "bwrap" and alice["cgroup"] == {"version": _found.version, "memory_mb": 2048, "pids": PIDS_MAX}
    assert _left_cgroups(before) == []

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True).stdout.strip()
    stale = [parent / f"genlab-{dead}-1" for parent in _found.parents]  # as a judge killed with SIGKILL leaves them
    for d in stale:
        d.mkdir()
    before, proc = _grade(TARGET, "--submission", str(klass / "alice"), "--device", "cpu", "--sandbox", "bwrap", "--memory-mb", "2048", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not any(d.exists() for d in stale)  # the next judge removed them
    assert f"cgroup limits: memory 2048 MiB, {PIDS_MAX} processes (cgroup {_found.version})." in proc.stdout
    assert _left_cgroups(before) == []


def test_without_the_sandbox_the_footer_says_why_there_are_no_limits(tmp_path) -> None:
    _before, proc = _grade(TARGET, "--submission", str(ROOT / "solutions"), "--device", "cpu", "--sandbox", "none", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "cgroup limits: none (no OS sandbox around this worker)." in proc.stdout
    assert CgroupStatus("none", reason="x").to_json() == {"version": "none", "reason": "x"}


@needs_bwrap
def test_cgroups_turned_off_are_recorded_with_the_reason(tmp_path) -> None:
    before, proc = _grade(TARGET, "--submission", str(ROOT / "solutions"), "--device", "cpu", "--sandbox", "bwrap", "--format", "json", tmp_path=tmp_path, env={"GENLAB_CGROUPS": "off"})
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["isolation"] == "bwrap" and report["cgroup"] == {"version": "none", "reason": "turned off (GENLAB_CGROUPS=off)"}
    if isinstance(_found, Hierarchy):
        assert _left_cgroups(before) == []
