"""Pilot tests of the TUI's flows at 80×24: navigate, quiz, free recall and reviews, language,
quit and resume, help, dashboard, and the message for a store it must not touch."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import timedelta

from textual.widgets import Input, OptionList, TextArea

from grader.core.states import code_hash
from grader.core.store import SCHEMA_VERSION, GradingRun, Store
from tests.test_tui_helpers import NOW, ROOT, course_bank, key_of, make_app, pilot_test, screen_text, type_text
from tui.screens.course_map import CourseMapScreen, QuestionList
from tui.screens.dashboard import DashboardScreen
from tui.screens.help import HelpScreen
from tui.screens.message import MessageScreen
from tui.screens.question import QuestionScreen
from tui.screens.reviews import ReviewScreen
from tui.widgets.answer import AnswerItem
from tui.widgets.choice import ChoiceItem
from tui.widgets.recall import RecallPanel

SIZE = (80, 24)


def test_starts_without_importing_torch() -> None:
    code = "import tui.app, sys; assert 'torch' not in sys.modules, 'torch imported'"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


@pilot_test
async def test_course_map_lists_sections_and_opens_a_question(tmp_path) -> None:
    bank = course_bank()
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, CourseMapScreen)
        questions = app.screen.query_one(QuestionList)
        ids = [questions.get_option_at_index(i).id for i in range(questions.option_count)]
        assert [i for i in ids if not i.startswith("section:")] == [q.id for s in bank.sections for q in bank.in_section(s.id)]
        assert len([i for i in ids if i.startswith("section:")]) == len(bank.sections)
        assert questions.highlighted_id == "q1"
        await pilot.press("down", "down")
        assert questions.highlighted_id == "q3"
        await pilot.press("enter")
        assert isinstance(app.screen, QuestionScreen) and app.screen.question.id == "q3"
        await pilot.press("escape")
        assert isinstance(app.screen, CourseMapScreen)
        assert app.screen.query_one(QuestionList).highlighted_id == "q3"


@pilot_test
async def test_search_filters_and_slash_jumps(tmp_path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        assert app.focused is app.screen.query_one("#search", Input)
        await type_text(pilot, "realnvp")
        questions = app.screen.query_one(QuestionList)
        shown = {questions.get_option_at_index(i).id for i in range(questions.option_count)}
        assert "q49" in shown and "q1" not in shown
        await pilot.press("escape")  # clears the search
        assert questions.option_count > 80
        await pilot.press("slash")
        await type_text(pilot, "q46")
        await pilot.press("enter")
        assert isinstance(app.screen, QuestionScreen) and app.screen.question.id == "q46"


@pilot_test
async def test_filter_shows_only_due_questions(tmp_path) -> None:
    with Store.open(tmp_path / "progress.sqlite3") as store:
        store.save_card(
            "q7", {"card_id": 7, "state": 1, "step": 0, "stability": None, "difficulty": None, "due": NOW.isoformat(), "last_review": None}, NOW.isoformat()
        )
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")  # all -> due
        questions = app.screen.query_one(QuestionList)
        shown = [questions.get_option_at_index(i).id for i in range(questions.option_count)]
        assert shown == ["section:vae", "q7"]


@pilot_test
async def test_choice_item_wrong_then_right_with_explanations(tmp_path) -> None:
    bank = course_bank()
    item = bank.question("q1").quiz[0]
    right = item.correct_options[0]
    wrong = next(i for i in range(len(item.options)) if i != right)
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")  # q1
        await pilot.press(key_of(app, "q1", 0, wrong))
        text = screen_text(app)
        assert "Wrong." in text
        assert item.options[wrong].explanation.en in text  # the option chosen is explained
        assert item.options[right].explanation.en in text  # and the right one they missed
        assert app.store.quiz_attempts("q1") == [{**app.store.quiz_attempts("q1")[0], "item": 0, "answer": [wrong], "correct": False}]
        await pilot.press("t", key_of(app, "q1", 0, right))
        assert "Right." in screen_text(app)
        attempts = app.store.quiz_attempts("q1")
        assert [(a["answer"], a["correct"]) for a in attempts] == [([wrong], False), ([right], True)]


@pilot_test
async def test_multiple_choice_and_numeric_items_master_a_question(tmp_path) -> None:
    bank = course_bank()
    q = bank.question("q59")
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.open_question("q59")
        await pilot.pause()
        for index, item in enumerate(q.quiz):
            widget = app.screen.query_one("#q-body > *")
            if item.kind == "numeric":
                assert isinstance(widget, AnswerItem)
                await type_text(pilot, f"{item.answer:g}")
                await pilot.press("enter")
            elif item.kind == "formula":
                await type_text(pilot, item.accepted[0])
                await pilot.press("enter")
            elif item.kind == "multiple":
                assert isinstance(widget, ChoiceItem)
                for option in item.correct_options:
                    await pilot.press(key_of(app, "q59", index, option))
                await pilot.press("enter")
            else:
                await pilot.press(key_of(app, "q59", index, item.correct_options[0]))
            assert "Right." in screen_text(app), (index, screen_text(app))
            if isinstance(app.focused, Input):
                await pilot.press("escape")  # leave the field, so letter keys navigate
            await pilot.press("n")
        assert app.screen.step == len(q.quiz)  # after the last item: free recall
        await pilot.press("escape", "escape")  # leave the text area, then the question
        assert app.study.progress.question_states()["q59"].quiz == "mastered"
        row = app.screen.query_one(QuestionList).get_option("q59").prompt
        assert "●" in str(row)


@pilot_test
async def test_numeric_item_rejects_text_without_recording(tmp_path) -> None:
    q = course_bank().question("q59")
    index = next(i for i, item in enumerate(q.quiz) if item.kind == "numeric")
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.open_question("q59", index)
        await pilot.pause()
        await type_text(pilot, "abc")
        await pilot.press("enter")
        assert "Type a number" in screen_text(app)
        assert app.store.quiz_attempts("q59") == []


@pilot_test
async def test_free_recall_rating_schedules_a_review(tmp_path) -> None:
    q = course_bank().question("q6")
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.open_question("q6")
        await pilot.pause()
        await pilot.press("f")
        panel = app.screen.query_one(RecallPanel)
        assert app.focused is panel.query_one(TextArea)
        await type_text(pilot, "KL pulls the posterior to the prior")
        await pilot.press("ctrl+r")
        assert panel.phase == "revealed"
        assert q.answer.en in screen_text(app)  # the reference answer beside theirs
        await pilot.press("space", "down", "down", "space", "3")  # tick points 1 and 3, rate Good
        assert panel.phase == "rated"
        recall = app.store.recall_attempts("q6")
        assert [(r["text"], r["key_points"], r["rating"], r["lang"]) for r in recall] == [("KL pulls the posterior to the prior", [0, 2], 3, "en")]
        card = app.study.reviews.cards()["q6"]
        assert card.due == NOW + timedelta(minutes=10)  # fsrs: a new card rated Good takes the 10-minute learning step
        assert "in 10 min" in screen_text(app)
        await pilot.press("escape", "r")  # the due-today queue
        assert isinstance(app.screen, ReviewScreen)
        listing = app.screen.query_one(OptionList)
        assert [listing.get_option_at_index(i).id for i in range(listing.option_count)] == ["q6"]
        await pilot.press("enter")  # straight to its free recall
        assert isinstance(app.screen, QuestionScreen) and app.screen.step == len(q.quiz)
        await type_text(pilot, "again")
        await pilot.press("ctrl+r", "4")  # Easy: graduates out of today
        assert app.study.reviews.cards()["q6"].due > NOW + timedelta(days=1)
        await pilot.press("escape")
        assert isinstance(app.screen, ReviewScreen)
        assert "Nothing is due today" in screen_text(app)


@pilot_test
async def test_failing_exercise_makes_its_questions_due_now(tmp_path) -> None:
    bank = course_bank()
    exercise = "attention.scaled_dot_product_attention"
    linked = sorted(q.id for q in bank.questions if exercise in q.exercises)
    with Store.open(tmp_path / "progress.sqlite3") as store:
        far = (NOW + timedelta(days=30)).isoformat()
        card = {"card_id": 59, "state": 2, "step": None, "stability": 30.0, "difficulty": 5.0, "due": far, "last_review": (NOW - timedelta(days=2)).isoformat()}
        store.save_card("q59", card, far)
        when = (NOW - timedelta(days=1)).isoformat()
        store.record_run(
            GradingRun(exercise, code_hash(ROOT / "exercises", exercise), "cpu", "failed", False, 3, 7, 1.0, when, [{"name": "p", "status": "failed"}])
        )
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        states = app.study.progress.question_states()
        assert all(states[qid].due and states[qid].exercises == "failing" for qid in linked)
        q59 = app.study.reviews.cards()["q59"]
        assert q59.due == NOW and q59.stability == 30.0  # due now, memory state untouched
        await pilot.press("r")
        listing = app.screen.query_one(OptionList)
        assert sorted(listing.get_option_at_index(i).id for i in range(listing.option_count)) == linked


@pilot_test
async def test_switch_language_for_course_and_interface(tmp_path) -> None:
    bank = course_bank()
    app = make_app(tmp_path, lang=None)
    async with app.run_test(size=SIZE) as pilot:
        app.study.lang = "en"
        app.refresh_views()
        await pilot.press("enter")  # q1
        assert bank.question("q1").prompt.en in screen_text(app)
        await pilot.press("l")
        assert app.lang == "ru"
        text = screen_text(app)
        assert bank.question("q1").prompt.ru in text and bank.question("q1").quiz[0].prompt.ru in text
        assert "Тест 1 из" in text  # interface strings too
        await pilot.press("escape")
        assert "карта курса" in screen_text(app)
    again = make_app(tmp_path, lang=None)  # the choice is remembered
    async with again.run_test(size=SIZE):
        assert again.lang == "ru"


@pilot_test
async def test_quit_and_resume_where_they_left_off(tmp_path) -> None:
    item = course_bank().question("q3").quiz[0]
    assert item.kind == "single"
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "down", "enter")  # q3
        await pilot.press(key_of(app, "q3", 0, item.correct_options[0]), "n")  # item 2 is numeric: its field has focus
        await pilot.press("escape", "q")
    assert app.return_code == 0
    again = make_app(tmp_path)
    async with again.run_test(size=SIZE) as pilot:
        screen = again.screen
        assert isinstance(screen, QuestionScreen) and screen.question.id == "q3" and screen.step == 1
        await pilot.press("escape", "p")  # leave the numeric field, back to item 1
        assert "Right." in screen_text(again)  # the answer given before quitting is there
        await pilot.press("escape")
        assert again.screen.query_one(QuestionList).highlighted_id == "q3"


@pilot_test
async def test_quitting_keeps_a_free_recall_draft(tmp_path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        app.open_question("q5")
        await pilot.pause()
        await pilot.press("f")
        await type_text(pilot, "half an answer")
        await pilot.press("ctrl+q")  # at once: no time for the draft timer
    again = make_app(tmp_path)
    async with again.run_test(size=SIZE):
        assert again.screen.query_one(TextArea).text == "half an answer"


@pilot_test
async def test_help_and_dashboard(tmp_path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await pilot.press(key_of(app, "q1", 0, course_bank().question("q1").quiz[0].correct_options[0]), "escape")  # one right answer to q1
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "try again" in screen_text(app) and "ctrl+r" in screen_text(app)
        await pilot.press("escape", "d")
        assert isinstance(app.screen, DashboardScreen)
        text = screen_text(app)
        total = sum(len(q.quiz) for q in course_bank().questions)
        assert f"1/{total}" in text and "Overall" in text and "Streak: 1" not in text  # answers are dated today, the clock says 2030


@pilot_test
async def test_corrupt_store_shows_a_message_and_is_kept(tmp_path) -> None:
    path = tmp_path / "progress.sqlite3"
    junk = b"SQLite format 3\x00" + b"\xff" * 4000
    path.write_bytes(junk)
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, MessageScreen)
        text = screen_text(app)
        assert "cannot be used" in text and "left untouched" in text
        await pilot.press("l", "enter", "f")  # no key can reach the store
        await pilot.press("q")
    assert app.return_code == 1
    assert path.read_bytes() == junk


@pilot_test
async def test_newer_store_shows_a_message_and_is_kept(tmp_path) -> None:
    path = tmp_path / "progress.sqlite3"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    before = path.read_bytes()
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE):
        assert isinstance(app.screen, MessageScreen)
        assert "newer genlab" in screen_text(app)
    assert path.read_bytes() == before


@pilot_test
async def test_a_failed_write_is_reported_not_a_crash(tmp_path, monkeypatch) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:

        def locked(*args, **kwargs):
            raise sqlite3.OperationalError("database is locked")

        monkeypatch.setattr(app.store, "record_quiz_attempt", locked)
        await pilot.press("enter", "1")
        assert isinstance(app.screen, QuestionScreen)  # still running
        assert any("NOT saved" in n.message and "database is locked" in n.message for n in app._notifications)
