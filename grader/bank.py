"""The question bank: ``questions.yaml`` loaded into frozen dataclasses, validated.

Validation reports every problem at once, each with file, line and field, so that one run
tells an author everything to fix. Importing this module does not import torch.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from grader.catalog import EXERCISES

FORMAT_VERSION = 1
LANGS = ("ru", "en")
Lang = Literal["ru", "en"]
QUIZ_KINDS = ("single", "multiple", "numeric", "formula")


@dataclass(frozen=True)
class Text:
    """A user-facing text in both course languages."""

    ru: str
    en: str

    def get(self, lang: str) -> str:
        """The text in ``lang`` ('ru' or 'en')."""
        return self.ru if lang == "ru" else self.en


@dataclass(frozen=True)
class KeyPoints:
    """Points a complete answer covers; the TUI ticks them off during self-assessment."""

    ru: tuple[str, ...]
    en: tuple[str, ...]

    def get(self, lang: str) -> tuple[str, ...]:
        return self.ru if lang == "ru" else self.en


@dataclass(frozen=True)
class Option:
    """One option of a choice item."""

    text: Text
    correct: bool
    explanation: Text  # one sentence: why this option is right or wrong


@dataclass(frozen=True)
class QuizItem:
    """A quiz item: single/multiple choice, a number, or a short formula."""

    kind: Literal["single", "multiple", "numeric", "formula"]
    prompt: Text
    options: tuple[Option, ...] = ()  # choice items
    answer: float | None = None  # numeric items
    tolerance: float = 0.0  # numeric items: absolute tolerance (older banks; prefer decimals)
    decimals: int | None = None  # numeric items: the answer is asked to this many decimal places (0: an integer)
    relative: float | None = None  # numeric items: "about" — any answer within this relative error
    accepted: tuple[str, ...] = ()  # formula items: equivalent spellings
    explanation: Text | None = None  # numeric and formula items
    shuffle: bool = True  # choice items: False keeps the file order (where the order is meaningful)

    def check_numeric(self, value: float) -> bool:
        """Whether ``value`` answers a numeric item.

        With ``decimals``, any value that rounds to a correct rounding of the answer is right
        (0.69, 0.693 and 0.6931 all answer ln 2 "to 2 decimal places"); with ``relative``, any
        value within that relative error.
        """
        if self.answer is None or value != value:  # NaN answers nothing
            return False
        slack = 1e-9 * max(1.0, abs(self.answer))  # the float representation of the answer itself
        if self.relative is not None:
            return abs(value - self.answer) <= self.relative * abs(self.answer) + slack
        if self.decimals is not None:
            return abs(round(value, self.decimals) - self.answer) <= 0.5 * 10.0**-self.decimals + slack
        return abs(value - self.answer) <= self.tolerance + 1e-12 * abs(self.answer)

    def precision(self, lang: str) -> str:
        """The precision a numeric item asks for, as shown after its prompt ('' for other kinds)."""
        ru = lang == "ru"
        if self.kind != "numeric":
            return ""
        if self.relative is not None:
            return f"примерно: допустима ошибка {self.relative:.0%}" if ru else f"about: within {self.relative:.0%}"
        if self.decimals == 0:
            return "целое число" if ru else "an integer"
        if self.decimals is not None:
            d = self.decimals
            return f"с точностью до {d} {'знака' if d == 1 else 'знаков'} после запятой" if ru else f"to {d} decimal place{'s' if d > 1 else ''}"
        return f"с точностью ±{self.tolerance:g}" if ru else f"within ±{self.tolerance:g}" if self.tolerance else ""

    def shown_prompt(self, lang: str) -> str:
        """The prompt with the expected precision of a numeric item, as the TUI and `grade show` print it."""
        note = self.precision(lang)
        return f"{self.prompt.get(lang)} ({note})" if note else self.prompt.get(lang)

    def answer_form(self) -> str:
        """What a numeric answer looks like ("0.00", "0"), for the TUI's placeholder; '' when free."""
        if self.kind != "numeric" or self.decimals is None:
            return ""
        return "0" if self.decimals == 0 else "0." + "0" * self.decimals

    def check_formula(self, text: str) -> bool:
        """Whether ``text`` is one of the accepted spellings (case, spaces, '*' and '·' ignored)."""
        return normalize_formula(text) in {normalize_formula(a) for a in self.accepted}

    @property
    def correct_options(self) -> tuple[int, ...]:
        return tuple(i for i, o in enumerate(self.options) if o.correct)

    def check_choice(self, chosen: list[int]) -> bool:
        """Whether the options chosen (file indices, never shown letters) answer a choice item."""
        right = set(self.correct_options)
        return set(chosen) == right if self.kind == "multiple" else len(chosen) == 1 and chosen[0] in right


def parse_number(text: str) -> float | None:
    """A number as students type it: '0.5', '0,5' (Russian decimal comma), '1e-3', '1/2'."""
    text = text.strip().replace(",", ".").replace("−", "-").replace(" ", "")
    try:
        if "/" in text:
            num, den = text.split("/", 1)
            return float(num) / float(den)
        return float(text)
    except (ValueError, ZeroDivisionError):
        return None


