"""What is due: only questions studied, or whose quiz or exercise went wrong; never a fresh start."""

from __future__ import annotations

from grader.core.catalog import EXERCISES
from grader.core.states import code_hash
from grader.core.store import GradingRun, Store
from tests.test_tui_helpers import NOW, ROOT, course_bank, key_of, make_app, pilot_test, screen_text, type_text
from tui.screens.course_map import CourseMapScreen

SIZE = (80, 24)


def _due(app) -> list[str]:
    return sorted(qid for qid, s in app.study.progress.question_states().items() if s.due)


@pilot_test
async def test_a_fresh_course_copy_has_nothing_due(tmp_path) -> None:
    # what `grade --all` records on the untouched stubs: every exercise "not implemented"
    with Store.open(tmp_path / "progress.sqlite3") as store:
        for exercise in EXERCISES:
            store.record_run(GradingRun(exercise, code_hash(ROOT / "exercises", exercise), "cpu", "not_implemented", False, 0, 5, 0.0, NOW.isoformat(), []))
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE):
        assert isinstance(app.screen, CourseMapScreen)
        assert _due(app) == [] and app.study.reviews.due(NOW) == []
        assert "0 due" in screen_text(app)


@pilot_test
async def test_a_wrong_answer_makes_its_question_due(tmp_path) -> None:
    item = course_bank().question("q7").quiz[0]
    assert item.kind == "numeric" and item.answer is not None
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        assert _due(app) == []
        app.open_question("q7")
        await pilot.pause()
        await type_text(pilot, f"{item.answer + 10:g}")
        await pilot.press("enter")
        assert "Wrong." in screen_text(app)
        assert _due(app) == ["q7"]
        await pilot.press("escape", "escape")  # leave the field, then the question
        assert "1 due" in screen_text(app)


@pilot_test
async def test_a_right_answer_schedules_nothing(tmp_path) -> None:
    item = course_bank().question("q7").quiz[1]
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.open_question("q7")
        await pilot.pause()
        await pilot.press("escape", "n")  # leave the numeric field, on to the single-choice item
        await pilot.press(key_of(app, "q7", 1, item.correct_options[0]))
        assert "Right." in screen_text(app)
        assert _due(app) == []
