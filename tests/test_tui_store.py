"""The TUI and `grade` share one progress store: what one writes, the other sees, and
both may have it open at once."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from grader.core.store import Store
from tests.test_tui_helpers import GRADE_ENV, ROOT, course_bank, key_of, make_app, pilot_test
from tui.screens.course_map import QuestionList

SIZE = (80, 24)
EXERCISE = "attention.scaled_dot_product_attention"


def grade(progress, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GRADE_ENV, "GENLAB_PROGRESS": str(progress)}
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pilot_test
async def test_an_answer_in_the_tui_is_in_the_store_at_once(tmp_path) -> None:
    item = course_bank().question("q1").quiz[0]
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.press(key_of(app, "q1", 0, item.correct_options[0]))
        # another process (here: a second connection, as `grade` opens it) sees it while the TUI runs
        with Store.open(tmp_path / "progress.sqlite3") as other:
            assert [(a["question"], a["item"], a["correct"]) for a in other.quiz_attempts()] == [("q1", 0, True)]
        summary = grade(tmp_path / "progress.sqlite3")  # bare `grade` reads the same store without trouble
        assert summary.returncode == 0, summary.stderr
        assert "Warning" not in summary.stderr


@pytest.mark.slow
@pilot_test
async def test_a_run_by_grade_shows_in_the_tui(tmp_path) -> None:
    progress = tmp_path / "progress.sqlite3"
    app = make_app(tmp_path, submission=ROOT / "solutions")
    async with app.run_test(size=SIZE) as pilot:
        assert app.study.progress.question_states()["q59"].exercises == "new"
        # `grade` writes while the TUI has the store open
        result = await asyncio.to_thread(grade, progress, "q59", "--submission", "solutions", "--device", "cpu", "--format", "json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["passed"]
        app.refresh_views()
        await pilot.pause()
        assert app.study.progress.question_states()["q59"].exercises == "passing"
        row = str(app.screen.query_one(QuestionList).get_option("q59").prompt)
        assert "✓" in row
        await pilot.press("d")
        assert any("1/" in str(label.render()) for label in app.screen.query(".dash-ex"))


@pilot_test
async def test_a_run_recorded_elsewhere_updates_the_open_map(tmp_path) -> None:
    from grader.core.states import code_hash
    from grader.core.store import GradingRun
    from tests.test_tui_helpers import NOW

    app = make_app(tmp_path, submission=ROOT / "solutions")
    async with app.run_test(size=SIZE) as pilot:
        with Store.open(tmp_path / "progress.sqlite3") as other:  # as `grade` in another terminal records it
            other.record_run(GradingRun(EXERCISE, code_hash(ROOT / "solutions", EXERCISE), "cpu", "failed", False, 3, 7, 1.0, NOW.isoformat(), []))
        app.poll_store()  # what the app's timer does every few seconds
        await pilot.pause()
        row = str(app.screen.query_one(QuestionList).get_option("q59").prompt)
        assert "✗" in row and "⟳" in row  # failing, and so due for review now
