"""The question bank: ``questions.yaml`` loaded into frozen dataclasses, validated.

Validation reports every problem at once, each with file, line and field, so that one run
tells an author everything to fix. Importing this module does not import torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from grader.core.catalog import EXERCISES

FORMAT_VERSION = 1
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

    Students see shuffled options (grader.core.shuffle), so the file order leaks nothing to them,
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
    from grader.core.bank_schema import Validator  # here: the schema module builds this module's dataclasses

    return Validator(filename, exercise_ids).bank(data, node)
