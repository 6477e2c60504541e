"""Formula quiz items: equivalent spellings of one formula are all accepted."""

from __future__ import annotations

import pytest

from grader.core.bank import normalize_formula
from tests.test_tui_helpers import course_bank


def _item(qid: str, index: int):
    item = course_bank().question(qid).quiz[index]
    assert item.kind == "formula"
    return item


@pytest.mark.parametrize("spelling", ["H×W×C", "H·W·C", "H*W*C", "HWC", "H W C", "O(H×W×C)", "C × H × W"])
def test_q32_pixelcnn_passes(spelling: str) -> None:
    assert _item("q32", 1).check_formula(spelling)


@pytest.mark.parametrize(
    "spelling",
    ["(y_2 − t)/exp(s)", "(y₂ − t)·e^(−s)", "(y2 - t) * exp(-s)", "(y2-t)e^-s", "(y_{2} - t) e^{-s}", "(y₂−t)×exp(−s)", "exp(-s)·(y_2 - t)"],
)
def test_q45_inverse_coupling(spelling: str) -> None:
    assert _item("q45", 1).check_formula(spelling)


@pytest.mark.parametrize("spelling", ["O(n²×d)", "O(n^2·d)", "O(n^2*d)", "O(n² d)", "O(d×n²)", "O(n^2 d)"])
def test_q72_attention_complexity(spelling: str) -> None:
    assert _item("q72", 0).check_formula(spelling)


@pytest.mark.parametrize(("wrong", "qid", "index"), [("H×W", "q32", 1), ("(y_2 − t)·exp(s)", "q45", 1), ("(y2 + t)/exp(s)", "q45", 1), ("O(n×d²)", "q72", 0), ("O(n d)", "q72", 0)])
def test_wrong_formulas_stay_wrong(wrong: str, qid: str, index: int) -> None:
    assert not _item(qid, index).check_formula(wrong)


@pytest.mark.parametrize(("a", "b"), [("a×b", "a·b"), ("a*b", "ab"), ("y_2", "y₂"), ("y2", "y_{2}"), ("exp(x)", "e^x"), ("e^(x)", "exp(x)"), ("a − b", "a-b"), ("a/exp(x)", "a·e^(−x)")])
def test_spellings_normalize_alike(a: str, b: str) -> None:
    assert normalize_formula(a) == normalize_formula(b)
