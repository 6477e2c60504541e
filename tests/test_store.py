"""The progress store: records runs and attempts, survives concurrent writers, and never
overwrites a file it cannot read."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from grader.store import SCHEMA_VERSION, GradingRun, Store, StoreError, now_iso


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


def test_answers_recorded_before_the_options_moved_are_remapped_once(tmp_path) -> None:
    from grader.bank import load_bank
    from grader.option_moves import MOVES
    from grader.paths import bank_path

    bank = load_bank(bank_path())
    (qid, item), moves = next(iter(MOVES.items()))
    old_correct = sorted(moves.index(i) for i in bank.question(qid).quiz[item].correct_options)  # where the keys were before
    path = tmp_path / "old.sqlite3"
    with Store.open(path) as store:
        store.record_quiz_attempt(qid, item, old_correct, True, "en")
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM meta WHERE key = 'option_layout'")  # as a store written before layout 2
    conn.commit()
    conn.close()
    for _ in range(2):  # the second open must not remap again
        with Store.open(path) as store:
            (attempt,) = store.quiz_attempts(qid)
            assert attempt["answer"] == sorted(moves[i] for i in old_correct) != old_correct
            assert bank.question(qid).quiz[item].check_choice(attempt["answer"])


def test_a_fresh_store_records_answers_in_the_current_layout(tmp_path) -> None:
    from grader.option_moves import MOVES

    (qid, item), _moves = next(iter(MOVES.items()))
    with Store.open(tmp_path / "new.sqlite3") as store:
        store.record_quiz_attempt(qid, item, [1], False, "en")
    with Store.open(tmp_path / "new.sqlite3") as store:
        assert store.quiz_attempts(qid)[0]["answer"] == [1]
