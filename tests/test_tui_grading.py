"""Grading from the TUI: `grade` runs in a background process and its report is drawn like
`grade qN` — against the reference solutions (all pass) and a stub (not implemented)."""

from __future__ import annotations

import pytest

from grader.core.catalog import topic_of
from tests.test_tui_helpers import ROOT, make_app, pilot_test, screen_text, wait_for
from tui.screens.course_map import QuestionList
from tui.screens.grading import GradingScreen

SIZE = (80, 24)
EXERCISE = "attention.scaled_dot_product_attention"  # q59's one exercise

pytestmark = pytest.mark.slow


@pilot_test
async def test_grading_the_reference_solution_passes(tmp_path) -> None:
    app = make_app(tmp_path, submission=ROOT / "solutions")
    async with app.run_test(size=SIZE) as pilot:
        app.open_question("q59")
        await pilot.pause()
        await pilot.press("escape", "g")  # leave the numeric field, then grade
        assert isinstance(app.screen, GradingScreen)
        assert "in the background" in screen_text(app)
        await wait_for(pilot, lambda: "q59" in app.study.outcomes)
        await pilot.pause()
        outcome = app.study.outcomes["q59"]
        assert outcome.passed, outcome.error or outcome.report
        text = screen_text(app)
        assert f"Score {outcome.report.score}/{outcome.report.max_score}" in text
        assert f"{EXERCISE} (q56 q57 q58 q59 q60) · cpu · passed" in text
        for prop in outcome.report.exercises[0].properties:
            assert prop.statement in text  # every property, as `grade q59` lists them
        latest = app.store.latest_runs()[(EXERCISE, "cpu")]  # recorded in the TUI's store, from the report
        assert latest.passed
        await pilot.press("escape", "escape", "escape")
        assert app.study.progress.question_states()["q59"].exercises == "passing"
        assert "✓" in str(app.screen.query_one(QuestionList).get_option("q59").prompt)


@pilot_test
async def test_grading_a_stub_says_not_implemented_and_reruns(tmp_path) -> None:
    app = make_app(tmp_path, submission=ROOT / "exercises")
    async with app.run_test(size=SIZE) as pilot:
        app.open_grading("q59")
        await wait_for(pilot, lambda: "q59" in app.study.outcomes)
        await pilot.pause()
        outcome = app.study.outcomes["q59"]
        assert not outcome.passed and outcome.exit_code == 1
        text = screen_text(app)
        assert "not implemented" in text and f"exercises/{topic_of(EXERCISE)}.py" in text
        assert app.store.latest_runs()[(EXERCISE, "cpu")].status == "not_implemented"
        await pilot.press("r")  # re-run after "editing"
        assert "q59" in app.study.jobs and "in the background" in screen_text(app)
        await wait_for(pilot, lambda: "q59" not in app.study.jobs)
        assert len(app.store.runs(EXERCISE)) == 2
        # a stub is "not started", not failing: it does not pull the question into reviews
        assert app.study.progress.question_states()["q59"].exercises == "new"
        assert not app.study.progress.question_states()["q59"].due


@pilot_test
async def test_a_theory_question_has_nothing_to_grade(tmp_path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.open_question("q1")
        await pilot.pause()
        await pilot.press("g")  # disabled: q1 is theory only
        assert not isinstance(app.screen, GradingScreen)
        assert not app.study.jobs
