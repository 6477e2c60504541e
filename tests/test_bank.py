"""The question bank: the shipped file is complete and valid; broken copies are rejected
with file, line and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from grader.core.bank import BankError, load_bank, normalize_formula, parse_bank
from grader.core.catalog import EXERCISES, Links
from grader.targets import resolve
from tests.cli_helpers import ROOT, run_grade

BANK = ROOT / "questions.yaml"


@pytest.fixture(scope="module")
def bank():
    return load_bank(BANK)


def test_ids_are_q1_to_q82_in_order(bank) -> None:
    assert bank.ids() == [f"q{n}" for n in range(1, 83)]


def test_every_question_is_complete_in_both_languages(bank) -> None:
    for q in bank.questions:
        for text in (q.prompt, q.answer, q.topic):
            assert text.ru.strip() and text.en.strip(), q.id
        assert re.search("[а-яА-Я]", q.prompt.ru) and re.search("[а-яА-Я]", q.answer.ru), f"{q.id}: Russian text is not Russian"
        assert 3 <= len(q.key_points.ru) == len(q.key_points.en) <= 6, q.id
        assert len(q.quiz) >= 2, q.id
        for item in q.quiz:
            if item.kind in ("single", "multiple"):
                assert 4 <= len(item.options) <= 5, f"{q.id}: {item.prompt.en}"
                assert item.correct_options
                if item.kind == "single":
                    assert len(item.correct_options) == 1
                for o in item.options:
                    assert o.explanation.ru.strip() and o.explanation.en.strip()


def test_every_catalog_exercise_is_linked_by_a_question(bank) -> None:
    # questions.yaml is the only place the links are written; the catalog lists ids only.
    linked = {e for q in bank.questions for e in q.exercises}
    assert linked <= set(EXERCISES)
    assert set(EXERCISES) <= linked, f"catalog exercises linked from no question: {set(EXERCISES) - linked}"


def test_grade_q_grades_exactly_what_the_question_links(bank) -> None:
    for q in bank.questions:
        assert resolve([q.id])[0] == sorted(set(q.exercises), key=EXERCISES.index), q.id
    links = Links.of(bank)
    for exercise in EXERCISES:  # and every result names the questions that link it, in bank order
        assert links.questions[exercise] == tuple(q.id for q in bank.questions if exercise in q.exercises)


def test_sections_cover_every_question(bank) -> None:
    assert sum(len(bank.in_section(s.id)) for s in bank.sections) == 82


def test_numeric_and_formula_items_check_answers(bank) -> None:
    numeric = [i for q in bank.questions for i in q.quiz if i.kind == "numeric"]
    assert numeric, "the bank should have numeric items"
    for item in numeric:
        assert item.check_numeric(item.answer)
        assert not item.check_numeric(item.answer + 10 * item.tolerance + 1)
    for item in (i for q in bank.questions for i in q.quiz if i.kind == "formula"):
        assert item.check_formula(item.accepted[0].upper())
    assert normalize_formula("O(n² · d)") == normalize_formula("o(n^2 d)")


# ----------------------------------------------------------------------------- broken copies



def _minimal() -> dict:
    """A small valid bank built from the real q6."""
    data = yaml.safe_load(BANK.read_text(encoding="utf-8"))
    return {"format_version": 1, "sections": data["sections"], "questions": [q for q in data["questions"] if q["id"] in ("q6", "q46")]}


def _problems(data: dict | str, tmp_path: Path) -> list:
    path = tmp_path / "questions.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(BankError) as info:
        load_bank(path)
    for p in info.value.problems:
        assert p.file == str(path)
    return info.value.problems


def test_minimal_copy_is_valid(tmp_path) -> None:
    path = tmp_path / "questions.yaml"
    path.write_text(yaml.safe_dump(_minimal(), allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert load_bank(path).ids() == ["q6", "q46"]


def test_missing_translation_names_line_and_field(tmp_path) -> None:
    data = _minimal()
    del data["questions"][0]["prompt"]["ru"]
    (p,) = _problems(data, tmp_path)
    assert p.field == "q6.prompt.ru" and "missing Russian translation" in p.message and p.line > 0


def test_unknown_exercise_id(tmp_path) -> None:
    data = _minimal()
    data["questions"][1]["exercises"] = ["flows.logprob"]
    (p,) = _problems(data, tmp_path)
    assert p.field == "q46.exercises[0]" and "did you mean 'flows.log_prob'" in p.message


def test_bad_yaml_names_the_line(tmp_path) -> None:
    (p,) = _problems("format_version: 1\nsections: [\nquestions:\n  - id: q1\n", tmp_path)
    assert p.field == "(yaml)" and p.line >= 2 and "malformed YAML" in p.message


def test_duplicate_ids_and_choice_problems_all_reported_at_once(tmp_path) -> None:
    data = _minimal()
    data["questions"][1]["id"] = "q6"
    item = data["questions"][0]["quiz"][0]
    for option in item["options"]:
        option["correct"] = False
    item2 = data["questions"][0]["quiz"][1]
    item2["options"][1]["text"] = dict(item2["options"][0]["text"])
    problems = _problems(data, tmp_path)
    messages = [f"{p.field}: {p.message}" for p in problems]
    assert any("duplicate question id q6" in m for m in messages), messages
    assert any("no option is marked" in m for m in messages), messages
    assert any("duplicate option" in m for m in messages), messages
    assert all(p.line > 0 for p in problems)


def test_newer_format_version_asks_for_an_upgrade(tmp_path) -> None:
    data = _minimal()
    data["format_version"] = 2
    (p,) = _problems(data, tmp_path)
    assert p.field == "format_version" and "upgrade genlab" in p.message


def test_unknown_field_suggests_the_right_one(tmp_path) -> None:
    data = _minimal()
    data["questions"][0]["promt"] = data["questions"][0].pop("prompt")
    problems = _problems(data, tmp_path)
    assert any(p.field == "q6.promt" and "did you mean `prompt`" in p.message for p in problems)


def test_parse_bank_reports_line_numbers_of_the_text() -> None:
    text = "format_version: 1\nsections: []\nquestions:\n  - id: q1\n    section: nowhere\n"
    with pytest.raises(BankError) as info:
        parse_bank(text, "b.yaml", exercise_ids=set())
    lines = {p.field: p.line for p in info.value.problems}
    assert lines["q1.section"] == 5


def test_check_bank_cli_on_a_broken_file(tmp_path) -> None:
    path = tmp_path / "questions.yaml"
    path.write_text("format_version: 1\nsections: []\nquestions: [{id: q1}]\n", encoding="utf-8")
    proc = run_grade("check-bank", str(path))
    assert proc.returncode == 2
    assert f"{path}:3: q1.prompt: missing required field" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_show_prints_question_and_answer() -> None:
    proc = run_grade("show", "q46", "--answer", "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    assert "flows.log_prob" in proc.stdout and "Answer" in proc.stdout
    ru = run_grade("show", "q46", "--lang", "ru")
    assert "Упражнения" in ru.stdout
    bad = run_grade("show", "q460")
    assert bad.returncode == 2 and "Error: unknown question 'q460'" in bad.stderr
