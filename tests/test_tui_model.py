"""The TUI's pieces without a screen: progress rules, the fsrs wrapper, the bank cache,
search, number parsing, bars, dates and the interface strings."""

from __future__ import annotations

import ast
import json
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from grader.bank import BankError, parse_number
from grader.store import GradingRun, Store
from tests.test_tui_helpers import MINI_BANK_YAML, NOW, ROOT, course_bank, make_app, mini_bank, pilot_test
from tui.bankcache import cached_bank, from_json, load_cached
from tui.clock import describe_due, fixed
from tui.i18n import STRINGS, t
from tui.progress import Progress, count_streak, file_hash
from tui.scheduler import Reviews
from tui.screens.course_map import CourseMapScreen, exact_id, matches
from tui.screens.dashboard import bar

TUI = ROOT / "tui"


def test_bank_cache_round_trips_and_rebuilds(tmp_path) -> None:
    assert from_json(json.loads(json.dumps(asdict(course_bank())))) == course_bank()  # every field survives
    bank = mini_bank()
    source = tmp_path / "questions.yaml"
    source.write_text(MINI_BANK_YAML, encoding="utf-8")
    assert cached_bank(source, folder=tmp_path / "cache") is None
    assert load_cached(source, folder=tmp_path / "cache") == bank
    assert cached_bank(source, folder=tmp_path / "cache") == bank  # now a cache hit
    for junk in (tmp_path / "cache").glob("bank-*.json"):
        junk.write_text("{not json")
    assert load_cached(source, folder=tmp_path / "cache") == bank  # a damaged cache is rebuilt
    source.write_text(MINI_BANK_YAML.replace('en: "Attention"', 'en: ""'), encoding="utf-8")
    with pytest.raises(BankError):
        load_cached(source, folder=tmp_path / "cache")  # a changed bank is validated again


def test_reviews_schedule_with_fsrs(tmp_path) -> None:
    with Store.open(tmp_path / "p.sqlite3") as store:
        reviews = Reviews(store, fuzz=False)
        card = reviews.rate("q6", 1, NOW)  # Again: back in a minute
        assert card.due == NOW + timedelta(minutes=1)
        assert reviews.due(NOW + timedelta(minutes=2), today=False) == ["q6"]
        card = reviews.rate("q6", 4, NOW + timedelta(minutes=2))  # Easy: days away
        assert card.due > NOW + timedelta(days=1)
        assert reviews.due(NOW) == []
        assert store.cards()["q6"][1] == card.due.isoformat()


def test_failing_run_brings_questions_forward_once(tmp_path) -> None:
    bank = course_bank()
    with Store.open(tmp_path / "p.sqlite3") as store:
        reviews = Reviews(store, fuzz=False)
        progress = Progress(bank, store, reviews, ROOT / "exercises", fixed(NOW))
        exercise = "vae.kl_standard_normal"
        graded = (NOW - timedelta(hours=1)).isoformat()
        store.record_run(GradingRun(exercise, file_hash(ROOT / "exercises", exercise), "cpu", "failed", False, 1, 4, 1.0, graded, []))
        failing = progress.failing_questions()
        assert set(failing) == {q.id for q in bank.questions if exercise in q.exercises}
        assert reviews.bring_forward(failing, NOW) == sorted(failing)
        assert reviews.bring_forward(failing, NOW) == []  # idempotent
        for qid in failing:  # reviewing after the failure ends it
            reviews.rate(qid, 3, NOW + timedelta(minutes=5))
        assert reviews.bring_forward(failing, NOW + timedelta(hours=1)) == []
        # a stub that is "not implemented" is not failing
        store.record_run(GradingRun(exercise, "x", "cpu", "not_implemented", False, 0, 4, 0.1, NOW.isoformat(), []))
        assert progress.failing_questions() == {}


