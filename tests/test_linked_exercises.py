"""Questions that link exercises show them everywhere a student looks: the TUI's course map
(an exercise mark), the question screen, `grade show`, and the review link (a failing exercise
brings its questions back). Checked for every linked question, so new exercises are covered."""

from __future__ import annotations

from datetime import timedelta

import pytest

from grader.catalog import EXERCISES
from grader.store import GradingRun, Store
from tests.cli_helpers import run_grade
from tests.test_tui_helpers import NOW, ROOT, course_bank, make_app, pilot_test, screen_text, type_text
from tui.clock import fixed
from tui.progress import Progress, file_hash
from tui.scheduler import Reviews
from tui.screens.question import QuestionScreen


def test_course_map_marks_every_linked_question_as_having_exercises(tmp_path) -> None:
    bank = course_bank()
    with Store.open(tmp_path / "p.sqlite3") as store:
        states = Progress(bank, store, Reviews(store, fuzz=False), ROOT / "exercises", fixed(NOW)).question_states()
    for q in bank.questions:
        assert states[q.id].exercises == ("new" if q.exercises else "none"), q.id


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_failing_exercise_brings_back_exactly_its_questions(tmp_path, exercise: str) -> None:
    bank = course_bank()
    with Store.open(tmp_path / "p.sqlite3") as store:
        progress = Progress(bank, store, Reviews(store, fuzz=False), ROOT / "exercises", fixed(NOW))
        when = (NOW - timedelta(hours=1)).isoformat()
        store.record_run(GradingRun(exercise, file_hash(ROOT / "exercises", exercise), "cpu", "failed", False, 1, 4, 1.0, when, []))
        assert set(progress.failing_questions()) == set(EXERCISES[exercise])


@pilot_test
async def test_question_screen_lists_the_online_softmax_exercise(tmp_path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("slash")
        await type_text(pilot, "q72")
        await pilot.press("enter")
        assert isinstance(app.screen, QuestionScreen) and app.screen.question.id == "q72"
        assert "attention.online_softmax_attention" in screen_text(app)


@pytest.mark.slow
@pytest.mark.parametrize(("qid", "names"), [("q72", ["attention.online_softmax_attention"]), ("q78", ["attention.padding_mask", "attention.prefix_lm_mask"]), ("q79", ["attention.prefix_lm_mask"])])
def test_grade_show_lists_the_linked_exercises(qid: str, names: list[str]) -> None:
    proc = run_grade("show", qid, "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    assert all(name in proc.stdout for name in names), proc.stdout
