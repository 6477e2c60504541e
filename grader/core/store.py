"""The progress store: grading runs, quiz attempts and review schedules in SQLite.

One file in the course folder (``.genlab/progress.sqlite3``, ignored by git), shared by the
`grade` CLI and the TUI, which may write at the same time (WAL journal, busy timeout).
Nothing a student did is ever lost: a corrupt file or one written by a newer genlab is
reported with :class:`StoreError` and left exactly as it is.

Over 300 lines on purpose: every SQL statement of the store lives here, so the schema and
its one-time migrations are read in one place.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.core.results import GradeReport

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS grading_runs (
    id INTEGER PRIMARY KEY,
    exercise TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    device TEXT NOT NULL,
    status TEXT NOT NULL,
    passed INTEGER NOT NULL,
    score INTEGER NOT NULL,
    max_score INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    graded_at TEXT NOT NULL,
    properties TEXT NOT NULL,          -- JSON list: name, tier, status, message, diagnosis
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS grading_runs_exercise ON grading_runs (exercise, id);
CREATE TABLE IF NOT EXISTS quiz_attempts (
    id INTEGER PRIMARY KEY,
    question TEXT NOT NULL,
    item INTEGER NOT NULL,             -- index of the quiz item in the question
    answer TEXT NOT NULL,              -- JSON: chosen options by their index in questions.yaml (never the shown letter), a number or a text
    correct INTEGER NOT NULL,
    lang TEXT NOT NULL,
    answered_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS recall_attempts (
    id INTEGER PRIMARY KEY,
    question TEXT NOT NULL,
    text TEXT NOT NULL,                -- what the student typed
    key_points TEXT NOT NULL,          -- JSON list of ticked key-point indices
    rating INTEGER NOT NULL,           -- 1 Again, 2 Hard, 3 Good, 4 Easy
    lang TEXT NOT NULL,
    answered_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS review_cards (
    question TEXT PRIMARY KEY,
    card TEXT NOT NULL,                -- JSON of the scheduler's card
    due TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ui_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class StoreError(Exception):
    """The progress store cannot be used; the message says why and what to do."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class GradingRun:
    """One recorded grading of one exercise on one device."""

    exercise: str
    code_hash: str
    device: str
    status: str
    passed: bool
    score: int
    max_score: int
    duration_s: float
    graded_at: str
    properties: list[dict[str, Any]]
    message: str = ""