def test_question_states_follow_grade_rules(tmp_path) -> None:
    bank = course_bank()
    with Store.open(tmp_path / "p.sqlite3") as store:
        progress = Progress(bank, store, Reviews(store, fuzz=False), ROOT / "exercises", fixed(NOW))
        q = bank.question("q6")
        assert progress.question_states()["q6"].quiz == "new"
        store.record_quiz_attempt("q6", 0, [0], False, "en")
        assert progress.question_states()["q6"].quiz == "answered"
        for i, item in enumerate(q.quiz):
            store.record_quiz_attempt("q6", i, item.correct_options or item.answer, True, "en")
        assert progress.question_states()["q6"].quiz == "mastered"
        exercise = q.exercises[0]
        store.record_run(GradingRun(exercise, "an old hash", "cpu", "passed", True, 4, 4, 1.0, NOW.isoformat(), []))
        assert progress.question_states()["q6"].exercises == "changed"  # edited since graded
        store.record_run(GradingRun(exercise, file_hash(ROOT / "exercises", exercise), "cpu", "passed", True, 4, 4, 1.0, NOW.isoformat(), []))
        assert progress.question_states()["q6"].exercises == "passing"
        assert progress.question_states()["q1"].exercises == "none"


def test_streak_counts_days_in_a_row() -> None:
    today = date(2030, 1, 15)
    assert count_streak([], today) == 0
    assert count_streak([today], today) == 1
    assert count_streak([today - timedelta(days=1), today - timedelta(days=2)], today) == 2  # today not over yet
    assert count_streak([today, today - timedelta(days=2)], today) == 1


def test_search_and_jump() -> None:
    bank = course_bank()
    q46 = bank.question("q46")
    assert matches(q46, "46") and matches(q46, "q46") and matches(q46, q46.topic.ru.split()[0])
    assert not matches(bank.question("q1"), "q46")
    assert exact_id(bank, "46") == "q46" and exact_id(bank, " Q46 ") == "q46" and exact_id(bank, "flows") is None


def test_numbers_bars_and_dates() -> None:
    assert parse_number("0,125") == 0.125 and parse_number("1/8") == 0.125 and parse_number("−2") == -2.0
    assert parse_number("abc") is None and parse_number("1/0") is None
    assert bar(0, 10, 10) == "░" * 10 + " 0/10"
    assert bar(1, 100, 10).startswith("█░")  # any progress shows
    assert bar(99, 100, 10).startswith("█" * 9 + "░")  # unfinished never looks finished
    assert bar(10, 10, 10) == "█" * 10 + " 10/10"
    now = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)
    assert describe_due(now + timedelta(minutes=10), now, "en") == "in 10 min"
    assert describe_due(now + timedelta(days=3), now, "ru") == "через 3 дн. (2030-01-18)"


def test_every_key_description_and_string_is_translated() -> None:
    """Each BINDINGS description and each t("...") key in tui/ has both languages."""
    used: set[str] = set()
    for path in TUI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Binding" and len(node.args) >= 3:
                description = node.args[2]
                if isinstance(description, ast.Constant):
                    used.add("key." + description.value)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "t" and node.args and isinstance(node.args[0], ast.Constant):
                used.add(node.args[0].value)
    missing = sorted(k for k in used if k not in STRINGS)
    assert not missing, missing
    assert all(en.strip() and ru.strip() for en, ru in STRINGS.values())
    assert t("rating.3", "ru") == "хорошо" and t("no.such.key", "en") == "no.such.key"


@pilot_test
async def test_first_start_loads_the_bank_in_the_background(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # an empty cache: the slow path
    source = tmp_path / "questions.yaml"
    source.write_text(MINI_BANK_YAML, encoding="utf-8")
    app = make_app(tmp_path, bank=None, bank_path=source)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(300):
            if isinstance(app.screen, CourseMapScreen):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, CourseMapScreen)
        assert app.bank == mini_bank()


@pilot_test
async def test_a_broken_bank_gives_a_message(tmp_path, monkeypatch) -> None:
    from tui.screens.message import MessageScreen

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = tmp_path / "questions.yaml"
    source.write_text("format_version: 1\nsections: [{id: a, title: {ru: А}}]\nquestions: []\n", encoding="utf-8")
    app = make_app(tmp_path, bank=None, bank_path=source)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            if isinstance(app.screen, MessageScreen):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, MessageScreen)
        assert "missing English translation" in app.screen.message


def test_genlab_command_line() -> None:
    from tui.app import main

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    with pytest.raises(SystemExit) as exc:
        main(["--submission", str(Path("/no/such/folder"))])
    assert exc.value.code == 2
