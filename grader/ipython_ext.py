"""`%load_ext grader`, then `%grade q46`: grade a running Jupyter or Colab session's definitions.

The session's own objects are never handed to the grader: the source of the cells it ran
(IPython's raw input history, ``In``) goes through the same assembly as a notebook file
(grader.notebook): the catalog-named definitions the session still has, plus the imports,
helpers and constants they use; a definition run again later replaces the earlier one. The
topic modules are graded by `grade` in a separate process, exactly as from a terminal (its
worker, its sandbox, the progress store), and the report is shown as HTML in the cell.
Nothing heavy is imported into the kernel: no torch from here, no properties, no Hypothesis.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import grader
from grader.catalog import EXERCISES, TOPICS, exercises_of_topic, name_of, topic_of
from grader.errors import UsageError
from grader.notebook import NotebookSubmission, open_cells
from grader.notebook_html import error_html, report_html

ENGINE_ROOT = Path(grader.__file__).resolve().parent.parent  # where `python -m grader` imports from
SESSION_NAME = Path("this notebook")
TIMEOUT_S = 1800.0


def load(ipython: Any) -> None:
    ipython.register_magic_function(lambda line: grade_magic(ipython, line), magic_kind="line", magic_name="grade")


def session_cells(ipython: Any) -> list[tuple[int, str]]:
    """(execution count, source) of every cell the session ran, in order."""
    raw = list(getattr(ipython.history_manager, "input_hist_raw", []) or ipython.user_ns.get("In", []))
    return [(number, source) for number, source in enumerate(raw) if number > 0 and isinstance(source, str) and source.strip()]


def session_submission(ipython: Any) -> NotebookSubmission:
    """The session's current definitions as a folder of topic modules (locations: "In [7]")."""
    catalog = {name_of(e) for e in EXERCISES}
    available = {name for name in catalog if name in ipython.user_ns}
    return open_cells(SESSION_NAME, session_cells(ipython), cell_format="In [{cell}]", live=True, available=available)


def grade_magic(ipython: Any, line: str) -> Any:
    """`%grade [TARGET ...] [--device cpu|cuda|auto]`: without a target, every topic the session defines."""
    from IPython.display import HTML

    try:
        targets, options = _split(shlex.split(line))
    except (ValueError, UsageError) as exc:
        return HTML(error_html(f"%grade {line}: {exc}"))
    try:
        submission = session_submission(ipython)
    except UsageError as exc:
        return HTML(error_html(str(exc)))
    try:
        return HTML(_grade(submission, targets, options))
    except UsageError as exc:
        return HTML(error_html(str(exc)))
    finally:
        submission.close()


def _grade(submission: NotebookSubmission, targets: list[str], options: list[str]) -> str:
    from grader.targets import resolve

    if targets:
        exercise_ids, notes = resolve(targets)
    else:
        exercise_ids, notes = [e for t in TOPICS if t in submission.modules for e in exercises_of_topic(t)], []
    exercise_ids, skipped = submission.select(exercise_ids)
    notes += skipped
    if not exercise_ids:
        defined = ", ".join(sorted({topic_of(e) for e in EXERCISES if topic_of(e) in submission.modules})) or "none"
        raise UsageError("; ".join(notes) or f"this notebook defines no function or class the catalog names (topics found: {defined}); define them with top-level `def`/`class` and run the cell")
    report = _run_grade(exercise_ids, submission.folder, options)
    for exercise in report.get("exercises", []):
        exercise["message"] = submission.locate(exercise.get("message", ""))
        exercise["output"] = submission.locate(exercise.get("output", ""))
        for prop in exercise.get("properties", []):
            for key in ("message", "counterexample", "diagnosis"):
                if prop.get(key):
                    prop[key] = submission.locate(prop[key])
    report["notes"] = notes + list(report.get("notes", []))
    return report_html(report)


def _run_grade(exercise_ids: list[str], folder: Path, options: list[str]) -> dict[str, Any]:
    argv = [sys.executable, "-m", "grader", *exercise_ids, "--submission", str(folder), "--format", "json", *_device(options)]
    try:
        done = subprocess.run(argv, cwd=ENGINE_ROOT, env=dict(os.environ), capture_output=True, text=True, encoding="utf-8", timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise UsageError(f"grading took longer than {TIMEOUT_S:.0f} s and was stopped") from None
    except OSError as exc:
        raise UsageError(f"cannot start the grader: {exc}") from None
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit code {done.returncode}"
        raise UsageError(f"the grader produced no report: {why.removeprefix('Error: ')}") from None


def _split(words: list[str]) -> tuple[list[str], list[str]]:
    """(targets, the options passed on to `grade`): `--device X` / `--device=X` only."""
    targets, options = [], []
    it = iter(words)
    for word in it:
        if word == "--device":
            options += [word, next(it, "cpu")]
        elif word.startswith("--device="):
            options += word.split("=", 1)
        elif word.startswith("-"):
            raise UsageError(f"%grade: unknown option {word}; use %grade q46 [--device cpu|cuda|auto]")
        else:
            targets.append(word)
    return targets, options


def _device(options: list[str]) -> list[str]:
    # A notebook's kernel may hold the GPU: grade on the CPU unless asked.
    return options or ["--device", "cpu"]
