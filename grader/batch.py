"""Batch grading for instructors: one folder per student, grades exported as CSV and JSON.

Each student is graded by the same engine as `grade`, with a fresh (sandboxed) worker of their
own, in `jobs` parallel slots. Every result is written atomically to OUT/students/<student>.json
the moment it is done, so an interrupted batch (Ctrl-C, kill -9, a reboot) continues where it
stopped: a student whose files are unchanged (same content hash) is not graded again. The CSV and
JSON exports are built from that folder.

The per-student file is a contract other tools build on:
    {"schema": 1, "student": str, "submission_hash": str, "isolation": "bwrap"|"none",
     "status": "graded"|"error", "message": str, "report": GradeReport.to_json() | null,
     "graded_at": ISO-8601 UTC, "retry": true (only on an error that was not the student's: the
     grading process or a cluster worker died; a resumed batch grades that student again)}
and OUT/manifest.json is {"schema": 1, "targets": [exercise ids], "isolation": str}.

Over 300 lines on purpose: grading a class (slots, resume by hash, atomic records, the
odd-folder statuses) is one loop whose parts share the output folder's invariants.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import threading
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import as_completed
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grader.errors import UsageError
from grader.limits import Limits

SCHEMA = 1


MAX_FILE_BYTES = 100 * 2**20  # a larger file is refused (and hashed by size, not read: a 2 GB file must not stall the batch)


def student_folders(root: Path) -> list[Path]:
    """Every visible sub-folder of ``root``, one per student, sorted by name (empty ones and
    symbolic links too: they get a per-student error instead of silently vanishing from the gradebook)."""
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder; pass the folder that holds one sub-folder per student")
    folders = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: os.fsencode(p.name))
    if not folders:
        raise UsageError(f"{root}: no student folders found (each student needs a sub-folder with their topic modules, e.g. {root}/alice/attention.py)")
    return folders


def student_name(folder: Path) -> str:
    """The student's name as the gradebook shows it: the folder's name, with bytes that are not
    UTF-8 written as \\xNN (so it can be stored in JSON and CSV, and named on the result file)."""
    return os.fsencode(folder.name).decode("utf-8", "backslashreplace")


def name_notes(folders: list[Path]) -> tuple[dict[Path, str], dict[Path, str]]:
    """(problems, notes) about the folders' names: two names that are the same once normalised
    (Unicode NFC, case, surrounding spaces) cannot both be graded, since a gradebook would mix them
    up; a name that is not UTF-8 is graded under its escaped form, with a note."""
    groups: dict[str, list[Path]] = {}
    for folder in folders:
        groups.setdefault(unicodedata.normalize("NFC", student_name(folder)).casefold().strip(), []).append(folder)
    problems = {}
    for same in groups.values():
        for folder in same if len(same) > 1 else ():
            others = ", ".join(repr(student_name(f)) for f in same if f != folder)
            problems[folder] = f"the folder name {student_name(folder)!r} is the same student as {others} once normalised (Unicode form, case, spaces); rename one of them and grade again"
    notes = {f: f"the folder name is not valid UTF-8; graded as {student_name(f)!r}" for f in folders if student_name(f) != f.name and f not in problems}
    return problems, notes


def submission_hash(folder: Path) -> str:
    """sha256 over the sorted relative paths and the bytes of every file (a symlink: its target
    text; a file over the size limit: its size and modification time)."""
    digest = hashlib.sha256()
    if folder.is_symlink():
        return hashlib.sha256(b"L\0" + os.fsencode(os.readlink(folder))).hexdigest()
    for path in sorted(folder.rglob("*"), key=lambda p: os.fsencode(p.relative_to(folder))):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink():
            digest.update(f"L {rel}\0{os.readlink(path)}\0".encode("utf-8", "surrogateescape"))
        elif path.is_file() and (stat := path.stat()).st_size > MAX_FILE_BYTES:
            digest.update(f"B {rel}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode("utf-8", "surrogateescape"))
        elif path.is_file():
            digest.update(f"F {rel}\0".encode("utf-8", "surrogateescape"))
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()


def folder_problem(folder: Path) -> str | None:
    """Why a student's folder cannot be graded at all, or None."""
    if folder.is_symlink():
        return f"the student's folder is a symbolic link (to {os.readlink(folder)}); copy the real folder into the class folder"
    for path in folder.rglob("*"):
        rel = os.fsencode(path.relative_to(folder)).decode("utf-8", "backslashreplace")
        if path.is_symlink():
            target = (path.parent / os.readlink(path)).resolve()
            if not target.is_relative_to(folder.resolve()):
                return f"{rel} is a symbolic link that points outside the student's folder; the submission was not graded"
        elif path.is_file() and (size := path.stat().st_size) > MAX_FILE_BYTES:
            return f"{rel} is {size / 2**30:.1f} GiB; files over {MAX_FILE_BYTES // 2**20} MiB are not graded (remove it from the submission)"
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

    record: dict[str, Any] = {"schema": SCHEMA, "student": student_name(folder), "submission_hash": submission_hash(folder), "isolation": isolation}
    problem = folder_problem(folder)
    if problem:
        return {**record, "status": "error", "message": problem, "report": None, "graded_at": _now()}
    note = name_notes([folder])[1].get(folder, "")
    try:
        if _notebook_folder(folder):
            report = _grade_notebook(folder, exercise_ids, device=device, solutions=solutions, limits=limits, isolation=isolation)
        else:
            report = grade_run(exercise_ids, folder.resolve(), device=device, solutions=solutions, limits=limits, isolation=isolation)
    except UsageError as exc:
        return {**record, "status": "error", "message": str(exc), "report": None, "graded_at": _now()}
    except Exception as exc:  # noqa: BLE001 - one student's folder never stops the batch
        return {**record, "status": "error", "message": f"grading failed: {type(exc).__name__}: {exc}", "report": None, "graded_at": _now()}
    return {**record, "status": "graded", "message": note, "report": report.to_json(), "graded_at": _now()}


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
    name_problems, _ = name_notes(folders)
    for folder in folders:
        old = load_result(result_path(out, student_name(folder))) if same_targets and folder not in name_problems else None
        if old is not None and old.get("submission_hash") == submission_hash(folder) and not old.get("retry"):
            records[student_name(folder)] = old
        elif folder not in name_problems:
            todo.append(folder)
    if on_start:
        on_start([student_name(f) for f in folders], len(records))
    for name in sorted(records):
        if on_student:
            on_student(records[name], True)
    clashes = ({"schema": SCHEMA, "student": student_name(f), "submission_hash": submission_hash(f), "isolation": isolation, "status": "error", "message": why, "report": None, "graded_at": _now()} for f, why in name_problems.items())
    if scheduler is not None:
        from grader.batch_cluster import grade_on_cluster

        arriving = grade_on_cluster(scheduler, todo, exercise_ids, device=device, limits=limits, sandbox_mode=sandbox_mode)
    else:
        arriving = _grade_locally(todo, exercise_ids, device=device, solutions=solutions, limits=limits, isolation=isolation, jobs=jobs)
    for record in map(_clean_text, itertools.chain(clashes, arriving)):
        write_atomic(result_path(out, record["student"]), record)
        records[record["student"]] = record
        if on_student:
            on_student(record, False)
    weakest = "none" if any(r["isolation"] == "none" for r in records.values()) else isolation
    if weakest != isolation:  # a fallback on some worker: the manifest must not claim more than the results got
        write_atomic(out / "manifest.json", {"schema": SCHEMA, "targets": exercise_ids, "isolation": weakest})
    return [records[student_name(f)] for f in folders]


