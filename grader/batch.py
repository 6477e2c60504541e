"""Batch grading for instructors: one folder per student, grades exported as CSV and JSON.

Each student is graded by the same engine as `grade`, with a fresh (sandboxed) worker of their
own, in `jobs` parallel slots. Every result is written atomically to OUT/students/<student>.json
the moment it is done, so an interrupted batch (Ctrl-C, kill -9, a reboot) continues where it
stopped: a student whose files are unchanged (same content hash) is not graded again. The CSV and
JSON exports are built from that folder.

The per-student file is a contract other tools build on:
    {"schema": 1, "student": str, "submission_hash": str, "isolation": "bwrap"|"none",
     "status": "graded"|"error", "message": str, "report": GradeReport.to_json() | null,
     "graded_at": ISO-8601 UTC}
and OUT/manifest.json is {"schema": 1, "targets": [exercise ids], "isolation": str}.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grader.errors import UsageError
from grader.limits import Limits

SCHEMA = 1


def student_folders(root: Path) -> list[Path]:
    """Every visible sub-folder of ``root``, one per student, sorted by name (empty ones too:
    they get a per-student error instead of silently vanishing from the gradebook)."""
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder; pass the folder that holds one sub-folder per student")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    if not folders:
        raise UsageError(f"{root}: no student folders found (each student needs a sub-folder with their topic modules, e.g. {root}/alice/attention.py)")
    return folders


def submission_hash(folder: Path) -> str:
    """sha256 over the sorted relative paths and the bytes of every file (a symlink: its target text)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*"), key=lambda p: p.relative_to(folder).as_posix()):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            digest.update(f"L {rel}\0{os.readlink(path)}\0".encode("utf-8", "surrogateescape"))
        elif path.is_file():
            digest.update(f"F {rel}\0".encode("utf-8", "surrogateescape"))
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()


def folder_problem(folder: Path) -> str | None:
    """Why a student's folder cannot be graded at all, or None."""
    for path in folder.rglob("*"):
        if path.is_symlink():
            target = (path.parent / os.readlink(path)).resolve()
            if not target.is_relative_to(folder.resolve()):
                return f"{path.relative_to(folder)} is a symbolic link that points outside the student's folder; the submission was not graded"
    if not any(p.is_file() for p in folder.glob("*.py")) and not any(p.is_file() for p in folder.glob("*.ipynb")):
        return "no topic modules (.py files) or notebook (.ipynb) in this folder"
    return None


def write_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write, fsync, rename: a reader (or a resumed batch) sees the old file or the new one, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        f.write(json.dumps(data, ensure_ascii=False, indent=2))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def result_path(out: Path, student: str) -> Path:
    return out / "students" / f"{student}.json"


