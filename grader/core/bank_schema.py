"""The schema of questions.yaml: validation of every field, with file, line and field.

Split from grader.core.bank (the dataclasses and the loading functions) so that each module
holds one concept; ``parse_bank`` is the entry point, this module is its implementation.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import yaml

from grader.core.bank import FORMAT_VERSION, QUIZ_KINDS, Bank, BankError, KeyPoints, Option, Problem, Question, QuizItem, Section, Text
from grader.core.lang import LANGS


class Validator:
    """Checks a parsed bank field by field, collecting every problem, and builds the dataclasses."""

    def __init__(self, filename: str, exercise_ids: set[str]) -> None:
        self.file = filename
        self.exercise_ids = exercise_ids
        self.problems: list[Problem] = []

    def problem(self, node: Any, field: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 0
        self.problems.append(Problem(self.file, line, field, message))

    # -- helpers over (value, node) pairs -------------------------------------------------

    def child(self, node: Any, key: str | int) -> Any:
        """The YAML node of a mapping key's value or a sequence item (for line numbers)."""
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == key:
                    return v
        if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            return node.value[key]
        return node

    def mapping(self, value: Any, node: Any, field: str, allowed: set[str], required: set[str]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.problem(node, field, "must be a mapping of fields")
            return None
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for k, _ in node.value:
                if k.value in seen:
                    self.problem(k, f"{field}.{k.value}", "field given twice; keep one")
                seen.add(k.value)
        for key in value:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                fix = f"; did you mean `{hint[0]}`?" if hint else f"; allowed fields: {', '.join(sorted(allowed))}"
                self.problem(self.child(node, key), f"{field}.{key}", f"unknown field{fix}")
        for key in sorted(required - set(value)):
            self.problem(node, f"{field}.{key}", "missing required field")
        return value

    def text(self, value: Any, node: Any, field: str) -> Text:
        if isinstance(value, str):
            self.problem(node, field, "needs both languages: write it as {ru: ..., en: ...}")
            return Text(value, value)
        m = self.mapping(value, node, field, set(LANGS), set())
        out = {}
        for lang in LANGS:
            v = (m or {}).get(lang)
            if m is not None and (not isinstance(v, str) or not v.strip()):
                name = {"ru": "Russian", "en": "English"}[lang]
                self.problem(self.child(node, lang) if lang in m else node, f"{field}.{lang}", f"missing {name} translation; add a non-empty `{lang}:` text")
            out[lang] = v if isinstance(v, str) else ""
        return Text(out["ru"], out["en"])

    # -- the schema ---------------------------------------------------------------------

    def bank(self, data: Any, node: Any) -> Bank:
        top = self.mapping(data, node, "(top)", {"format_version", "sections", "questions"}, {"format_version", "sections", "questions"}) or {}
        version = top.get("format_version")
        if "format_version" in top and version != FORMAT_VERSION:
            newer = isinstance(version, int) and version > FORMAT_VERSION
            self.problem(self.child(node, "format_version"), "format_version", f"is {version!r}; this genlab reads version {FORMAT_VERSION}" + ("; upgrade genlab" if newer else ""))
        sections = self.sections(top.get("sections", []), self.child(node, "sections"))
        questions = self.questions(top.get("questions", []), self.child(node, "questions"), {s.id for s in sections})
        if self.problems:
            raise BankError(self.problems)
        return Bank(FORMAT_VERSION, tuple(sections), tuple(questions))

    def sections(self, value: Any, node: Any) -> list[Section]:
        if not isinstance(value, list):
            self.problem(node, "sections", "must be a list")
            return []
        out, seen = [], set()
        for i, item in enumerate(value):
            n, f = self.child(node, i), f"sections[{i}]"
            m = self.mapping(item, n, f, {"id", "title"}, {"id", "title"})
            if m is None:
                continue
            sid = m.get("id")
            if sid in seen:
                self.problem(n, f"{f}.id", f"duplicate section id {sid!r}")
            seen.add(sid)
            out.append(Section(str(sid), self.text(m.get("title"), self.child(n, "title"), f"{f}.title")))
        return out

    def questions(self, value: Any, node: Any, section_ids: set[str]) -> list[Question]:
        if not isinstance(value, list):
            self.problem(node, "questions", "must be a list")
            return []
        out, seen = [], {}
        fields = {"id", "section", "topic", "prompt", "answer", "key_points", "exercises", "quiz"}
        for i, item in enumerate(value):
            n = self.child(node, i)
            qid = item.get("id") if isinstance(item, dict) else None
            f = f"{qid}" if isinstance(qid, str) else f"questions[{i}]"
            m = self.mapping(item, n, f, fields, fields)
            if m is None:
                continue
            if not isinstance(qid, str) or not re.fullmatch(r"q[1-9]\d*", qid):
                self.problem(self.child(n, "id"), f"{f}.id", f"question id {qid!r} must look like q1, q2, …")
                qid = f"q?{i}"
            elif qid in seen:
                self.problem(self.child(n, "id"), f"{f}.id", f"duplicate question id {qid} (first at line {seen[qid]})")
            seen.setdefault(qid, n.start_mark.line + 1)
            section = m.get("section")
            if section not in section_ids:
                hint = difflib.get_close_matches(str(section), sorted(section_ids), n=1)
                self.problem(self.child(n, "section"), f"{f}.section", f"unknown section {section!r}" + (f"; did you mean {hint[0]!r}?" if hint else ""))
            out.append(
                Question(
                    id=qid,
                    section=str(section),
                    topic=self.text(m.get("topic"), self.child(n, "topic"), f"{f}.topic"),
                    prompt=self.text(m.get("prompt"), self.child(n, "prompt"), f"{f}.prompt"),
                    answer=self.text(m.get("answer"), self.child(n, "answer"), f"{f}.answer"),
                    key_points=self.key_points(m.get("key_points"), self.child(n, "key_points"), f"{f}.key_points"),
                    exercises=self.exercises(m.get("exercises"), self.child(n, "exercises"), f"{f}.exercises"),
                    quiz=self.quiz(m.get("quiz"), self.child(n, "quiz"), f"{f}.quiz"),
                    line=n.start_mark.line + 1,
                )
            )
        return out

    def key_points(self, value: Any, node: Any, field: str) -> KeyPoints:
        m = self.mapping(value, node, field, set(LANGS), set(LANGS)) or {}
        lists = {}
        for lang in LANGS:
            v = m.get(lang)
            if lang in m and (not isinstance(v, list) or not v or not all(isinstance(s, str) and s.strip() for s in v)):
                self.problem(self.child(node, lang), f"{field}.{lang}", "must be a non-empty list of texts")
                v = []
            lists[lang] = tuple(v or ())
        if m and len(lists["ru"]) != len(lists["en"]) and lists["ru"] and lists["en"]:
            self.problem(node, field, f"{len(lists['ru'])} Russian and {len(lists['en'])} English key points; translate each point")
        return KeyPoints(lists["ru"], lists["en"])

    def exercises(self, value: Any, node: Any, field: str) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
            self.problem(node, field, "must be a list of exercise ids like flows.log_prob ([] for theory only)")
            return ()
        for i, ex in enumerate(value):
            if ex not in self.exercise_ids:
                hint = difflib.get_close_matches(ex, sorted(self.exercise_ids), n=1)
                self.problem(self.child(node, i), f"{field}[{i}]", f"unknown exercise id {ex!r}" + (f"; did you mean {hint[0]!r}?" if hint else "; see EXERCISES.md"))
        return tuple(value)

    def quiz(self, value: Any, node: Any, field: str) -> tuple[QuizItem, ...]:
        if not isinstance(value, list) or len(value) < 2:
            self.problem(node, field, "needs at least two quiz items")
            if not isinstance(value, list):
                return ()
        return tuple(self.quiz_item(item, self.child(node, i), f"{field}[{i}]") for i, item in enumerate(value))

    def quiz_item(self, value: Any, node: Any, field: str) -> QuizItem:
        kind = value.get("kind") if isinstance(value, dict) else None
        common = {"kind", "prompt"}
        allowed = {"single": common | {"options", "shuffle"}, "multiple": common | {"options", "shuffle"}, "numeric": common | {"answer", "tolerance", "decimals", "relative", "explanation"}, "formula": common | {"accepted", "explanation"}}
        if kind not in allowed:
            self.problem(self.child(node, "kind"), f"{field}.kind", f"must be one of {', '.join(QUIZ_KINDS)}, not {kind!r}")
            return QuizItem("single", Text("", ""))
        required = allowed[kind] - {"tolerance", "decimals", "relative", "shuffle"}
        m = self.mapping(value, node, field, allowed[kind], required) or {}
        prompt = self.text(m.get("prompt"), self.child(node, "prompt"), f"{field}.prompt")
        if kind in ("single", "multiple"):
            shuffle = m.get("shuffle", True)
            if not isinstance(shuffle, bool):
                self.problem(self.child(node, "shuffle"), f"{field}.shuffle", f"must be true or false, not {shuffle!r}")
                shuffle = True
            return QuizItem(kind, prompt, options=self.options(kind, m.get("options"), self.child(node, "options"), f"{field}.options"), shuffle=shuffle)
        explanation = self.text(m.get("explanation"), self.child(node, "explanation"), f"{field}.explanation")
        if kind == "numeric":
            answer, tol = m.get("answer"), m.get("tolerance", 0.0)
            if not isinstance(answer, (int, float)) or isinstance(answer, bool):
                self.problem(self.child(node, "answer"), f"{field}.answer", "must be a number")
                answer = 0.0
            if not isinstance(tol, (int, float)) or isinstance(tol, bool) or tol < 0:
                self.problem(self.child(node, "tolerance"), f"{field}.tolerance", "must be a non-negative number")
                tol = 0.0
            decimals, relative = m.get("decimals"), m.get("relative")
            if decimals is not None and (not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 10):
                self.problem(self.child(node, "decimals"), f"{field}.decimals", "must be a whole number of decimal places from 0 (an integer) to 10")
                decimals = None
            if relative is not None and (not isinstance(relative, (int, float)) or isinstance(relative, bool) or not 0 < relative < 1):
                self.problem(self.child(node, "relative"), f"{field}.relative", "must be a relative error between 0 and 1, e.g. 0.05 for 5%")
                relative = None
            if sum(k in m for k in ("tolerance", "decimals", "relative")) > 1:
                self.problem(node, field, "give one of `decimals` (to N places), `relative` (about) or `tolerance`, not several")
            return QuizItem(kind, prompt, answer=float(answer), tolerance=float(tol), decimals=decimals, relative=None if relative is None else float(relative), explanation=explanation)
        accepted = m.get("accepted")
        if not isinstance(accepted, list) or not accepted or not all(isinstance(a, str) and a.strip() for a in accepted):
            self.problem(self.child(node, "accepted"), f"{field}.accepted", "must be a non-empty list of accepted spellings")
            accepted = []
        return QuizItem(kind, prompt, accepted=tuple(accepted), explanation=explanation)

    def options(self, kind: str, value: Any, node: Any, field: str) -> tuple[Option, ...]:
        if not isinstance(value, list) or len(value) < 2:
            self.problem(node, field, "a choice item needs at least two options")
            if not isinstance(value, list):
                return ()
        out = []
        for i, item in enumerate(value):
            n, f = self.child(node, i), f"{field}[{i}]"
            m = self.mapping(item, n, f, {"text", "correct", "explanation"}, {"text", "correct", "explanation"}) or {}
            correct = m.get("correct")
            if "correct" in m and not isinstance(correct, bool):
                self.problem(self.child(n, "correct"), f"{f}.correct", "must be true or false")
            out.append(Option(self.text(m.get("text"), self.child(n, "text"), f"{f}.text"), correct is True, self.text(m.get("explanation"), self.child(n, "explanation"), f"{f}.explanation")))
        n_correct = sum(o.correct for o in out)
        if out and n_correct == 0:
            self.problem(node, field, "no option is marked `correct: true`")
        if kind == "single" and n_correct > 1:
            self.problem(node, field, f"a single-choice item has {n_correct} correct options; make it `kind: multiple` or keep one")
        for lang in LANGS:
            texts = [o.text.get(lang).strip().lower() for o in out]
            for i, t in enumerate(texts):
                if t and t in texts[:i]:
                    self.problem(self.child(node, i), f"{field}[{i}].text.{lang}", f"duplicate option (same as option {texts.index(t) + 1})")
        return tuple(out)