@dataclass(frozen=True)
class Question:
    """One of the course's questions (q1–q82)."""

    id: str  # "q46"
    section: str  # a Section id
    topic: Text
    prompt: Text
    answer: Text  # the reference answer
    key_points: KeyPoints
    exercises: tuple[str, ...]  # catalog exercise ids graded for this question
    quiz: tuple[QuizItem, ...]
    line: int = 0  # where the question starts in the file

    @property
    def number(self) -> int:
        return int(self.id[1:])


@dataclass(frozen=True)
class Section:
    """A part of the course a student navigates (autoencoders and VAEs, GANs, ...)."""

    id: str
    title: Text


@dataclass(frozen=True)
class Bank:
    """The whole question bank."""

    format_version: int
    sections: tuple[Section, ...]
    questions: tuple[Question, ...]

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise KeyError(qid)

    def ids(self) -> list[str]:
        return [q.id for q in self.questions]

    def in_section(self, section: str) -> list[Question]:
        return [q for q in self.questions if q.section == section]


_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_SUPERSCRIPTS = {"²": "^2", "³": "^3", "⁻¹": "^(-1)", "ᵀ": "^t"}


def normalize_formula(text: str) -> str:
    """A canonical spelling, so that equivalent ways of typing one formula compare equal.

    Multiplication signs (×, ·, *) and juxtaposition are alike; subscripts y_2, y₂, y2 and
    y_{2} are alike; exp(x), e^x and e^(x) are alike, and so are a/exp(x) and a·e^(−x); the
    minus sign (−, –) is '-'; braces are parentheses; case and spaces are ignored.
    """
    for sup, plain in _SUPERSCRIPTS.items():
        text = text.replace(sup, plain)
    text = re.sub(r"_\{([^{}]*)\}", r"\1", text)  # y_{2} -> y2
    text = text.translate(_SUBSCRIPTS).translate(str.maketrans({"·": "", "*": "", "×": "", "−": "-", "–": "-", "{": "(", "}": ")", "_": ""}))
    text = re.sub(r"\s+", "", text.lower())
    text = re.sub(r"(?<![a-z])exp\(", "e^(", text)  # exp(x) -> e^(x)
    text = re.sub(r"e\^(-?[a-z0-9]+)", r"e^(\1)", text)  # e^x, e^-s -> e^(x), e^(-s)
    text = re.sub(r"\(\(([^()]*)\)\)", r"(\1)", text)  # e^((x)) from e^(x) written as exp((x))
    # a/e^(x) -> a e^(-x): dividing by an exponential is multiplying by its inverse
    return re.sub(r"/e\^\((-?)([^()]*)\)", lambda m: f"e^({'' if m.group(1) else '-'}{m.group(2)})", text)


def position_warning(bank: Bank, *, threshold: float = 0.5) -> str | None:
    """A warning when the correct options of the choice items sit mostly in one file position.

    Students see shuffled options (grader.shuffle), so the file order leaks nothing to them,
    except in `shuffle: false` items and to anyone reading questions.yaml; an author should
    still spread the keys. The position of an item is that of its first correct option.
    """
    positions = [item.correct_options[0] for q in bank.questions for item in q.quiz if item.kind in ("single", "multiple") and item.correct_options]
    if len(positions) < 5:
        return None
    counts = [positions.count(p) for p in range(max(positions) + 1)]
    top = max(range(len(counts)), key=counts.__getitem__)
    share = counts[top] / len(positions)
    if share <= threshold:
        return None
    fixed = sum(1 for q in bank.questions for item in q.quiz if item.kind in ("single", "multiple") and not item.shuffle)
    return (
        f"{counts[top]} of {len(positions)} choice items ({share:.0%}) list their (first) correct option at position {top + 1}. "
        f"Shown options are shuffled per student, so this only shows in the {fixed} `shuffle: false` item(s) and to readers of the file; "
        "consider reordering the options in the file."
    )


# ----------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Problem:
    """One problem found in the bank."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class BankError(Exception):
    """The bank could not be loaded; ``problems`` lists everything wrong with it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        head = f"{len(problems)} problem{'s' * (len(problems) != 1)} in the question bank:"
        super().__init__("\n".join([head, *(f"  {p}" for p in problems)]))


# ----------------------------------------------------------------------------- loading


def load_bank(path: Path, *, exercise_ids: set[str] | None = None) -> Bank:
    """Load and validate ``questions.yaml``; raises BankError listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BankError([Problem(str(path), 0, "(file)", "the question bank does not exist")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BankError([Problem(str(path), 0, "(file)", f"cannot be read: {exc}")]) from None
    return parse_bank(text, str(path), exercise_ids=exercise_ids if exercise_ids is not None else set(EXERCISES))


def parse_bank(text: str, filename: str, *, exercise_ids: set[str]) -> Bank:
    """Validate and build a bank from YAML text."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        what = getattr(exc, "problem", None) or str(exc)
        raise BankError([Problem(filename, line, "(yaml)", f"malformed YAML: {what}; check the indentation and quoting near this line")]) from None
    return _Validator(filename, exercise_ids).bank(data, node)


class _Validator:
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
