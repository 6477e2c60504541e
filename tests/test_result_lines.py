"""`grade` and the TUI show an exercise result from the same lines; the JSON report reads back."""

from __future__ import annotations

import io
import json

from rich.console import Console

from grader import render
from grader.core.results import ExerciseResult, GradeReport, PropertyResult
from tui.screens.grading import exercise_lines

RESULT = ExerciseResult(
    "flows.log_prob",
    ("q46", "q47"),
    "cpu",
    "failed",
    [
        PropertyResult("a", "log-probabilities are finite [for all x]", "public", "passed"),
        PropertyResult("b", "matches the reference", "hidden", "failed", "max |got - expected| = 0.4", "x: (2, 3)", "your output misses the log-determinant"),
        PropertyResult("c", "hidden check", "hidden", "skipped", "needs the reference solutions"),
    ],
    output="debug [1]\n",
    duration_s=1.5,
    code_hash="abc",
)


def test_the_cli_and_the_tui_print_the_same_body() -> None:
    buffer = io.StringIO()
    render.exercise_result(Console(file=buffer, width=200, highlight=False), RESULT)
    cli = buffer.getvalue().splitlines()
    tui = [text for text, _kind in exercise_lines(RESULT, "en")]
    assert cli[0].startswith("flows.log_prob (q46 q47) on cpu  failed  1/2")
    assert tui[0] == "flows.log_prob (q46 q47) · cpu · failed · 1/2"
    assert cli[1:-1] == tui[1:]  # below the header, line for line
    assert "      diagnosis: your output misses the log-determinant" in tui
    assert "  │ debug [1]" in tui


def test_a_report_reads_back_from_its_json() -> None:
    report = GradeReport([RESULT], ["a note"], "bwrap")
    text = json.dumps(report.to_json())
    again = GradeReport.from_json(json.loads(text))
    assert json.dumps(again.to_json()) == text
    assert again.exercises[0].properties[1].diagnosis == "your output misses the log-determinant"
