"""Kernel memory and process limits for one worker: a fresh cgroup per sandboxed worker.

The judge's RSS watchdog polls every 50 ms; a submission that allocates faster can take the
machine's memory before it looks, and the sandbox's pid namespace ends leftover processes but
does not cap how many run at once. A cgroup makes the kernel enforce both: memory (the
``Limits.memory_mb`` of the run) and a number of processes (threads count too).

Where the limits come from, tried in order:
1. cgroup v2 where this process's own cgroup is delegated to it (writable, ``memory`` and
   ``pids`` available): worker cgroups are created beside the judge's; when the judge's own
   cgroup holds processes, they move into a leaf first (the "no internal processes" rule);
2. cgroup v1 ``memory`` and ``pids`` hierarchies this process may write (root in a container,
   as on CI): worker cgroups are created under the judge's own cgroup of each hierarchy;
3. none, with the reason, recorded with every result.

A worker's cgroup is named ``genlab-<judge pid>-<n>`` and removed when the worker ends; those a
killed judge left behind (its pid is gone) are emptied and removed by the next judge.
Every failure here falls back to "none" with a reason, never to an error.
"""

from __future__ import annotations

import errno
import functools
import itertools
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from grader.cgroup_tree import Hierarchy, detect

PIDS_MAX = 512  # processes and threads of one worker: torch's threads, a few hundred forks, not a bomb
SWITCH = "GENLAB_CGROUPS"  # "off": no cgroups even where they can be made (the result records it)
_counter = itertools.count(1)
_STALE = re.compile(r"genlab-(\d+)-\d+")


@dataclass(frozen=True)
class CgroupStatus:
    """The kernel limits a worker got: version "v2", "v1" or "none" (then ``reason`` says why)."""

    version: str
    memory_mb: int = 0
    pids: int = 0
    reason: str = ""

    @property
    def applied(self) -> bool:
        return self.version != "none"

    def to_json(self) -> dict:
        if self.applied:
            return {"version": self.version, "memory_mb": self.memory_mb, "pids": self.pids}
        return {"version": "none", "reason": self.reason}

    @classmethod
    def from_json(cls, d: dict | None) -> CgroupStatus | None:
        if not isinstance(d, dict) or "version" not in d:
            return None
        return cls(str(d["version"]), int(d.get("memory_mb", 0)), int(d.get("pids", 0)), str(d.get("reason", "")))


def describe(status: dict | None) -> str:
    """The footer's words for a report's ``cgroup`` field (older reports have none)."""
    parsed = CgroupStatus.from_json(status)
    if parsed is None:
        return "cgroup limits: not recorded"
    if parsed.applied:
        return f"cgroup limits: memory {parsed.memory_mb} MiB, {parsed.pids} processes (cgroup {parsed.version})"
    return f"cgroup limits: none ({parsed.reason})"


def weakest(a: CgroupStatus | None, b: CgroupStatus) -> CgroupStatus:
    """Of two workers of one run, the one to record: a run is only as limited as its least limited worker."""
    return b if a is None or (a.applied and not b.applied) else a


@functools.cache
def hierarchy() -> Hierarchy | str:
    """This machine's hierarchy (detected once per judge; stale cgroups are cleaned up then)."""
    if os.environ.get(SWITCH, "").lower() in ("0", "off", "no"):
        return f"turned off ({SWITCH}={os.environ[SWITCH]})"
    found = detect()
    if isinstance(found, Hierarchy):
        for parent in found.parents:
            remove_stale(parent)
    return found


