"""How the judge reaches a worker: a separate process (grading) or in-process (tests).

Both kinds send the same requests and get answers through the same plain-data encoding, so
a property behaves identically in the project's fast tests and in real grading.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

from grader import cgroup_limits, protocol, sandbox
from grader.failures import Abort
from grader.limits import Limits

OUTPUT_CAP = 4000  # characters of a submission's prints shown with a result
STARTUP_TIMEOUT = 120.0  # seconds a fresh worker may take to import torch
RSS_EVERY_S = 0.05  # the worker's memory is read at least this often while requests run


class Connection(Protocol):
    """Sends one request to the worker and returns its decoded answer."""

    def request(self, message: dict[str, Any], timeout: float) -> protocol.Decoded: ...

    def take_output(self) -> str: ...

    def restart(self) -> None: ...

    def close(self) -> None: ...


class LocalConnection:
    """Runs requests in this process against given modules (the project's own tests only)."""

    def __init__(self, modules: dict[str, Any]) -> None:
        from grader.worker import Dispatcher

        def load(topic: str) -> Any:
            if topic not in modules:
                raise FileNotFoundError(f"no module for topic {topic!r}")
            return modules[topic]

        self._dispatcher = Dispatcher(load, None)

    def request(self, message: dict[str, Any], timeout: float) -> protocol.Decoded:
        from grader import tensor_pickle  # imports torch: not at start-up

        message = pickle.loads(tensor_pickle.dumps(message))  # the worker gets copies, as over a pipe
        return protocol.decode_plain(protocol.encode_plain(self._dispatcher.handle(message)))

    def take_output(self) -> str:
        return ""

    def restart(self) -> None:
        pass  # nothing to restart in-process

    def close(self) -> None:
        pass


class WorkerConnection:
    """A worker process over dedicated pipes, with time and memory bounds enforced from here."""

    def __init__(self, submission: Path, *, limits: Limits | None = None, isolation: str = "none", warm_up: bool = False) -> None:
        self.submission = submission
        self.warm_up = warm_up  # a spare (grader.warm): the worker imports ahead what gradings import lazily
        self.limits = limits or Limits()
        self.memory_limit_mb = self.limits.memory_mb
        self.isolation = isolation  # "bwrap": inside the OS sandbox (grader.sandbox); "none": not
        self.deaths = 0  # worker processes found dead during a request (grader.warm retries then)
        self._proc: subprocess.Popen[bytes] | None = None
        self._cgroup: cgroup_limits.WorkerCgroup | None = None
        self.cgroup_status: cgroup_limits.CgroupStatus | None = None  # the least limited of its workers (grader.cgroup_limits)
        self._output = tempfile.TemporaryFile()
        self._read_pos = 0
        self.start()

    def start(self) -> None:
        """Start a fresh worker (after a kill, or at the beginning of a run)."""
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GENLAB_", "HYPOTHESIS"))}
        env["PYTHONBREAKPOINT"] = "0"  # a leftover breakpoint() must not wait for a debugger
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.update(sandbox.thread_env(self.limits.threads))
        self._workdir = tempfile.TemporaryDirectory(prefix="genlab-worker-")
        as_user = sandbox.user_kwargs()
        if as_user:
            os.chmod(self._workdir.name, 0o755)  # the worker user starts in it
        argv = [sys.executable, "-m", "grader.worker", str(to_worker_r), str(from_worker_w), str(self.submission), str(self.memory_limit_mb)]
        if self.warm_up:
            argv.append("--warm-up")
        if self.isolation == "bwrap":
            argv = sandbox.bwrap_command(argv, self.submission, threads=self.limits.threads)
        self._new_cgroup()
        self._proc = subprocess.Popen(
            argv,
            pass_fds=(to_worker_r, from_worker_w),  # bwrap passes inherited descriptors on
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=self._output,
            cwd=self._workdir.name,
            env={**env, "PYTHONPATH": _grader_path()},
            start_new_session=True,  # so that a kill reaches anything the submission spawned
            **as_user,
        )
        os.close(to_worker_r)
        os.close(from_worker_w)
        self._send, self._recv = to_worker_w, from_worker_r
        self._ready = False
        self._pinged = False
        self._rss_checked = 0.0

    def send_ping(self) -> None:
        """Ask a fresh worker to answer once it has imported torch (the answer is read later)."""
        if not self._pinged:
            self._pinged = True
            protocol.write_frame(self._send, pickle.dumps({"op": "ping"}))

    def is_ready(self) -> bool:
        """Without waiting: has the worker answered the ping (torch imported)? False once it died."""
        if self._ready:
            return True
        if self._proc is None or self._proc.poll() is not None:
            return False
        self.send_ping()
        if not select.select([self._recv], [], [], 0)[0]:
            return False
        try:
            self._ensure_ready()  # the answer is there: reading it does not wait
        except Abort:
            return False  # it died while starting; _died() has already started another
        return True

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The worker's process (bwrap's, inside the sandbox), for tests and diagnostics."""
        return self._proc.pid if self._proc is not None else None

    def _ensure_ready(self) -> None:
        """Wait for a fresh worker to start (it imports torch) outside any call's time limit."""
        if self._ready:
            return
        self.send_ping()
        self._ready = True
        self._read_with_deadline(self._wait_readable(time.monotonic() + STARTUP_TIMEOUT), time.monotonic() + STARTUP_TIMEOUT)
        self._join_cgroup()

    def _new_cgroup(self) -> None:
        """A fresh cgroup for the worker about to start (sandboxed workers only), or why none."""
        self._cgroup = None
        if self.isolation != "bwrap":
            self._record(cgroup_limits.CgroupStatus("none", reason="no OS sandbox around this worker"))
            return
        try:
            made = cgroup_limits.WorkerCgroup.create(self.memory_limit_mb)
        except Exception as exc:  # noqa: BLE001 - limits are a level of isolation; their absence is recorded, never fatal
            made = cgroup_limits.CgroupStatus("none", reason=f"cgroup set-up failed ({type(exc).__name__}: {exc})")
        if isinstance(made, cgroup_limits.CgroupStatus):
            self._record(made)
        else:
            self._cgroup = made

    def _join_cgroup(self) -> None:
        """Move the started worker's processes into its cgroup before it runs any student code."""
        if self._cgroup is None or self._proc is None:
            return
        try:
            self._cgroup.adopt_tree(self._proc.pid)
        except Exception as exc:  # noqa: BLE001 - as above: recorded, never fatal
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self._record(cgroup_limits.CgroupStatus("none", reason=f"the worker could not join its cgroup ({why})"))
            return
        self._record(self._cgroup.status)

    def _record(self, status: cgroup_limits.CgroupStatus) -> None:
        self.cgroup_status = cgroup_limits.weakest(self.cgroup_status, status)

    def _drop_cgroup(self) -> None:
        """The worker has ended: kill whatever it left in its cgroup and remove the cgroup."""
        if self._cgroup is not None:
            try:
                self._cgroup.remove()
            except Exception:  # noqa: BLE001, S110 - a cgroup left behind is removed by the next judge (remove_stale)
                pass
            self._cgroup = None

    def request(self, message: dict[str, Any], timeout: float) -> protocol.Decoded:
        from grader import tensor_pickle  # imports torch: not at start-up

        assert self._proc is not None
        try:
            self._ensure_ready()
            protocol.write_frame(self._send, tensor_pickle.dumps(message))
        except (BrokenPipeError, OSError):
            self._died()
        deadline = time.monotonic() + timeout
        length = self._wait_readable(deadline)
        payload = self._read_with_deadline(length, deadline)
        try:
            return protocol.decode_plain(payload)
        except protocol.ProtocolError as exc:
            self.kill()
            raise Abort("crashed", f"the worker sent a malformed answer ({exc}); it was stopped") from None

    def _wait_readable(self, deadline: float) -> int:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise Abort("timed_out", "timed out")
            ready, _, _ = select.select([self._recv], [], [], min(0.05, remaining))
            # Measured while the worker computes, not after each quick answer: reading /proc for
            # every process of the sandbox costs more than most calls (the kernel's cgroup limit,
            # where there is one, holds at every instant anyway).
            if (not ready or time.monotonic() - self._rss_checked > RSS_EVERY_S) and self._rss_mb() > self.memory_limit_mb:
                self.kill()
                raise Abort("out_of_memory", f"ran out of memory (over the {self.memory_limit_mb} MiB limit)")
            if ready:
                try:
                    return protocol.read_length(self._recv)
                except protocol.ChannelClosed:
                    self._died()
                except protocol.ProtocolError as exc:
                    self.kill()
                    raise Abort("crashed", f"the worker broke the protocol ({exc}); it was stopped") from None

    def _read_with_deadline(self, length: int, deadline: float) -> bytes:
        chunks, left = [], length
        while left:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._recv], [], [], max(0.0, min(0.05, remaining)))
            if not ready:
                if time.monotonic() >= deadline:
                    self.kill()
                    raise Abort("timed_out", "timed out")
                continue
            chunk = os.read(self._recv, min(left, 1 << 20))
            if not chunk:
                self._died()
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _died(self) -> None:
        assert self._proc is not None
        self.deaths += 1
        try:
            code = self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        over_memory = self._cgroup is not None and self._cgroup.oom_killed()  # before kill() replaces the cgroup
        self.kill()
        if code is not None and code in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ):
            raise Abort("crashed", f"your code wrote more than {sandbox.OUTPUT_LIMIT_MB} MiB (prints or a file); it was stopped")
        if over_memory:
            raise Abort("out_of_memory", f"ran out of memory (over the {self.memory_limit_mb} MiB limit; stopped by the kernel)")
        if code is not None and code in (-signal.SIGKILL, 128 + signal.SIGKILL):  # bwrap reports 128+signal
            raise Abort("out_of_memory", "the worker was killed (most likely it ran out of memory)")
        raise Abort("crashed", f"your code ended the worker process (exit code {code}); calls like sys.exit or os._exit are not allowed")

    def _rss_mb(self) -> float:
        """Resident memory of the worker and everything under it (bwrap's sandbox, forks)."""
        assert self._proc is not None
        self._rss_checked = time.monotonic()
        total, page = 0, os.sysconf("SC_PAGE_SIZE")
        for pid in cgroup_limits.process_tree(self._proc.pid):  # forks from any thread, too
            try:
                with open(f"/proc/{pid}/statm") as f:
                    total += int(f.read().split()[1]) * page
            except (OSError, ValueError, IndexError):
                continue  # no /proc (macOS): the memory bound is not enforced there
        return total / 2**20

    def take_output(self) -> str:
        """What the submission printed since the last call, capped."""
        self._output.seek(self._read_pos)
        data = self._output.read()
        self._read_pos += len(data)
        text = data.decode("utf-8", errors="replace")
        if len(text) > OUTPUT_CAP:
            text = text[:OUTPUT_CAP] + f"\n… ({len(text) - OUTPUT_CAP} more characters not shown)"
        return text

    def restart(self) -> None:
        """Replace the worker with a fresh one (after an error that leaves its process unusable)."""
        self.kill()

    def kill(self) -> None:
        """Kill the worker and its process group, then start a fresh one lazily."""
        if self._proc is not None and self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self._proc.kill()
            self._proc.wait()
        self._drop_cgroup()
        for fd in (self._send, self._recv):
            try:
                os.close(fd)
            except OSError:
                pass
        self.start()

    def stop(self) -> None:
        """Kill the worker now and release everything, without starting another (warm pools)."""
        if self._proc is not None and self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self._proc.kill()
        self.close()
        self._output.close()  # the capture of its prints: take_output() was read before

    def close(self) -> None:
        if self._proc is None:
            return
        for fd in (self._send, self._recv):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._proc.wait()
        self._drop_cgroup()
        self._proc = None
        self._workdir.cleanup()


def _grader_path() -> str:
    """The folder holding the `grader` package, so the worker can import grader.worker."""
    return str(Path(__file__).resolve().parent.parent)
