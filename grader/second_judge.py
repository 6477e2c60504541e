"""A second warm judge for `grade watch`, in a process of its own: ``python -m grader.second_judge``.

It is a ``WarmGrader`` like the first (torch, Hypothesis and the properties loaded; a spare
worker, in the same sandbox, waiting), so both judges grade shares of one exercise at once
(grader.split_grading). The judge is Python and holds its GIL, hence a process, not a thread.

Protocol: JSON lines. The first judge writes requests to its stdin, ``{"grade": ID, "only":
[names]}``, and ``{"warm": ID}`` once, for the exercise most likely graded next (the
answer to that is its first ``ready``); it answers on the descriptor given as its first argument, ``{"ready": pid}`` each
time a spare worker of its own is ready, and ``{"result": ExerciseResult.to_json(),
"durations": {...}}`` for each request. It exits when its stdin closes or the first judge dies,
and its workers go with it. Everything here is a speed-up: when this process is not ready, dies
or answers nonsense, the first judge grades the share itself (grader.warm).
"""

from __future__ import annotations

import dataclasses
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from grader.core.results import ExerciseResult
from grader.limits import Limits

POLL_S = 0.05  # how often an idle second judge looks whether its new spare is ready


class SecondJudge:
    """The first judge's handle on the second: start it, see it ready, hand it a share."""

    def __init__(self, submission: Path, *, solutions: Path | None, limits: Limits, isolation: str, device: str, quiet: bool = True) -> None:
        read_fd, write_fd = os.pipe()
        config = {"submission": str(submission), "solutions": None if solutions is None else str(solutions), "limits": dataclasses.asdict(limits), "isolation": isolation, "device": device}
        self._proc = subprocess.Popen(
            self.command(write_fd, config),
            pass_fds=(write_fd,),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL if quiet else None,
        )
        os.close(write_fd)
        self._answers = os.fdopen(read_fd, "rb", buffering=0)
        self._pending = b""
        self.ready_pid: int | None = None  # its spare worker's pid while it is ready for a share
        self.dead = False

    @staticmethod
    def command(answer_fd: int, config: dict[str, Any]) -> list[str]:
        return [sys.executable, "-m", "grader.second_judge", str(answer_fd), json.dumps(config)]

    @property
    def pid(self) -> int:
        return self._proc.pid

    def ready(self) -> bool:
        """Is it alive with a spare worker ready (a share would start at once)?"""
        self._read_available(0.0)
        return not self.dead and self.ready_pid is not None

    def warm_up(self, exercise_id: str) -> None:
        """Let it load and exercise the properties of the exercise most likely graded next."""
        self._send({"warm": exercise_id})

    def start_share(self, exercise_id: str, names: list[str]) -> None:
        """Hand it a share; ``finish_share`` collects the verdict."""
        self.ready_pid = None
        self._send({"grade": exercise_id, "only": names})

    def finish_share(self, timeout: float) -> tuple[ExerciseResult, dict[str, float]] | None:
        """The share's verdict and property times; None if it died, timed out or broke the protocol
        (it is then stopped: the caller grades the share itself)."""
        deadline = time.monotonic() + timeout
        while not self.dead:
            for message in self._read_available(max(0.0, deadline - time.monotonic())):
                if "result" in message:
                    try:
                        return ExerciseResult.from_json(message["result"]), {str(k): float(v) for k, v in message.get("durations", {}).items()}
                    except (KeyError, TypeError, ValueError):
                        self._give_up()
                        return None
            if time.monotonic() >= deadline:
                self._give_up()
        return None

    def close(self, *, wait: float = 5.0) -> None:
        """Stop it: its stdin closes and it stops its workers; killed after ``wait`` seconds.

        A broken one is killed at once (``wait=0``): the student is waiting. Its workers end
        when their pipes close."""
        self.dead = True
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        except OSError:  # it is gone already: the unsent request does not matter
            pass
        try:
            self._proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._answers.close()

    def _give_up(self) -> None:
        self.close(wait=0)

    def _send(self, message: dict[str, Any]) -> None:
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps(message).encode() + b"\n")
            self._proc.stdin.flush()
        except (OSError, ValueError):
            self._give_up()

    def _read_available(self, wait: float) -> list[dict[str, Any]]:
        """Messages that arrived (waiting up to ``wait`` seconds for the first); notes readiness."""
        if self.dead:
            return []
        messages: list[dict[str, Any]] = []
        while True:
            ready, _, _ = select.select([self._answers], [], [], wait)
            if not ready:
                return messages
            chunk = self._answers.read(1 << 16)
            if not chunk:  # it exited
                self.close()
                return messages
            self._pending += chunk
            *lines, self._pending = self._pending.split(b"\n")
            for line in lines:
                try:
                    message = json.loads(line)
                except ValueError:
                    self._give_up()
                    return messages
                if "ready" in message:
                    self.ready_pid = int(message["ready"])
                messages.append(message)
            wait = 0.0


def serve(answer_fd: int, config: dict[str, Any]) -> None:
    """The second judge's loop: keep a spare ready, grade the shares asked on stdin."""
    from grader.slot_pool import exit_when_orphaned
    from grader.warm import WarmGrader

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the first judge's to handle: it closes our stdin
    threading.Thread(target=exit_when_orphaned, args=(os.getppid(),), name="genlab-parent-watch", daemon=True).start()
    answers = os.fdopen(answer_fd, "wb")

    def answer(message: dict[str, Any]) -> None:
        answers.write(json.dumps(message).encode() + b"\n")
        answers.flush()

    solutions = config["solutions"]
    grader = WarmGrader(Path(config["submission"]), solutions=None if solutions is None else Path(solutions), limits=Limits(**config["limits"]), isolation=config["isolation"], device=config["device"], second_judge=False)
    announced: int | None = None
    pending = b""  # requests read but not yet handled: a read may bring more than one line
    try:
        while True:
            if announced is None and grader.workers.ready():
                announced = grader.workers.spare_pid
                answer({"ready": announced})
            if b"\n" not in pending:
                ready, _, _ = select.select([0], [], [], POLL_S)
                if not ready:
                    grader.workers.replenish()
                    continue
                chunk = os.read(0, 1 << 16)
                if not chunk:  # the first judge closed our stdin, or died
                    return
                pending += chunk
                continue
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            if "warm" in request:
                grader.warm_up(request["warm"])
                continue
            durations: dict[str, float] = {}
            result = grader.grade(request["grade"], only=request["only"], durations=durations)
            answer({"result": result.to_json(), "durations": durations})
            grader.recycle()
            announced = None
    finally:
        grader.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]), json.loads(sys.argv[2]))
    os._exit(0)  # as `grade` does: no slow interpreter teardown of torch
