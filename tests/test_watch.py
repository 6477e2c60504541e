"""`grade watch` driven through a pseudo-terminal, as a student uses it.

Each test starts the real command (`python -m grader watch`) on a copy of the course's stubs,
saves the topic file the way an editor does, and presses keys. GENLAB_WATCH_TRACE makes the
loop say when its spare worker is ready (and its pid), so a test never saves into a race.
"""

from __future__ import annotations

import ast
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.slow

SDPA = "attention.scaled_dot_product_attention"
READY = r"worker ready \(pid (\d+), replaced (\d+)\)"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A student's folder: the untouched stubs of the course."""
    folder = tmp_path / "work"
    shutil.copytree(ROOT / "exercises", folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def start(folder: Path, tmp_path: Path, *args: str) -> pexpect.spawn:
    env = {
        **os.environ,
        "GENLAB_PROGRESS": str(tmp_path / "progress.sqlite3"),
        "GENLAB_MAX_EXAMPLES": "5",
        "GENLAB_WATCH_TRACE": "1",
        "TTY_COMPATIBLE": "0",  # rich writes plain text: no styles between the words the tests look for
        "COLUMNS": "200",  # and no wrapping inside them
        "LANG": "C.UTF-8",
    }
    child = pexpect.spawn(sys.executable, ["-m", "grader", "watch", *args, "--submission", str(folder), "--sandbox", "none"], cwd=str(ROOT), env=env, encoding="utf-8", dimensions=(40, 200), timeout=180)
    child.logfile_read = (tmp_path / "watch.log").open("w", encoding="utf-8")  # shown when a test fails
    return child


def solved(name: str, source: str) -> str:
    """The stub of attention.py with one function replaced by the reference's (the others untouched)."""
    stub = (ROOT / "exercises" / "attention.py").read_text(encoding="utf-8")
    reference = (ROOT / "solutions" / "attention.py").read_text(encoding="utf-8")

    def span(text: str) -> str:
        node = next(n for n in ast.parse(text).body if getattr(n, "name", None) == name)
        return "\n".join(text.splitlines()[node.lineno - 1 : node.end_lineno])

    return stub.replace(span(stub), span(source or reference))


def save(folder: Path, text: str, *, atomic: bool) -> None:
    """Save attention.py: in place, or by writing a temporary file renamed over it, as many editors do."""
    target = folder / "attention.py"
    if atomic:
        temp = folder / ".attention.py.swp"
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, target)
    else:
        target.write_text(text, encoding="utf-8")


def save_solution(folder: Path, *, atomic: bool) -> None:
    save(folder, solved("scaled_dot_product_attention", ""), atomic=atomic)


def stop(child: pexpect.spawn) -> None:
    child.close(force=True)
    child.logfile_read.close()


def quit_watch(child: pexpect.spawn) -> None:
    child.send("q")
    child.expect("Bye")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_a_save_regrades_once_and_n_moves_on(course: Path, tmp_path: Path) -> None:
    child = start(course, tmp_path, "q59")
    try:
        child.expect(f"{SDPA} .*not implemented")
        child.expect(READY)
        child.send("n")  # not passing yet: n must not move on
        child.expect(f"{SDPA} does not pass yet")
        save_solution(course, atomic=False)
        child.expect(f"grading {SDPA}")
        if len(os.sched_getaffinity(0)) >= 2:  # the second judge, started after the first verdict, took a share
            child.expect("trace: shared with the second judge")
        child.expect(f"{SDPA} .*passed  \\d+/\\d+")
        child.expect(f"{SDPA} passes!")
        # One save, one grading: nothing else is graded while nothing changes.
        assert child.expect([r"grading ", pexpect.TIMEOUT], timeout=3) == 1
        save_solution(course, atomic=True)  # the same content again: not graded again
        assert child.expect([r"grading ", pexpect.TIMEOUT], timeout=3) == 1
        child.send("n")
        child.expect(r"grading attention\.causal_mask")
        child.expect(r"attention\.causal_mask .*not implemented")
        child.send("l")
        child.expect(rf"{SDPA}\s+✓ passing")
        child.expect(r"→ attention\.causal_mask")
        quit_watch(child)
    finally:
        stop(child)
    from grader.core.store import Store

    with Store.open(tmp_path / "progress.sqlite3") as store:
        statuses = [r.status for r in store.runs(SDPA)]
    assert statuses == ["not_implemented", "passed"]  # every run recorded, like `grade`


def test_manual_run_and_a_killed_worker_is_replaced(course: Path, tmp_path: Path) -> None:
    child = start(course, tmp_path, SDPA, "--manual-run")
    try:
        child.expect(f"{SDPA} .*not implemented")
        child.expect("press r to grade")
        child.expect(READY)
        spare = int(child.match.group(1))
        os.kill(spare, signal.SIGKILL)  # the spare dies while the student edits
        child.expect(READY)
        assert int(child.match.group(1)) != spare and int(child.match.group(2)) == 1
        save_solution(course, atomic=False)
        assert child.expect([r"grading ", pexpect.TIMEOUT], timeout=3) == 1  # no watcher: nothing yet
        child.send("r")
        child.expect(f"{SDPA} .*passed  \\d+/\\d+")
        child.send("h")
        child.expect("no hint needed")
        quit_watch(child)
    finally:
        stop(child)


