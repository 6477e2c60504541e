#!/usr/bin/env python3
"""TUI start-up time, measured on this machine. Rerun: `python bench/tui_startup.py`.

From launching `genlab` (a fresh Python process, as the console script starts) to the
first frame of the course map: each run starts the app headless at 80×24 on a private
progress store; the app prints a line once the course map has been drawn, and the time to
that line is measured from here (interpreter start-up, imports, store, bank, first frame).

Reports the median of N warm runs (the validated bank is cached; target ≤ 1.0 s) and, with
--cold, one run with an empty cache (the first start after questions.yaml changes).

Options: --runs N (default 7), --cold.
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
TARGET_S = 1.0

# The child: the real app, with the hook the app calls after the course map's first frame.
CHILD = """
import sys
from tui.app import GenlabApp

class Once(GenlabApp):
    def map_ready(self):
        print("first frame", flush=True)
        self.exit()

Once(lang="en").run(headless=True, size=(80, 24))
"""


def one_run(env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("first frame"):
            elapsed = time.perf_counter() - start
            break
    else:
        raise SystemExit(f"the app exited without drawing the course map:\n{proc.stderr.read() if proc.stderr else ''}")
    proc.wait(timeout=60)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cold", action="store_true", help="also time one start with an empty bank cache")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="genlab-bench-") as tmp:
        env = {**os.environ, "GENLAB_PROGRESS": str(Path(tmp) / "progress.sqlite3"), "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        cold = one_run(env)  # fills the cache (and the OS file cache): not counted as warm
        times = [one_run(env) for _ in range(args.runs)]
    median = statistics.median(times)
    print(
        f"TUI start-up to the course map's first frame: median {median:.3f} s over {args.runs} runs (min {min(times):.3f}, max {max(times):.3f}); target ≤ {TARGET_S:.1f} s"
    )
    if args.cold:
        print(f"cold start (empty bank cache: questions.yaml validated and cached): {cold:.3f} s")
    print("PASS" if median <= TARGET_S else "OVER TARGET")


if __name__ == "__main__":
    main()
