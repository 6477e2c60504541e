"""Where worker cgroups can be made on this machine: cgroup v2 delegated to us, v1 writable, or why not.

Pure file-system probing under a root folder (``/sys/fs/cgroup``) and this process's
``/proc/self/cgroup``, so that tests can run it against a fake tree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CONTROLLERS = ("memory", "pids")
JUDGE_LEAF = "genlab-judge"  # v2: where the judge's cgroup's own processes move, so its children may have controllers


@dataclass(frozen=True)
class Hierarchy:
    """Folders under which worker cgroups are created: v2 one, v1 one per controller (memory, pids)."""

    version: str
    parents: tuple[Path, ...]


def detect(root: Path = Path("/sys/fs/cgroup"), self_cgroup: Path = Path("/proc/self/cgroup"), *, prepare: bool = True) -> Hierarchy | str:
    """The hierarchy to use, or the reason there is none (one line, for the results).

    ``prepare``: on v2, enable the controllers for the children of our cgroup (moving its
    processes into a leaf when needed); off for a read-only look."""
    try:
        lines = self_cgroup.read_text().splitlines()
    except OSError as exc:
        return f"cannot read {self_cgroup} ({exc.strerror or exc}): no cgroups here"
    paths = {}
    for line in lines:
        _, controllers, path = line.split(":", 2) if line.count(":") >= 2 else ("", "", "")
        for c in controllers.split(",") if controllers else [""]:
            paths.setdefault(c, path)
    reasons = []
    if (root / "cgroup.controllers").exists() and "" in paths:
        found = _v2(root / paths[""].lstrip("/"), prepare)
        if isinstance(found, Hierarchy):
            return found
        reasons.append(found)
    if all((root / c).is_dir() for c in CONTROLLERS):
        found = _v1(root, paths)
        if isinstance(found, Hierarchy):
            return found
        reasons.append(found)
    return "; ".join(reasons) or f"no cgroup v2 hierarchy at {root} and no cgroup v1 memory and pids hierarchies"


def _v2(own: Path, prepare: bool) -> Hierarchy | str:
    available = _words(own / "cgroup.controllers")
    lacking = [c for c in CONTROLLERS if c not in available]
    if lacking:
        return f"cgroup v2: controller {', '.join(lacking)} not delegated to {own}"
    if not (os.access(own, os.W_OK) and os.access(own / "cgroup.subtree_control", os.W_OK) and os.access(own / "cgroup.procs", os.W_OK)):
        return f"cgroup v2: {own} is not delegated to this user (not writable)"
    if not prepare or all(c in _words(own / "cgroup.subtree_control") for c in CONTROLLERS):
        return Hierarchy("v2", (own,))
    try:
        _enable(own)
    except OSError as exc:
        return f"cgroup v2: cannot enable memory and pids for the children of {own} ({exc.strerror or exc})"
    return Hierarchy("v2", (own,))


def _enable(own: Path) -> None:
    """Enable the controllers below ``own``; processes in ``own`` itself first move to a leaf."""
    procs = _words(own / "cgroup.procs")
    if procs:
        leaf = own / JUDGE_LEAF
        leaf.mkdir(exist_ok=True)
        for pid in procs:
            try:
                (leaf / "cgroup.procs").write_text(pid)
            except ProcessLookupError:
                continue
    (own / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in CONTROLLERS))


def _v1(root: Path, paths: dict[str, str]) -> Hierarchy | str:
    parents = []
    for c in CONTROLLERS:
        if c not in paths:
            return f"cgroup v1: this process is in no {c} cgroup"
        folder = root / c / paths[c].lstrip("/")
        if not (folder / "cgroup.procs").exists():
            return f"cgroup v1: {folder} is not a cgroup of this process"
        if not os.access(folder, os.W_OK):
            return f"cgroup v1: {folder} is not writable (no writable cgroup hierarchy)"
        parents.append(folder)
    return Hierarchy("v1", tuple(parents))


def _words(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:
        return []