def load_result(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == SCHEMA else None


def grade_student(folder: Path, exercise_ids: list[str], *, device: str, solutions: Path | None, limits: Limits, isolation: str) -> dict[str, Any]:
    """One student's result record (the contract above); never raises for a student's files."""
    from grader.session import grade_run

    record: dict[str, Any] = {"schema": SCHEMA, "student": folder.name, "submission_hash": submission_hash(folder), "isolation": isolation}
    problem = folder_problem(folder)
    if problem:
        return {**record, "status": "error", "message": problem, "report": None, "graded_at": _now()}
    try:
        if _notebook_folder(folder):
            report = _grade_notebook(folder, exercise_ids, device=device, solutions=solutions, limits=limits, isolation=isolation)
        else:
            report = grade_run(exercise_ids, folder.resolve(), device=device, solutions=solutions, limits=limits, isolation=isolation)
    except UsageError as exc:
        return {**record, "status": "error", "message": str(exc), "report": None, "graded_at": _now()}
    except Exception as exc:  # noqa: BLE001 - one student's folder never stops the batch
        return {**record, "status": "error", "message": f"grading failed: {type(exc).__name__}: {exc}", "report": None, "graded_at": _now()}
    return {**record, "status": "graded", "message": "", "report": report.to_json(), "graded_at": _now()}


def grade_class(
    root: Path,
    exercise_ids: list[str],
    out: Path,
    *,
    device: str,
    solutions: Path | None,
    limits: Limits,
    isolation: str,
    jobs: int = 1,
    scheduler: str | None = None,
    sandbox_mode: str = "auto",
    on_start: Callable[[list[str], int], None] | None = None,
    on_student: Callable[[dict[str, Any], bool], None] | None = None,
) -> list[dict[str, Any]]:
    """Grade every student not already graded with the same files and targets; return all records.

    Locally in ``jobs`` slots, or on the dask cluster at ``scheduler`` (each dask worker resolves
    ``sandbox_mode`` and finds the solutions itself). Either way each record is written the
    moment it arrives, so resuming works the same. on_start(all students, number already done)
    once; on_student(record, resumed) per student."""
    folders = student_folders(root)
    (out / "students").mkdir(parents=True, exist_ok=True)
    manifest = load_result(out / "manifest.json")
    same_targets = manifest is not None and manifest.get("targets") == exercise_ids
    write_atomic(out / "manifest.json", {"schema": SCHEMA, "targets": exercise_ids, "isolation": isolation})
    records: dict[str, dict[str, Any]] = {}
    todo = []
    for folder in folders:
        old = load_result(result_path(out, folder.name)) if same_targets else None
        if old is not None and old.get("submission_hash") == submission_hash(folder):
            records[folder.name] = old
        else:
            todo.append(folder)
    if on_start:
        on_start([f.name for f in folders], len(records))
    for name in sorted(records):
        if on_student:
            on_student(records[name], True)
    if scheduler is not None:
        from grader.batch_cluster import grade_on_cluster

        arriving = grade_on_cluster(scheduler, todo, exercise_ids, device=device, limits=limits, sandbox_mode=sandbox_mode)
    else:
        arriving = _grade_locally(todo, exercise_ids, device=device, solutions=solutions, limits=limits, isolation=isolation, jobs=jobs)
    for record in arriving:
        write_atomic(result_path(out, record["student"]), record)
        records[record["student"]] = record
        if on_student:
            on_student(record, False)
    weakest = "none" if any(r["isolation"] == "none" for r in records.values()) else isolation
    if weakest != isolation:  # a fallback on some worker: the manifest must not claim more than the results got
        write_atomic(out / "manifest.json", {"schema": SCHEMA, "targets": exercise_ids, "isolation": weakest})
    return [records[f.name] for f in folders]


def slot_threads(jobs: int, cores: int | None = None) -> int:
    """Torch/OpenMP threads of one slot's worker, so that ``jobs`` slots do not oversubscribe the cores."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, jobs))


def _grade_locally(todo: list[Path], exercise_ids: list[str], *, limits: Limits, jobs: int, **run: Any) -> Iterator[dict[str, Any]]:
    """Records in the order the students finish, ``jobs`` at a time, each with its own worker."""
    slot_limits = Limits(limits.call_timeout, limits.exercise_timeout, limits.memory_mb, threads=slot_threads(jobs))
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="genlab-slot") as pool:
        futures = [pool.submit(grade_student, f, exercise_ids, limits=slot_limits, **run) for f in todo]
        for future in as_completed(futures):
            yield future.result()


def _notebook_folder(folder: Path) -> bool:
    """A student who handed in a notebook and no topic module (both: the modules are graded)."""
    return not any(folder.glob("*.py")) and any(folder.glob("*.ipynb"))


def _grade_notebook(folder: Path, exercise_ids: list[str], **run: Any) -> Any:
    """Grade a student's notebook through its generated topic modules. A notebook that cannot be
    used (unreadable, two of them, a syntax error) grades every exercise as an error with the reason."""
    from grader.catalog import EXERCISES
    from grader.notebook import open_notebook
    from grader.results import ExerciseResult, GradeReport
    from grader.session import grade_run

    notebooks = sorted(folder.glob("*.ipynb"))
    try:
        if len(notebooks) > 1:
            raise UsageError(f"{folder.name} has {len(notebooks)} notebooks ({', '.join(n.name for n in notebooks)}); hand in one")
        with open_notebook(notebooks[0]) as notebook:
            report = grade_run(exercise_ids, notebook.folder, **run)
            notebook.relocate(report)
            return report
    except UsageError as exc:
        # Every exercise is an error with the reason, so the gradebook keeps the real maximum.
        shown = "cpu" if run["device"] == "auto" else run["device"]
        return GradeReport([ExerciseResult(e, EXERCISES[e], shown, "error", message=str(exc)) for e in exercise_ids], isolation=run["isolation"])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_csv(path: Path, records: list[dict[str, Any]], exercise_ids: list[str]) -> None:
    """One row per student: total, max, percent, then `score/max` per exercise and device, status, message."""
    reports = [r["report"] for r in records if r.get("report")]
    columns = sorted({(e["id"], e["device"]) for rep in reports for e in rep["exercises"]}, key=lambda c: (exercise_ids.index(c[0]) if c[0] in exercise_ids else len(exercise_ids), c[1]))
    several_devices = len({c[1] for c in columns}) > 1
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "score", "max_score", "percent", *(f"{e} [{d}]" if several_devices else e for e, d in columns), "status", "message", "isolation"])
        for r in records:
            rep = r.get("report")
            if rep is None:
                writer.writerow([r["student"], 0, "", "", *([""] * len(columns)), r["status"], r["message"], r["isolation"]])
                continue
            by_key = {(e["id"], e["device"]): e for e in rep["exercises"]}
            percent = 100.0 * rep["score"] / rep["max_score"] if rep["max_score"] else 0.0
            cells = []
            for key in columns:
                e = by_key.get(key)
                cells.append("" if e is None else f"{e['score']}/{e['max_score']}" + ("" if e["status"] in ("passed", "failed") else f" ({e['status'].replace('_', ' ')})"))
            writer.writerow([r["student"], rep["score"], rep["max_score"], f"{percent:.1f}", *cells, r["status"], r["message"], r["isolation"]])


def write_json(path: Path, records: list[dict[str, Any]], isolation: str) -> None:
    students = [{"student": r["student"], "status": r["status"], "message": r["message"], "isolation": r["isolation"], **(r["report"] or {})} for r in records]
    path.write_text(json.dumps({"isolation": isolation, "students": students}, ensure_ascii=False, indent=2), encoding="utf-8")
