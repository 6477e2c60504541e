#!/usr/bin/env python3
"""Watch-mode latency, measured on this machine. Rerun: `python bench/watch_latency.py`.

In one run:
1. cold: `grade q59` on a copy of exercises/ whose attention.py holds the solution's code,
   N times; the median wall time of the whole command.
2. warm: `grade watch q59` on the same folder; N saves of attention.py (the solution's code,
   with a changing comment so that each save is a change); the median time from the write to
   the moment q59's verdict line ("… passed 7/7") is read from its output. Before each save
   the benchmark waits until the loop says its spare workers (and its second judge) are ready
   (GENLAB_WATCH_TRACE), as they are when a student saves after a few seconds of editing; that wait is not counted.
   The trace also says when the loop saw the change and how long the grading took, so the
   latency is split into: save -> change seen (watchfiles), grading, and the rest.

The warm part runs twice: with one judge (GENLAB_WATCH_JUDGES=1) and with the default two
(grader.second_judge), each on a fresh `grade watch`.

All use the grading defaults (Hypothesis examples, `--sandbox auto`) and a private progress
store. Options: --runs N (default 7). Target: warm median ≤ 0.6 s.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERDICT = re.compile(r"^attention\.scaled_dot_product_attention \(.*\) on cpu\s+(\w[\w ]*?)\s+\d+/\d+")
READY = "trace: worker ready"
TRACE = re.compile(r"^trace: change seen at ([\d.]+), graded in ([\d.]+) s")
SHARED = "trace: shared with the second judge"
TARGET_S = 0.6


def cold(folder: Path, env: dict[str, str]) -> float:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "grader", "q59", "--submission", str(folder), "--device", "cpu", "--no-record"], cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"grade q59 failed with exit {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


class Lines:
    """The watch process's output, line by line with the time each line was read."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[tuple[float, str]] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.queue.put((time.monotonic(), line.rstrip("\n")))
        self.queue.put((time.monotonic(), "<EOF>"))

    def wait_for(self, predicate, timeout: float = 300.0) -> tuple[float, str]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                stamp, line = self.queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                sys.exit("timed out waiting for `grade watch`; its output:\n" + "\n".join(self.log[-40:]))
            self.log.append(line)
            if line == "<EOF>":
                sys.exit("`grade watch` ended; its output:\n" + "\n".join(self.log[-40:]))
            if predicate(line):
                return stamp, line


def warm(folder: Path, solution: str, env: dict[str, str], runs: int, judges: int) -> tuple[list[float], list[tuple[float, float, float]], int]:
    """`grade watch q59` with one judge or two (GENLAB_WATCH_JUDGES): save -> verdict times,
    their parts, and how many gradings the second judge shared."""
    proc = subprocess.Popen([sys.executable, "-m", "grader", "watch", "q59", "--submission", str(folder)], cwd=ROOT, env={**env, "GENLAB_WATCH_TRACE": "1", "GENLAB_WATCH_JUDGES": str(judges)}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8")
    lines = Lines(proc)
    warms: list[float] = []
    parts: list[tuple[float, float, float]] = []  # (save -> change seen, grading, the rest: rendering, reading)
    try:
        _, first = lines.wait_for(lambda line: bool(VERDICT.match(line)))
        if "passed" not in first:
            sys.exit("the first verdict is not a pass:\n" + "\n".join(lines.log[-40:]))
        lines.wait_for(lambda line: line.startswith(READY))
        for run in range(runs):
            time.sleep(0.5)  # the student reads the verdict and edits
            start = time.monotonic()
            (folder / "attention.py").write_text(solution + f"\n# save {judges}.{run}\n", encoding="utf-8")
            _, trace = lines.wait_for(lambda line: bool(TRACE.match(line)))
            stamp, verdict = lines.wait_for(lambda line: bool(VERDICT.match(line)))
            if "passed" not in verdict:
                sys.exit("a verdict is not a pass:\n" + "\n".join(lines.log[-40:]))
            warms.append(stamp - start)
            match = TRACE.match(trace)
            assert match is not None
            seen, graded = float(match.group(1)), float(match.group(2))
            parts.append((seen - start, graded, stamp - start - (seen - start) - graded))
            lines.wait_for(lambda line: line.startswith(READY))
    finally:
        assert proc.stdin is not None
        proc.stdin.write("q")
        proc.stdin.close()
        proc.wait(timeout=60)
    return warms, parts, sum(line.startswith(SHARED) for line in lines.log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="genlab-watch-bench-"))
    folder = tmp / "exercises"
    shutil.copytree(ROOT / "exercises", folder, ignore=shutil.ignore_patterns("__pycache__"))
    solution = (ROOT / "solutions" / "attention.py").read_text(encoding="utf-8")
    (folder / "attention.py").write_text(solution, encoding="utf-8")
    env = {**os.environ, "GENLAB_PROGRESS": str(tmp / "progress.sqlite3"), "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    env.pop("GENLAB_MAX_EXAMPLES", None)  # the grading default, as students get it

    cold(folder, env)  # warm the file cache
    colds = [cold(folder, env) for _ in range(args.runs)]

    results = {judges: warm(folder, solution, env, args.runs, judges) for judges in (1, 2)}
    shutil.rmtree(tmp, ignore_errors=True)
    sys.path.insert(0, str(ROOT))
    from grader.sandbox import resolve_mode

    isolation = resolve_mode("auto")[0]
    mc = statistics.median(colds)
    print(f"cold grade q59 (solution's code)        median {mc:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in colds)})")
    for judges, (warms, parts, shared) in results.items():
        mw = statistics.median(warms)
        label = "one judge (GENLAB_WATCH_JUDGES=1)" if judges == 1 else f"two judges (default), {shared}/{len(warms)} shared"
        print(f"grade watch q59: save -> verdict         median {mw:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in warms)}), {label}")
        seen, graded, rest = (statistics.median(p[i] for p in parts) for i in range(3))
        print(f"  of which (medians): save -> change seen {seen:.3f} s, grading {graded:.3f} s, the rest (verdict rendered and read) {rest:.3f} s")
    mw = statistics.median(results[2][0])
    print(f"target ≤ {TARGET_S} s (two judges, the default): {'ok' if mw <= TARGET_S else 'OVER TARGET'}; speed-up over cold {mc / mw:.1f}×; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; sandbox {isolation}")

if __name__ == "__main__":
    main()
