"""Detection of the cgroup hierarchy worker limits are made in, against fake trees in tmp_path:
cgroup v2 delegated, cgroup v1 writable, and neither (with the reason)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from grader import cgroup_limits
from grader.cgroup_limits import CgroupStatus, WorkerCgroup, describe, remove_stale, weakest
from grader.cgroup_tree import JUDGE_LEAF, Hierarchy, detect


def _files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _self_cgroup(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "self_cgroup"
    path.write_text(text)
    return path


def test_v2_delegated_moves_own_processes_to_a_leaf_and_enables_the_controllers(tmp_path) -> None:
    root = tmp_path / "cg"
    own = "user.slice/user-1000.slice/genlab.scope"
    _files(root, {"cgroup.controllers": "cpu memory pids", f"{own}/cgroup.controllers": "cpu memory pids", f"{own}/cgroup.subtree_control": "", f"{own}/cgroup.procs": "4242\n"})
    found = detect(root, _self_cgroup(tmp_path, f"0::/{own}\n"))
    assert found == Hierarchy("v2", (root / own,))
    assert (root / own / JUDGE_LEAF / "cgroup.procs").read_text() == "4242"  # no internal processes: the judge moved down
    assert (root / own / "cgroup.subtree_control").read_text() == "+memory +pids"


def test_v2_without_the_pids_controller_says_so(tmp_path) -> None:
    root = tmp_path / "cg"
    _files(root, {"cgroup.controllers": "cpu memory", "app/cgroup.controllers": "cpu memory", "app/cgroup.subtree_control": "", "app/cgroup.procs": ""})
    found = detect(root, _self_cgroup(tmp_path, "0::/app\n"))
    assert isinstance(found, str) and "pids not delegated" in found


def test_v2_not_writable_says_so(tmp_path, monkeypatch) -> None:
    root = tmp_path / "cg"
    _files(root, {"cgroup.controllers": "memory pids", "app/cgroup.controllers": "memory pids", "app/cgroup.subtree_control": "", "app/cgroup.procs": ""})
    monkeypatch.setattr("grader.cgroup_tree.os.access", lambda *_a, **_k: False)  # root may write anything: pretend a user
    found = detect(root, _self_cgroup(tmp_path, "0::/app\n"))
    assert isinstance(found, str) and "not delegated to this user" in found


def test_v1_writable_memory_and_pids(tmp_path) -> None:
    root = tmp_path / "cg"
    _files(root, {"memory/ctr/a/cgroup.procs": "", "pids/ctr/a/cgroup.procs": "", "cpu/cgroup.procs": ""})
    text = "12:pids:/ctr/a\n5:memory:/ctr/a\n3:cpu,cpuacct:/\n0::/\n"
    found = detect(root, _self_cgroup(tmp_path, text))
    assert found == Hierarchy("v1", (root / "memory/ctr/a", root / "pids/ctr/a"))


def test_neither_gives_the_reason(tmp_path) -> None:
    root = tmp_path / "cg"
    root.mkdir()
    found = detect(root, _self_cgroup(tmp_path, "0::/\n"))
    assert isinstance(found, str) and "no cgroup v2 hierarchy" in found and "v1 memory and pids" in found
    assert "cannot read" in str(detect(root, tmp_path / "missing"))


def test_a_hierarchy_that_refuses_the_limits_falls_back_to_none_and_leaves_nothing(tmp_path) -> None:
    parents = (tmp_path / "memory", tmp_path / "pids")
    for p in parents:
        p.mkdir()
    made = WorkerCgroup.create(512, Hierarchy("v1", parents))  # plain folders: no memory.limit_in_bytes to write
    assert isinstance(made, CgroupStatus) and not made.applied and "could not create a cgroup" in made.reason
    assert [list(p.iterdir()) for p in parents] == [[], []]
    assert WorkerCgroup.create(512, "no writable cgroup hierarchy") == CgroupStatus("none", reason="no writable cgroup hierarchy")


def test_stale_cgroups_of_dead_judges_are_removed(tmp_path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    stale, mine, other = tmp_path / f"genlab-{dead.stdout.strip()}-3", tmp_path / f"genlab-{cgroup_limits.os.getpid()}-1", tmp_path / "system.slice"
    for d in (stale, mine, other):
        d.mkdir()
    assert remove_stale(tmp_path) == 1
    assert not stale.exists() and mine.exists() and other.exists()


def test_status_words_and_the_weakest_worker() -> None:
    v1, none = CgroupStatus("v1", 2048, 512), CgroupStatus("none", reason="no writable cgroup hierarchy")
    assert describe(v1.to_json()) == "cgroup limits: memory 2048 MiB, 512 processes (cgroup v1)"
    assert describe(none.to_json()) == "cgroup limits: none (no writable cgroup hierarchy)"
    assert describe(None) == "cgroup limits: not recorded"
    assert weakest(None, v1) == v1 and weakest(v1, none) == none and weakest(none, v1) == none
