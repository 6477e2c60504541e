"""`grade watch`'s second judge (grader.second_judge) with real processes: the verdict it helps
give is the one judge's, and a second judge that dies costs the student nothing."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from grader.core.results import ExerciseResult
from grader.limits import Limits
from grader.warm import WarmGrader
from tests.cli_helpers import ROOT

pytestmark = pytest.mark.slow

SDPA = "attention.scaled_dot_product_attention"
REFERENCE = (ROOT / "solutions" / "attention.py").read_text(encoding="utf-8")
SCALED_BY_D = REFERENCE.replace("/ math.sqrt(d)", "/ d")  # a wrong scale: several properties fail


def folder_with(tmp_path: Path, source: str) -> Path:
    folder = tmp_path / "work"
    folder.mkdir(exist_ok=True)
    (folder / "attention.py").write_text(source, encoding="utf-8")
    return folder.resolve()


def warm(folder: Path, *, second: bool) -> WarmGrader:
    return WarmGrader(folder, solutions=ROOT / "solutions", limits=Limits(), isolation="none", second_judge=second)


def wait_ready(grader: WarmGrader, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not grader.ready():
        assert time.monotonic() < deadline, "the judges did not get ready"
        time.sleep(0.05)


def gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def verdict(result: ExerciseResult) -> tuple:
    return result.status, result.message, [(p.name, p.status, p.message, p.counterexample, p.diagnosis) for p in result.properties]


def test_two_judges_give_one_judges_verdict(tmp_path: Path) -> None:
    assert SCALED_BY_D != REFERENCE
    folder = folder_with(tmp_path, SCALED_BY_D)
    one = warm(folder, second=False)
    try:
        alone = one.grade(SDPA)
    finally:
        one.close()
    two = warm(folder, second=True)
    try:
        first = two.grade(SDPA)  # the second judge starts after the first verdict
        assert two.shared == 0 and two.second is None
        two.recycle()
        wait_ready(two)
        assert two.second is not None and two.second.ready()
        again = two.grade(SDPA)
        assert two.shared == 1, "the second grading was not shared"
    finally:
        two.close()
    assert alone.status == "failed" and sum(p.status == "failed" for p in alone.properties) >= 2
    assert verdict(first) == verdict(alone)
    assert verdict(again) == verdict(alone)


def test_a_second_judge_killed_during_its_share_costs_nothing(tmp_path: Path) -> None:
    """Killed mid-share: its share is graded by the first judge, the verdict is complete, and the
    next recycle starts a new second judge."""
    slow = REFERENCE + "\nimport time\n\ntime.sleep(1.5)\n"  # loading takes a while: the kill lands inside the share
    folder = folder_with(tmp_path, slow)
    grader = warm(folder, second=True)
    try:
        assert grader.grade(SDPA).passed
        grader.recycle()
        wait_ready(grader)
        assert grader.second is not None
        doomed, its_worker = grader.second.pid, grader.second.ready_pid
        assert its_worker is not None
        threading.Timer(0.5, os.kill, (doomed, signal.SIGKILL)).start()
        result = grader.grade(SDPA)
        assert result.passed and result.score == result.max_score == len(result.properties), result
        assert grader.shared == 0
        assert gone(its_worker), "the dead second judge's worker is still running"
        grader.recycle()
        wait_ready(grader)
        assert grader.second is not None and grader.second.pid != doomed and not grader.second.dead
    finally:
        grader.close()


def test_without_a_second_core_or_when_turned_off_one_judge_grades(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from grader import warm as warm_module

    monkeypatch.setenv("GENLAB_WATCH_JUDGES", "1")
    assert not warm_module._two_judges_help()
    monkeypatch.delenv("GENLAB_WATCH_JUDGES")
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
    assert not warm_module._two_judges_help()
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})
    assert warm_module._two_judges_help()


def test_a_second_judge_that_keeps_dying_is_given_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """One that cannot start here would cost a torch import on every save: after three starts,
    one judge carries on alone."""
    from grader import warm as warm_module

    started: list[object] = []

    class DiesAtOnce:
        dead = True

        def __init__(self, *args: object, **kwargs: object) -> None:
            started.append(self)

        def ready(self) -> bool:
            return False

        def warm_up(self, exercise_id: str) -> None:
            pass

        def close(self) -> None:
            pass

    class Used:
        def stop(self) -> None:
            pass

    monkeypatch.setattr(warm_module, "SecondJudge", DiesAtOnce)
    grader = warm(folder_with(tmp_path, REFERENCE), second=True)
    try:
        for _ in range(6):
            grader._used = Used()  # type: ignore[assignment]  # as after a grading
            grader.recycle()
        assert len(started) == warm_module.SECOND_JUDGE_STARTS
        wait_ready(grader)  # a dead second judge does not hold the first back
    finally:
        grader.close()


@pytest.mark.parametrize(
    ("says", "why"),
    [
        ('{"ready": 1}\nnot json\n', "nonsense"),
        ('{"ready": 1}\n{"result": {"id": 1}}\n', "a result without its fields"),
        ('{"ready": 1}\n', "no answer before the deadline"),
    ],
)
def test_a_second_judge_that_breaks_the_protocol_is_stopped(monkeypatch: pytest.MonkeyPatch, says: str, why: str) -> None:
    """Whatever it writes, the first judge gets None (and grades the share itself), never an exception."""
    import sys

    from grader.second_judge import SecondJudge

    script = f"import os, sys, time; fd = int(sys.argv[1]); sys.stdin.readline(); os.write(fd, {says!r}.encode()); time.sleep(30)"
    monkeypatch.setattr(SecondJudge, "command", staticmethod(lambda fd, _config: [sys.executable, "-c", script, str(fd)]))
    judge = SecondJudge(Path("."), solutions=None, limits=Limits(), isolation="none", device="cpu")
    try:
        judge.start_share(SDPA, ["known_answer"])
        assert judge.finish_share(timeout=2.0) is None, why
        assert judge.dead and judge._proc.poll() is not None  # stopped, not left running
    finally:
        judge.close()
