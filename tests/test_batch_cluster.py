"""`grade batch --scheduler`: students graded on a dask.distributed cluster (a LocalCluster of two
worker processes here), results streamed into the output folder, a worker killed mid-batch."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT, SUBMISSIONS, run_grade

pytestmark = pytest.mark.slow
TARGET = "attention.scaled_dot_product_attention"
STUDENTS = {"alice": ROOT / "solutions", "bob": ROOT / "exercises", "carol": SUBMISSIONS / "allclose_patch", "dave": ROOT / "solutions", "erin": SUBMISSIONS / "syntax_error"}


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed", reason="the `cluster` extra (dask.distributed) is not installed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local, distributed.Client(local) as client:
        yield local, client


def _class(tmp_path: Path) -> Path:
    klass = tmp_path / "class"
    for student, source in STUDENTS.items():
        (klass / student).mkdir(parents=True)
        shutil.copy(source / "attention.py", klass / student / "attention.py")
    return klass


def _args(klass: Path, out: Path, csv_path: Path, *extra: str) -> list[str]:
    return ["batch", str(klass), "-t", TARGET, "--out", str(out), "--csv", str(csv_path), "--quiet", "--timeout", "30", *extra]


def _graded_lines(stdout: str) -> list[str]:
    return [line.split(":")[0] for line in stdout.splitlines() if line.endswith("]") and ": " in line]


def test_cluster_batch_matches_a_local_batch_and_resumes(tmp_path, cluster) -> None:
    local, _ = cluster
    klass = _class(tmp_path)
    reference = run_grade(*_args(klass, tmp_path / "ref", tmp_path / "ref.csv", "--jobs", "1"))
    assert reference.returncode == 0, reference.stderr

    out, csv_path = tmp_path / "out", tmp_path / "grades.csv"
    proc = run_grade(*_args(klass, out, csv_path, "--scheduler", local.scheduler_address))
    assert proc.returncode == 0, proc.stderr
    assert sorted(_graded_lines(proc.stdout)) == sorted(STUDENTS)
    assert csv_path.read_text() == (tmp_path / "ref.csv").read_text()

    (klass / "bob" / "attention.py").write_text((ROOT / "solutions" / "attention.py").read_text())
    again = run_grade(*_args(klass, out, csv_path, "--scheduler", local.scheduler_address))
    assert again.returncode == 0, again.stderr
    assert _graded_lines(again.stdout) == ["bob"]  # resumed from the same folder: only the changed student


def test_a_worker_killed_mid_batch_is_retried_and_the_student_graded_once(tmp_path, cluster) -> None:
    local, client = cluster
    klass = _class(tmp_path)
    reference = run_grade(*_args(klass, tmp_path / "ref", tmp_path / "ref.csv", "--jobs", "1"))
    assert reference.returncode == 0, reference.stderr

    out, csv_path = tmp_path / "out", tmp_path / "grades.csv"
    cmd = [sys.executable, "-m", "grader", *_args(klass, out, csv_path, "--scheduler", local.scheduler_address)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=os.environ.copy())
    assert proc.stdout is not None and proc.stderr is not None
    lines = [proc.stdout.readline()]  # one student done: the others are on the workers now
    busy = [addr for addr, keys in client.processing().items() if keys]
    assert busy, "no worker was grading when the first student finished"
    pids = client.run(os.getpid)
    os.kill(pids[busy[0]], signal.SIGKILL)  # the worker dies in the middle of a student
    rest, stderr = proc.communicate(timeout=600)
    lines += rest.splitlines()
    assert proc.returncode == 0, stderr

    graded = _graded_lines("\n".join(lines))
    assert sorted(graded) == sorted(STUDENTS)  # every student reported exactly once
    assert sorted(p.stem for p in (out / "students").iterdir()) == sorted(STUDENTS)  # one result file each
    assert csv_path.read_text() == (tmp_path / "ref.csv").read_text()  # the retried student's grade is the real one
    client.wait_for_workers(2, timeout=120)  # the nanny restarted it: the next test gets two workers again
    assert pids[busy[0]] not in client.run(os.getpid).values()  # the kill really took a worker down


def test_scheduler_without_distributed_exits_2_with_the_install_command(tmp_path) -> None:
    fake = tmp_path / "no_dask"
    fake.mkdir()
    (fake / "distributed.py").write_text("raise ImportError('simulated: distributed is not installed')\n")
    klass = _class(tmp_path)
    env = {"PYTHONPATH": os.pathsep.join([str(fake), str(ROOT)])}
    proc = run_grade("batch", str(klass), "-t", TARGET, "--scheduler", "tcp://127.0.0.1:8786", env=env)
    assert proc.returncode == 2
    assert "pip install" in proc.stderr and "cluster" in proc.stderr
    assert "Traceback" not in proc.stderr