def slot_threads(jobs: int, cores: int | None = None) -> int:
    """Torch/OpenMP threads of one slot's worker, so that ``jobs`` slots do not oversubscribe the cores."""
    return max(1, (cores or usable_cores()) // max(1, jobs))


def usable_cores() -> int:
    """The cores this process may run on (a SLURM job or taskset gets fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS has no affinity API
        return os.cpu_count() or 1


def _grade_locally(todo: list[Path], exercise_ids: list[str], *, limits: Limits, jobs: int, **run: Any) -> Iterator[dict[str, Any]]:
    """Records in the order the students finish, ``jobs`` at a time, each with its own worker.

    One slot grades in this process; several run in a pool of judge processes (see
    ``grader.slot_pool`` for why not threads)."""
    from concurrent.futures.process import BrokenProcessPool

    from grader.slot_pool import slot_pool, stop_pool

    threads = slot_threads(jobs)
    slot_limits = Limits(limits.call_timeout, limits.exercise_timeout, limits.memory_mb, threads=threads)
    if jobs <= 1 or len(todo) <= 1:
        for folder in todo:
            yield grade_student(folder, exercise_ids, limits=slot_limits, **run)
        return
    pool = slot_pool(min(jobs, len(todo)), threads)
    finished = False
    try:
        futures = {pool.submit(grade_student, f, exercise_ids, limits=slot_limits, **run): f for f in todo}
        for future in as_completed(futures):
            try:
                yield future.result()
            except BrokenProcessPool as exc:  # a judge process died (out of memory, killed): not a verdict
                yield judge_died(futures[future], run["isolation"], exc)
        finished = True
    finally:
        stop_pool(pool, finished=finished)


def judge_died(folder: Path, isolation: str, exc: BaseException | None) -> dict[str, Any]:
    """The record of a student whose grading process died: an error that a rerun grades again."""
    return {
        "schema": SCHEMA,
        "student": student_name(folder),
        "submission_hash": submission_hash(folder),
        "isolation": isolation,
        "status": "error",
        "message": f"the process grading this student died ({type(exc).__name__}: {exc}); rerun the same command to grade this student again",
        "retry": True,
        "report": None,
        "graded_at": _now(),
    }


def _notebook_folder(folder: Path) -> bool:
    """A student who handed in a notebook and no topic module (both: the modules are graded)."""
    return not any(folder.glob("*.py")) and any(folder.glob("*.ipynb"))


def _grade_notebook(folder: Path, exercise_ids: list[str], **run: Any) -> Any:
    """Grade a student's notebook through its generated topic modules. A notebook that cannot be
    used (unreadable, two of them, a syntax error) grades every exercise as an error with the reason."""
    from grader.core.catalog import questions_of
    from grader.core.results import ExerciseResult, GradeReport
    from grader.notebook import open_notebook
    from grader.session import grade_run

    notebooks = sorted(folder.glob("*.ipynb"))
    try:
        if len(notebooks) > 1:
            raise UsageError(f"{student_name(folder)} has {len(notebooks)} notebooks ({', '.join(n.name for n in notebooks)}); hand in one")
        with open_notebook(notebooks[0]) as notebook:
            report = grade_run(exercise_ids, notebook.folder, **run)
            notebook.relocate(report)
            return report
    except UsageError as exc:
        # Every exercise is an error with the reason, so the gradebook keeps the real maximum.
        shown = "cpu" if run["device"] == "auto" else run["device"]
        return GradeReport([ExerciseResult(e, questions_of(e), shown, "error", message=str(exc)) for e in exercise_ids], isolation=run["isolation"])


def _clean_text(value: Any) -> Any:
    """``value`` with every string made valid UTF-8: a message may quote a file name that is not
    (its bytes arrive as lone surrogates), and JSON and CSV files must still be written."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            try:
                return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            except UnicodeEncodeError:
                return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {k: _clean_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_text(v) for v in value]
    return value


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
