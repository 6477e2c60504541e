"""The grading step of the GitHub Classroom workflow: `python -m grader.exports.classroom_step [TARGET ...]`.

Grades the repository's ``exercises/`` in a child `grade` process, prints what a student needs to
read in the Actions log (the reporter prints only test names), and hands the reporter its base64
document as the step output ``result``. It always exits 0 and always writes a document: when
grading crashes, the document is an "error" that says why, so the reporter never fails on a
missing or malformed output.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from grader.exports.classroom import error_document

GRADE_TIMEOUT_S = 20 * 60  # under the workflow's own timeout, so the fallback still gets written


def grade_command(targets: list[str]) -> list[str]:
    chosen = targets or ["--all"]
    return [sys.executable, "-m", "grader", *chosen, "--submission", "exercises", "--device", "cpu", "--format", "classroom", "--no-record"]


def run_grading(targets: list[str]) -> dict[str, Any]:
    try:
        done = subprocess.run(grade_command(targets), capture_output=True, text=True, timeout=GRADE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return error_document(f"grading took longer than {GRADE_TIMEOUT_S // 60} minutes and was stopped")
    try:
        doc = json.loads(done.stdout)
        if isinstance(doc, dict) and isinstance(doc.get("tests"), list):
            return doc
    except json.JSONDecodeError:
        pass
    return error_document("genlab could not grade this repository:\n" + (done.stderr or done.stdout)[-3000:])


def log_lines(doc: dict[str, Any]) -> list[str]:
    lines = []
    for t in doc["tests"]:
        mark = "PASS" if t["status"] == "pass" else t["status"].upper()
        lines.append(f"{mark:5} {t['name']}")
        if t["status"] != "pass" and t.get("message"):
            lines += ["      " + line for line in t["message"].splitlines()]
    total = sum(t.get("score", 0) for t in doc["tests"])
    lines.append(f"genlab: {total:g}/{doc.get('max_score', 0):g} points")
    lines += doc.get("notes", [])
    return lines


def encode(doc: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(doc, ensure_ascii=False).encode()).decode()


def main(argv: list[str] | None = None) -> int:
    doc = run_grading(sys.argv[1:] if argv is None else argv)
    print("\n".join(log_lines(doc)), flush=True)
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with Path(output).open("a", encoding="utf-8") as f:
            f.write(f"result={encode(doc)}\n")
    else:
        print(f"result={encode(doc)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
