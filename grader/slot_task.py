"""One student graded in a judge process of its own: ``python -m grader.slot_task REQUEST RESULT``.

A dask worker runs each student this way (``grader.batch_cluster``) instead of in its own task
thread: the judge then runs in the main thread of a fresh process, exactly as `grade` does,
sharing no torch or Hypothesis state with the dask worker or with the students before (dask's
worker processes are daemons, so they cannot own a ``multiprocessing`` pool either). REQUEST is a
JSON file {"folder", "exercise_ids", "device", "solutions", "limits", "isolation"}; the student's
record (see ``grader.batch``) is written to RESULT as JSON. The process exits when its parent dies.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from grader.limits import Limits


def run_in_subprocess(folder: Path, exercise_ids: list[str], *, device: str, solutions: Path | None, limits: Limits, isolation: str, timeout: float | None = None) -> dict[str, Any]:
    """The student's record, graded by ``python -m grader.slot_task`` (raises RuntimeError if it died)."""
    with tempfile.TemporaryDirectory(prefix="genlab-slot-") as scratch:
        request, result = Path(scratch) / "request.json", Path(scratch) / "result.json"
        request.write_text(json.dumps({"folder": str(folder), "exercise_ids": exercise_ids, "device": device, "solutions": None if solutions is None else str(solutions), "limits": dataclasses.asdict(limits), "isolation": isolation}), encoding="utf-8")
        proc = subprocess.run([sys.executable, "-m", "grader.slot_task", str(request), str(result)], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if proc.returncode != 0 or not result.is_file():
            raise RuntimeError(f"the judge process exited with {proc.returncode}: {proc.stderr.strip()[-2000:]}")
        return json.loads(result.read_text(encoding="utf-8"))


def main(argv: list[str]) -> None:
    from grader.batch import grade_student
    from grader.slot_pool import exit_when_orphaned

    threading.Thread(target=exit_when_orphaned, args=(os.getppid(),), name="genlab-parent-watch", daemon=True).start()
    request = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    solutions = request["solutions"]
    record = grade_student(Path(request["folder"]), request["exercise_ids"], device=request["device"], solutions=None if solutions is None else Path(solutions), limits=Limits(**request["limits"]), isolation=request["isolation"])
    tmp = Path(argv[1] + ".tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, argv[1])


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.stdout.flush()
    os._exit(0)  # as `grade` does: no slow interpreter teardown of torch