class WorkerCgroup:
    """One worker's cgroup (a directory in each hierarchy parent): create, adopt, kill, remove."""

    def __init__(self, dirs: tuple[Path, ...], status: CgroupStatus, version: str) -> None:
        self.dirs = dirs
        self.status = status
        self.version = version

    @classmethod
    def create(cls, memory_mb: int, found: Hierarchy | str | None = None) -> WorkerCgroup | CgroupStatus:
        """A fresh cgroup with the limits, or the "none" status saying why there is none."""
        found = hierarchy() if found is None else found
        if isinstance(found, str):
            return CgroupStatus("none", reason=found)
        name = f"genlab-{os.getpid()}-{next(_counter)}"
        dirs: list[Path] = []
        try:
            for parent in found.parents:
                (parent / name).mkdir()
                dirs.append(parent / name)
            group = cls(tuple(dirs), CgroupStatus(found.version, memory_mb, PIDS_MAX), found.version)
            group._set_limits(memory_mb)
            return group
        except OSError as exc:
            for d in dirs:
                _rmdir(d)
            return CgroupStatus("none", reason=f"could not create a cgroup under {found.parents[0]}: {exc.strerror or exc}")

    def _set_limits(self, memory_mb: int) -> None:
        limit = str(memory_mb * 2**20)
        if self.version == "v2":
            (d,) = self.dirs
            _write(d / "memory.max", limit)
            _write(d / "memory.swap.max", "0", optional=True)  # over the limit it is killed, not swapped out
            _write(d / "pids.max", str(PIDS_MAX))
        else:
            memory, pids = self.dirs
            _write(memory / "memory.limit_in_bytes", limit)
            _write(memory / "memory.memsw.limit_in_bytes", limit, optional=True)  # after the memory limit: memsw >= it
            _write(pids / "pids.max", str(PIDS_MAX))

    def adopt_tree(self, root_pid: int) -> None:
        """Move ``root_pid`` and every process under it into the cgroup (raises OSError).

        Called before the worker gets its first request: until then only bwrap and the worker
        run, none of them forks, and whatever the submission starts later inherits the cgroup."""
        pids = process_tree(root_pid)
        for d in self.dirs:
            for pid in pids:
                try:
                    _write(d / "cgroup.procs", str(pid))
                except ProcessLookupError:
                    continue  # it ended meanwhile
        missing = pids - self.members()
        if missing and any(_alive(p) for p in missing):
            raise OSError(errno.EAGAIN, f"processes {sorted(missing)} did not join {self.dirs[0]}")

    def members(self) -> set[int]:
        """Processes in the cgroup (of its first hierarchy)."""
        try:
            return {int(p) for p in (self.dirs[0] / "cgroup.procs").read_text().split()}
        except (OSError, ValueError):
            return set()

    def oom_killed(self) -> bool:
        """Did the kernel kill a process of this cgroup for going over its memory limit?"""
        name = "memory.events" if self.version == "v2" else "memory.oom_control"
        try:
            for line in (self.dirs[0] / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            pass
        return False

    def kill_all(self) -> None:
        """SIGKILL everything in the cgroup, even processes that left the worker's session."""
        if self.version == "v2" and _write(self.dirs[0] / "cgroup.kill", "1", optional=True):
            return
        for pid in self.members():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def remove(self, timeout: float = 2.0) -> bool:
        """Kill what is left, wait until the cgroup is empty, remove it; False if it could not be."""
        deadline = time.monotonic() + timeout
        while self.members():
            self.kill_all()
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return all([_rmdir(d) for d in self.dirs])


def remove_stale(parent: Path) -> int:
    """Remove worker cgroups of judges that are gone (killed before they could); how many."""
    removed = 0
    try:
        entries = list(parent.iterdir())
    except OSError:
        return 0
    for entry in entries:
        match = _STALE.fullmatch(entry.name)
        if match is None or not entry.is_dir() or _alive(int(match.group(1))):
            continue
        version = "v2" if (entry / "cgroup.controllers").exists() else "v1"
        removed += WorkerCgroup((entry,), CgroupStatus(version), version).remove(timeout=1.0)
    return removed


def process_tree(root_pid: int) -> set[int]:
    """``root_pid`` and its descendants, through /proc/<pid>/task/<tid>/children."""
    seen: set[int] = set()
    todo = [root_pid]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
            except (OSError, ValueError):
                continue
    return seen


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write(path: Path, value: str, *, optional: bool = False) -> bool:
    """Write a cgroup control file; an optional one that this kernel lacks is skipped (False)."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        if optional:
            return False
        raise
    try:
        os.write(fd, value.encode())
    except OSError:
        if optional:
            return False
        raise
    finally:
        os.close(fd)
    return True


def _rmdir(path: Path) -> bool:
    try:
        path.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True
