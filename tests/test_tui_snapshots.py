"""Snapshots of the main screens at 80×24 (pytest-textual-snapshot).

Deterministic by construction: a small bank written here (so edits to questions.yaml do not
move them), a fixed clock, a private store seeded with fixed dates, a canned grading report.
Update after an intended change of the look: `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from grader.core.results import GradeReport
from grader.core.states import code_hash
from grader.core.store import GradingRun, Store
from tests.test_tui_helpers import NOW, ROOT, make_app, mini_bank
from tui.grade_process import Outcome

SIZE = (80, 24)
SDPA = "attention.scaled_dot_product_attention"
KL = "vae.kl_standard_normal"


def seed(progress: Path) -> None:
    """Some history at fixed dates: q6 mastered, q7 half done, a failing and a passing run, cards."""
    with Store.open(progress) as store:
        for item, answer in ((0, [0]), (1, 0.0)):
            store.record_quiz_attempt("q6", item, answer, True, "en")
        store.record_quiz_attempt("q7", 0, [0], False, "en")
        store.record_recall("q6", "pulls q(z|x) to the prior", [0, 1], 3, "en")
        store.save_card(
            "q6",
            {
                "card_id": 6,
                "state": 2,
                "step": None,
                "stability": 3.2,
                "difficulty": 5.1,
                "due": (NOW + timedelta(hours=3)).isoformat(),
                "last_review": (NOW - timedelta(days=3)).isoformat(),
            },
            (NOW + timedelta(hours=3)).isoformat(),
        )
        graded = (NOW - timedelta(days=1)).isoformat()
        store.record_run(GradingRun(SDPA, code_hash(ROOT / "exercises", SDPA), "cpu", "failed", False, 5, 7, 1.0, graded, []))
        store.record_run(GradingRun(KL, code_hash(ROOT / "exercises", KL), "cpu", "passed", True, 4, 4, 1.0, graded, []))
    conn = sqlite3.connect(progress)  # answers on the two days before the clock's today: a streak of 2
    conn.execute("UPDATE quiz_attempts SET answered_at = ?", ((NOW - timedelta(days=1)).isoformat(),))
    conn.execute("UPDATE recall_attempts SET answered_at = ?", ((NOW - timedelta(hours=1)).isoformat(),))
    conn.commit()
    conn.close()


def app_for(tmp_path: Path, *, seeded: bool = False, **kwargs):
    if seeded:
        seed(tmp_path / "progress.sqlite3")
    with Store.open(tmp_path / "progress.sqlite3") as store:
        store.set_shuffle_seed("")  # file order: the shuffle itself is tested in test_shuffle.py
    return make_app(tmp_path, bank=mini_bank(), **kwargs)


CANNED_REPORT = {  # as `grade --format json` writes it: the scores are those of the properties listed
    "score": 2,
    "max_score": 3,
    "passed": False,
    "notes": [],
    "exercises": [
        {
            "id": SDPA,
            "questions": ["q56", "q57", "q58", "q59", "q60"],
            "device": "cpu",
            "passed": False,
            "status": "failed",
            "message": "",
            "score": 2,
            "max_score": 3,
            "output": "",
            "properties": [
                {
                    "name": "weights_sum_to_one",
                    "statement": "each query's attention weights sum to 1 over the keys",
                    "tier": "public",
                    "status": "passed",
                    "message": "",
                    "counterexample": "",
                    "diagnosis": None,
                },
                {
                    "name": "matches_reference",
                    "statement": "output and weights equal the reference on random inputs",
                    "tier": "hidden",
                    "status": "failed",
                    "message": "max |got − expected| = 0.41 at [0, 1, 2]",
                    "counterexample": "q: (1, 2, 4) float32\nk: (1, 3, 4) float32",
                    "diagnosis": "your output equals the reference without the 1/√d scaling",
                },
                {
                    "name": "keeps_dtype",
                    "statement": "the result keeps the input's dtype",
                    "tier": "public",
                    "status": "passed",
                    "message": "",
                    "counterexample": "",
                    "diagnosis": None,
                },
            ],
        }
    ],
}


def test_course_map(snap_compare, tmp_path) -> None:
    assert snap_compare(app_for(tmp_path), terminal_size=SIZE)


def test_course_map_with_progress(snap_compare, tmp_path) -> None:
    assert snap_compare(app_for(tmp_path, seeded=True), terminal_size=SIZE, press=["down"])


def test_course_map_in_russian(snap_compare, tmp_path) -> None:
    assert snap_compare(app_for(tmp_path, seeded=True, lang="ru"), terminal_size=SIZE)


def test_question_wrong_answer(snap_compare, tmp_path) -> None:
    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, press=["enter", "2"])


def test_free_recall_revealed(snap_compare, tmp_path) -> None:
    keys = ["enter", "f", *"KL pulls q to the prior".replace(" ", "_")]
    keys = ["space" if k == "_" else k for k in keys] + ["ctrl+r", "space"]
    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, press=keys)


def test_reviews_due_today(snap_compare, tmp_path) -> None:
    assert snap_compare(app_for(tmp_path, seeded=True), terminal_size=SIZE, press=["r"])


def test_dashboard(snap_compare, tmp_path) -> None:
    assert snap_compare(app_for(tmp_path, seeded=True), terminal_size=SIZE, press=["d"])


def test_grading_report(snap_compare, tmp_path) -> None:
    app = app_for(tmp_path)

    async def show_canned(pilot) -> None:
        app.study.outcomes["q59"] = Outcome("q59", [], 1, GradeReport.from_json(CANNED_REPORT))  # no process: a fixed report
        app.open_grading("q59")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=show_canned)


def test_help(snap_compare, tmp_path) -> None:
    assert snap_compare(app_for(tmp_path), terminal_size=SIZE, press=["question_mark"])


def test_corrupt_store_message(snap_compare, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # a relative path keeps the message the same on every machine
    Path("progress.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    assert snap_compare(make_app(tmp_path, bank=mini_bank(), progress_path=Path("progress.sqlite3")), terminal_size=SIZE)
