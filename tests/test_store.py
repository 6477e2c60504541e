"""The progress store: records runs and attempts, survives concurrent writers, and never
overwrites a file it cannot read."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from grader.core.store import SCHEMA_VERSION, GradingRun, Store, StoreError, now_iso


def _run(exercise: str = "flows.log_prob", passed: bool = True) -> GradingRun:
    return GradingRun(exercise, "abc", "cpu", "passed" if passed else "failed", passed, 3, 4, 0.5, now_iso(), [{"name": "p", "status": "passed"}])


def test_round_trip_and_latest(tmp_path) -> None:
    path = tmp_path / "progress.sqlite3"
    with Store.open(path) as store:
        store.record_run(_run(passed=False))
        store.record_run(_run(passed=True))
        store.record_quiz_attempt("q6", 0, [1], False, "en")
        store.record_recall("q6", "KL pulls the posterior to the prior", [0, 2], 3, "en")
        store.save_card("q6", {"state": 2}, "2026-12-01T00:00:00+00:00")
        store.set_state("last_question", "q6")
    with Store.open(path) as store:
        latest = store.latest_runs()
        assert latest[("flows.log_prob", "cpu")].passed
        assert len(store.runs("flows.log_prob")) == 2
        assert store.quiz_attempts("q6")[0]["answer"] == [1]
        assert store.recall_attempts()[0]["key_points"] == [0, 2]
        assert store.cards()["q6"][1].startswith("2026-12-01")
        assert store.get_state("last_question") == "q6"


def test_corrupt_file_is_reported_and_kept(tmp_path) -> None:
    path = tmp_path / "progress.sqlite3"
    junk = b"SQLite format 3\x00" + b"\xff" * 4000
    path.write_bytes(junk)
    with pytest.raises(StoreError, match="left untouched"):
        Store.open(path)
    assert path.read_bytes() == junk


def test_newer_schema_is_refused_without_changes(tmp_path) -> None:
    path = tmp_path / "progress.sqlite3"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer genlab"):
        Store.open(path)
    assert path.read_bytes() == before


def test_concurrent_writers(tmp_path) -> None:
    path = tmp_path / "progress.sqlite3"
    Store.open(path).close()
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with Store.open(path) as store:
                for i in range(25):
                    store.record_quiz_attempt(f"q{n}", i, i, True, "en")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with Store.open(path) as store:
        assert len(store.quiz_attempts()) == 100
