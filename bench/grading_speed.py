#!/usr/bin/env python3
"""Grading speed, measured on this machine. Rerun: `python bench/grading_speed.py`.

1. `grade q59` on the reference solutions vs a bare `python -c "import torch"`, run
   alternately N times; reports the medians and their ratio (target ≤ 2.0).
2. Grading whole topics on the reference solutions (`grade vae gan metrics clip`,
   `grade diffusion pixelcnn vq vit flows`, `grade attention transformer lm`): median wall
   time of the whole command (targets: 15 s, 20 s, 20 s).

Options: --runs N (default 5), --skip-topics.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOPIC_GROUPS = {
    "vae gan metrics clip": 15.0,
    "diffusion pixelcnn vq vit flows": 20.0,
    "attention transformer lm": 20.0,
}


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed with exit {proc.returncode}:\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-topics", action="store_true")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="genlab-bench-")
    env = {**os.environ, "GENLAB_PROGRESS": str(Path(tmp) / "progress.sqlite3")}
    env.pop("GENLAB_MAX_EXAMPLES", None)  # the grading default, as students get it
    grade = [sys.executable, "-m", "grader"]
    solutions = ["--submission", str(ROOT / "solutions"), "--device", "cpu"]

    timed([sys.executable, "-c", "import torch"], env)  # warm the file cache
    timed([*grade, "q59", *solutions], env)
    bare, graded = [], []
    for _ in range(args.runs):
        bare.append(timed([sys.executable, "-c", "import torch"], env))
        graded.append(timed([*grade, "q59", *solutions], env))
    mb, mg = statistics.median(bare), statistics.median(graded)
    print(f"python -c 'import torch'   median {mb:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in bare)})")
    print(f"grade q59 (solutions)      median {mg:.2f} s  (runs: {', '.join(f'{t:.2f}' for t in graded)})")
    print(f"ratio of medians           {mg / mb:.2f}  (target ≤ 2.0)")

    if args.skip_topics:
        return
    for group, target in TOPIC_GROUPS.items():
        times = [timed(grade + group.split() + solutions, env) for _ in range(max(1, args.runs // 2))]
        m = statistics.median(times)
        verdict = "ok" if m <= target else "OVER TARGET"
        print(f"grade {group:<32} median {m:.2f} s  (target {target:.0f} s: {verdict})")


if __name__ == "__main__":
    main()