def test_a_worker_killed_while_grading_is_replaced_and_the_grading_retried(course: Path, tmp_path: Path) -> None:
    """Killed mid-grading (not between runs): the student sees the verdict of a second run on a
    fresh worker, no error, and the store records that one run."""
    child = start(course, tmp_path, "q59")
    try:
        child.expect(f"{SDPA} .*not implemented")
        child.expect(READY)
        used = int(child.match.group(1))  # the spare: the next grading runs in it
        slow = (ROOT / "solutions" / "attention.py").read_text(encoding="utf-8")
        # Loading the module takes a while, so that the kill lands inside the grading.
        save(course, slow + "\nimport time\n\ntime.sleep(1.5)\n", atomic=False)
        child.expect(f"grading {SDPA}")
        time.sleep(0.3)
        os.kill(used, signal.SIGKILL)
        child.expect("the worker died while grading; graded again on a fresh one")
        child.expect(f"{SDPA} .*passed  \\d+/\\d+")
        assert "killed" not in child.before and "crashed" not in child.before
        child.expect(READY)
        assert int(child.match.group(1)) != used
        quit_watch(child)
    finally:
        stop(child)
    from grader.core.store import Store

    with Store.open(tmp_path / "progress.sqlite3") as store:
        assert [r.status for r in store.runs(SDPA)] == ["not_implemented", "passed"]


def test_the_exercise_list_speaks_the_session_language(course: Path, tmp_path: Path) -> None:
    child = start(course, tmp_path, "q59", "--lang", "ru")
    try:
        child.expect(f"{SDPA} .*not implemented")
        child.expect("слежу за")
        child.send("l")
        child.expect(rf"→ {SDPA}\s+· не начато")  # a stub's "not implemented" does not count as started
        child.expect(r"attention\.causal_mask\s+· не начато")
        child.send("q")
        child.expect("До встречи")
        child.expect(pexpect.EOF)
    finally:
        stop(child)


def test_hints_progress_from_diagnosis_to_docstring_to_key_points(course: Path, tmp_path: Path) -> None:
    reference = (ROOT / "solutions" / "attention.py").read_text(encoding="utf-8")
    wrong = reference.replace("torch.softmax(scores, dim=-1)", "torch.softmax(scores, dim=-2)")
    assert wrong != reference
    save(course, solved("scaled_dot_product_attention", wrong), atomic=False)
    child = start(course, tmp_path, "q59")
    try:
        child.expect(f"{SDPA} .*failed")
        child.send("h")
        child.expect("Hint 1/3")
        child.expect(r"softmax taken over the query axis")  # the failing property's diagnosis
        child.send("h")
        child.expect("Hint 2/3")
        child.expect(r"softmax\(q·kᵀ/√d\)·v over the key axis")  # the stub's docstring
        child.send("h")
        child.expect("Hint 3/3 — key points of q59")
        child.expect("• ")
        child.send("h")
        child.expect(r"No more hints.*grade show q59 --answer")
        quit_watch(child)
    finally:
        stop(child)


def test_warm_grader_sees_a_changed_imported_module_and_runs_in_the_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each grading gets a fresh worker: a sibling module edited between two gradings is seen.
    The spare is started like `grade`'s worker: inside bwrap where bwrap works here."""
    from grader.limits import Limits
    from grader.sandbox import resolve_mode
    from grader.warm import WarmGrader

    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "attention.py").write_text("from helper import causal_mask  # the student's own module\n", encoding="utf-8")
    reference = (ROOT / "solutions" / "attention.py").read_text(encoding="utf-8")
    (folder / "helper.py").write_text(reference, encoding="utf-8")
    isolation = resolve_mode("auto")[0]
    grader = WarmGrader(folder.resolve(), solutions=ROOT / "solutions", limits=Limits(), isolation=isolation)
    try:
        if isolation == "bwrap":
            assert _spare_argv0(grader).endswith(b"bwrap")
        first = grader.grade("attention.causal_mask")
        grader.recycle()
        assert first.passed, first
        wrong = reference.replace("return key_pos <= query_pos", "return key_pos < query_pos")
        assert wrong != reference
        (folder / "helper.py").write_text(wrong, encoding="utf-8")
        second = grader.grade("attention.causal_mask")
        assert second.status == "failed" and second.code_hash == first.code_hash  # attention.py itself did not change
    finally:
        grader.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["q999"], "unknown question 'q999'"),
        (["q1"], "q1 has no code exercise"),
        (["q59", "--submission", "work.ipynb"], "`grade watch` follows a folder of topic modules"),
    ],
)
def test_watch_usage_errors_exit_2_with_the_fix(args: list[str], message: str) -> None:
    from tests.cli_helpers import run_grade

    proc = run_grade("watch", *args)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def _spare_argv0(grader: object, patience_s: float = 10.0) -> bytes:
    """The spare worker's program; a spare that is being replaced (a moment with no command line) is waited for."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            argv0 = Path(f"/proc/{grader.workers.spare_pid}/cmdline").read_bytes().split(b"\0")[0]  # type: ignore[attr-defined]
        except (FileNotFoundError, ProcessLookupError):
            argv0 = b""
        if argv0 or time.monotonic() > deadline:
            return argv0
        time.sleep(0.1)
