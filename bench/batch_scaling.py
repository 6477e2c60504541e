#!/usr/bin/env python3
"""Batch grading throughput, measured in one run. Rerun: `python bench/batch_scaling.py`.

Builds a class of N copies of the reference solutions (default 16) and grades it with
`grade batch` (a fresh --out each time, so nothing is resumed) in three configurations:

    1 slot,  sandbox bwrap
    2 slots, sandbox bwrap     -> speed-up over 1 slot (target ≥ 1.8x on a 2-core machine)
    1 slot,  sandbox none      -> sandbox overhead per student (target ≤ 5%)

and, as a finer measure of the overhead, the start of one worker-sized process
(`python -c "import torch"`) with and without the bwrap sandbox, alternated --runs times.
Grading uses the default number of Hypothesis examples, as students get it. Each slot's worker
gets cores // slots torch threads, so the slots never oversubscribe the cores.

Options: --students N, --target T (default: the attention topic), --runs N, --rounds N
(passes of the three configurations in rotated order; medians), --sandbox-only.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_class(root: Path, students: int) -> Path:
    klass = root / "class"
    for i in range(students):
        shutil.copytree(ROOT / "solutions", klass / f"student{i:03d}")
    return klass


def grade_batch(klass: Path, out: Path, target: str, jobs: int, sandbox: str, env: dict[str, str]) -> float:
    cmd = [sys.executable, "-m", "grader", "batch", str(klass), "-t", target, "--out", str(out), "--jobs", str(jobs), "--sandbox", sandbox, "--quiet"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or "error" in proc.stdout:
        sys.exit(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def sandbox_start_overhead(runs: int, klass: Path) -> tuple[float, float]:
    """Median seconds of `python -c "import torch"` plain and inside the worker's bwrap sandbox."""
    from grader.sandbox import bwrap_command

    plain = [sys.executable, "-c", "import torch; torch.zeros(1)"]
    boxed = bwrap_command(plain, next(klass.iterdir()), threads=1)
    times: dict[str, list[float]] = {"plain": [], "bwrap": []}
    for _ in range(runs):
        for name, cmd in (("plain", plain), ("bwrap", boxed)):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
    return statistics.median(times["plain"]), statistics.median(times["bwrap"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=16)
    parser.add_argument("--target", default="attention")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1, help="passes of the three configurations, in rotated order (medians)")
    parser.add_argument("--sandbox-only", action="store_true", help="only the worker-start comparison")
    args = parser.parse_args()
    from grader.sandbox import bwrap_works

    ok, why = bwrap_works()
    if not ok:
        sys.exit(f"bwrap does not work here ({why}); the sandbox cannot be measured")
    tmp = Path(tempfile.mkdtemp(prefix="genlab-bench-"))
    env = {**os.environ, "GENLAB_PROGRESS": str(tmp / "progress.sqlite3")}
    env.pop("GENLAB_MAX_EXAMPLES", None)  # the grading default, as students get it
    klass = make_class(tmp, args.students)
    cores = len(os.sched_getaffinity(0))
    load = os.getloadavg()[0]
    print(f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {cores} cores, load average {load:.1f} at start; class of {args.students} copies of solutions/, target {args.target}")

    plain, boxed = sandbox_start_overhead(args.runs, klass)
    print(f"worker start (import torch), median of {args.runs}: plain {plain:.2f} s, in bwrap {boxed:.2f} s ({100 * (boxed - plain) / plain:+.1f}%)")
    if args.sandbox_only:
        return

    # Rounds rotate the order of the three passes, so that a load that changes during the run
    # (a shared machine) does not always fall on the same configuration; medians are reported.
    configs = [("1", 1, "bwrap"), ("2", 2, "bwrap"), ("0", 1, "none")]
    times: dict[str, list[float]] = {key: [] for key, _, _ in configs}
    for r in range(args.rounds):
        for key, jobs, sandbox in configs[r % 3 :] + configs[: r % 3]:
            times[key].append(grade_batch(klass, tmp / f"out{key}-{r}", args.target, jobs, sandbox, env))
    t1, t2, t0 = (statistics.median(times[key]) for key in ("1", "2", "0"))
    n = args.students
    print(f"1 slot,  bwrap: {t1:7.1f} s  {n / t1 * 60:6.1f} students/min  ({t1 / n:.2f} s per student)")
    print(f"2 slots, bwrap: {t2:7.1f} s  {n / t2 * 60:6.1f} students/min  speed-up {t1 / t2:.2f}x (target ≥ 1.8x)")
    print(f"1 slot,  none:  {t0:7.1f} s  {n / t0 * 60:6.1f} students/min  sandbox overhead {100 * (t1 - t0) / t0:+.1f}% per student (target ≤ 5%)")
    if args.rounds > 1:
        print("passes (s): " + "; ".join(f"{label} " + ", ".join(f"{t:.1f}" for t in times[key]) for key, label in (("1", "1 slot"), ("2", "2 slots"), ("0", "no sandbox"))))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