class Store:
    """Access to the progress database. Open with :meth:`open`."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating if absent) the store; raises StoreError for a corrupt or newer file."""
        fresh = not path.exists()
        if fresh:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the progress folder {path.parent}: {exc}") from None
        try:
            conn = sqlite3.connect(path, timeout=10.0, isolation_level=None)
            conn.execute("PRAGMA busy_timeout = 10000")
            if not fresh:
                cls._check(path, conn)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(_SCHEMA)  # IF NOT EXISTS: also adds tables new in this version
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            _migrate_option_layout(conn)
        except sqlite3.DatabaseError as exc:
            raise StoreError(_corrupt(path, exc)) from None
        return cls(path, conn)

    @staticmethod
    def _check(path: Path, conn: sqlite3.Connection) -> None:
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(_corrupt(path, exc)) from None
        if ok is None or ok[0] != "ok":
            conn.close()
            raise StoreError(_corrupt(path, ok[0] if ok else "integrity check failed"))
        version = int(row[0]) if row and str(row[0]).isdigit() else None
        if version is None:
            conn.close()
            raise StoreError(_corrupt(path, "no schema version"))
        if version > SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                f"the progress store {path} was written by a newer genlab (schema {version}; this one reads {SCHEMA_VERSION}). "
                "It was left untouched: upgrade genlab (git pull; pip install -e .) to use it."
            )

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ grading runs

    def record_run(self, run: GradingRun) -> None:
        with _transaction(self._conn):
            self._conn.execute(
                "INSERT INTO grading_runs (exercise, code_hash, device, status, passed, score, max_score, duration_s, graded_at, properties, message)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.exercise, run.code_hash, run.device, run.status, int(run.passed), run.score, run.max_score, run.duration_s, run.graded_at, json.dumps(run.properties, ensure_ascii=False), run.message),
            )

    def record_report(self, report: GradeReport) -> None:
        """Save every exercise result of a `grade` run (the CLI's, or the one the TUI started)."""
        for r in report.exercises:
            self.record_run(
                GradingRun(
                    exercise=r.id,
                    code_hash=r.code_hash,
                    device=r.device,
                    status=r.status,
                    passed=r.passed,
                    score=r.score,
                    max_score=r.max_score,
                    duration_s=r.duration_s,
                    graded_at=now_iso(),
                    properties=[{"name": p.name, "tier": p.tier, "status": p.status, "message": p.message, "diagnosis": p.diagnosis, "trace": p.trace} for p in r.properties],
                    message=r.message,
                )
            )

    def latest_runs(self) -> dict[tuple[str, str], GradingRun]:
        """The latest run per (exercise, device)."""
        rows = self._conn.execute(
            "SELECT exercise, code_hash, device, status, passed, score, max_score, duration_s, graded_at, properties, message FROM grading_runs"
            " WHERE id IN (SELECT MAX(id) FROM grading_runs GROUP BY exercise, device)"
        ).fetchall()
        return {(r[0], r[2]): GradingRun(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[7], r[8], json.loads(r[9]), r[10]) for r in rows}

    def runs(self, exercise: str | None = None) -> list[GradingRun]:
        query = "SELECT exercise, code_hash, device, status, passed, score, max_score, duration_s, graded_at, properties, message FROM grading_runs"
        rows = self._conn.execute(query + (" WHERE exercise = ? ORDER BY id" if exercise else " ORDER BY id"), (exercise,) if exercise else ()).fetchall()
        return [GradingRun(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6], r[7], r[8], json.loads(r[9]), r[10]) for r in rows]

    # ------------------------------------------------------------------ quiz and reviews

    def shuffle_seed(self) -> str:
        """This course copy's seed for the order of choice options (grader.core.shuffle), made once.

        Kept in ``meta`` (a key-value table every schema has), so no migration is needed and
        an older store simply gets a seed on first use.
        """
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'shuffle_seed'").fetchone()
        if row:
            return str(row[0])
        with _transaction(self._conn):
            self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('shuffle_seed', ?)", (secrets.token_hex(16),))
        # Re-read: a concurrent writer (the CLI and the TUI share the file) may have won the race.
        return str(self._conn.execute("SELECT value FROM meta WHERE key = 'shuffle_seed'").fetchone()[0])

    def set_shuffle_seed(self, seed: str) -> None:
        """Replace the seed (a reshuffle); recorded attempts keep their meaning (by option index)."""
        with _transaction(self._conn):
            self._conn.execute("INSERT INTO meta VALUES ('shuffle_seed', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (seed,))

    def record_quiz_attempt(self, question: str, item: int, answer: Any, correct: bool, lang: str) -> None:
        with _transaction(self._conn):
            self._conn.execute(
                "INSERT INTO quiz_attempts (question, item, answer, correct, lang, answered_at) VALUES (?, ?, ?, ?, ?, ?)",
                (question, item, json.dumps(answer, ensure_ascii=False), int(correct), lang, now_iso()),
            )

    def quiz_attempts(self, question: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT question, item, answer, correct, lang, answered_at FROM quiz_attempts"
        rows = self._conn.execute(query + (" WHERE question = ? ORDER BY id" if question else " ORDER BY id"), (question,) if question else ()).fetchall()
        return [{"question": r[0], "item": r[1], "answer": json.loads(r[2]), "correct": bool(r[3]), "lang": r[4], "answered_at": r[5]} for r in rows]

    def record_recall(self, question: str, text: str, key_points: list[int], rating: int, lang: str) -> None:
        with _transaction(self._conn):
            self._conn.execute(
                "INSERT INTO recall_attempts (question, text, key_points, rating, lang, answered_at) VALUES (?, ?, ?, ?, ?, ?)",
                (question, text, json.dumps(key_points), rating, lang, now_iso()),
            )

    def recall_attempts(self, question: str | None = None) -> list[dict[str, Any]]:
        query = "SELECT question, text, key_points, rating, lang, answered_at FROM recall_attempts"
        rows = self._conn.execute(query + (" WHERE question = ? ORDER BY id" if question else " ORDER BY id"), (question,) if question else ()).fetchall()
        return [{"question": r[0], "text": r[1], "key_points": json.loads(r[2]), "rating": r[3], "lang": r[4], "answered_at": r[5]} for r in rows]

    def save_card(self, question: str, card: dict[str, Any], due: str) -> None:
        with _transaction(self._conn):
            self._conn.execute(
                "INSERT INTO review_cards (question, card, due, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(question) DO UPDATE SET card = excluded.card, due = excluded.due, updated_at = excluded.updated_at",
                (question, json.dumps(card), due, now_iso()),
            )

    def cards(self) -> dict[str, tuple[dict[str, Any], str]]:
        """question -> (card JSON, due ISO time)."""
        return {r[0]: (json.loads(r[1]), r[2]) for r in self._conn.execute("SELECT question, card, due FROM review_cards")}

    def get_state(self, key: str, default: str | None = None) -> str | None:
        row = self._conn.execute("SELECT value FROM ui_state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_state(self, key: str, value: str) -> None:
        with _transaction(self._conn):
            self._conn.execute("INSERT INTO ui_state VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _migrate_option_layout(conn: sqlite3.Connection) -> None:
    """Remap recorded choice answers once, when the bank's options moved (grader/core/option_moves.py).

    A store without an ``option_layout`` holds answers in the old layout (a fresh one holds
    none); the remap and the mark happen in one transaction, checked again inside it, so two
    processes opening one old store cannot remap twice.
    """
    from grader.core.option_moves import MOVES, OPTION_LAYOUT

    if conn.execute("SELECT 1 FROM meta WHERE key = 'option_layout'").fetchone():
        return
    with _transaction(conn):
        if conn.execute("SELECT 1 FROM meta WHERE key = 'option_layout'").fetchone():
            return
        for rowid, question, item, answer in conn.execute("SELECT id, question, item, answer FROM quiz_attempts").fetchall():
            moves = MOVES.get((question, item))
            try:
                chosen = json.loads(answer)
            except ValueError:
                continue
            if moves and isinstance(chosen, list) and all(isinstance(i, int) and 0 <= i < len(moves) for i in chosen):
                conn.execute("UPDATE quiz_attempts SET answer = ? WHERE id = ?", (json.dumps(sorted(moves[i] for i in chosen)), rowid))
        conn.execute("INSERT INTO meta VALUES ('option_layout', ?)", (str(OPTION_LAYOUT),))


def _corrupt(path: Path, exc: object) -> str:
    return (
        f"the progress store {path} is unreadable ({exc}). It was left untouched so nothing is lost: "
        f"move it aside (mv {path} {path}.bak) to start a fresh one, or restore a backup."
    )
