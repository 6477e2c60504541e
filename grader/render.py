"""Rich rendering of grading results, the progress summary and questions."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.cgroup_limits import describe
from grader.core.bank import Bank, Question, QuizItem
from grader.core.catalog import EXERCISES
from grader.core.result_lines import Line, Words, body_lines
from grader.core.results import ExerciseResult, GradeReport
from grader.core.states import exercise_states, question_state
from grader.core.store import GradingRun


def exercise_result(console: Console, r: ExerciseResult) -> None:
    """One exercise: a header line, then one line per property, failures explained."""
    questions = " ".join(r.questions)
    state = "[green]passed[/]" if r.passed else f"[red]{r.status.replace('_', ' ')}[/]"
    console.print(f"[bold]{r.id}[/] [dim]({questions}) on {r.device}[/]  {state}  {r.score}/{r.max_score}  [dim]{r.duration_s:.1f} s[/]")
    for line in body_lines(r, Words()):
        console.print(markup(line))
    console.print()


def markup(line: Line) -> str:
    """A result line in Rich markup: styled segments, every text escaped."""
    return "".join(f"[{style}]{escape(text)}[/]" if style else escape(text) for style, text in line.segments)


def report_footer(console: Console, report: GradeReport) -> None:
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    failed = [r for r in report.exercises if not r.passed]
    if not report.exercises:
        return
    if failed:
        console.print(f"[bold]Score {report.score}/{report.max_score}[/] — {len(failed)} of {len(report.exercises)} exercise runs not passing.")
    else:
        console.print(f"[bold green]Score {report.score}/{report.max_score}[/] — all {len(report.exercises)} exercise runs passed.")
    console.print("Isolation: OS sandbox (bwrap)." if report.isolation == "bwrap" else "[yellow]Isolation: none[/] — your code ran without an OS sandbox.")
    if report.cgroup is not None:
        console.print(escape(f"{describe(report.cgroup)}."), highlight=False)


# How `grade` shows a question's state (grader.core.states).
QUESTION_STATUS = {
    "none": "[dim]—[/]",
    "passing": "[green]passing[/]",
    "failing": "[red]failing[/]",
    "changed": "[yellow]changed — regrade[/]",
    "partial": "[yellow]in progress[/]",
    "new": "[dim]not started[/]",
}


def summary(console: Console, bank: Bank | None, latest: dict[tuple[str, str], GradingRun], submission: Path) -> str | None:
    """The progress table printed by a bare `grade`; returns the suggested next target."""
    states = exercise_states(latest, submission)
    table = Table(title="genlab — your progress", show_lines=False, expand=False)
    table.add_column("Question")
    table.add_column("Topic")
    table.add_column("Exercises")
    table.add_column("Status")
    next_target = None
    questions = bank.questions if bank else ()
    for q in questions:
        status = QUESTION_STATUS[question_state([states.get(e, "new") for e in q.exercises])]
        if next_target is None and q.exercises and status != "[green]passing[/]":
            next_target = q.id
        table.add_row(q.id, escape(q.topic.en), "\n".join(q.exercises) or "[dim]theory only[/]", status)
    console.print(table)
    graded = {e for (e, _d) in latest}
    done = sum(1 for e in EXERCISES if states.get(e) == "passing")
    console.print(f"Exercises passing: {done}/{len(EXERCISES)}; graded at least once: {len(graded & set(EXERCISES))}.")
    return next_target


def quiz_item(console: Console, q: Question, index: int, item: QuizItem, lang: str, *, seed: str, with_answer: bool) -> list[int]:
    """One quiz item, options in the student's order; returns that order (file indices)."""
    from grader.core.shuffle import LETTERS, option_order

    console.print(f"[bold]{index + 1}.[/] {escape(item.shown_prompt(lang))} [dim]({item.kind})[/]")
    order = option_order(seed, q.id, index, item)
    for p, j in enumerate(order):
        option = item.options[j]
        mark = ("[green]✓[/] " if option.correct else "  ") if with_answer else ""
        console.print(f"   {mark}{LETTERS[p]}) {escape(option.text.get(lang))}")
        if with_answer:
            console.print(f"        [dim]{escape(option.explanation.get(lang))}[/]")
    if with_answer and item.kind == "numeric":
        console.print(f"   [green]answer:[/] {item.answer:g}" + (f" (± {item.tolerance:g})" if item.tolerance and item.decimals is None and item.relative is None else ""))
    if with_answer and item.kind == "formula":
        console.print(f"   [green]answer:[/] {escape(item.accepted[0])}")
    if with_answer and item.explanation:
        console.print(f"   [dim]{escape(item.explanation.get(lang))}[/]")
    return order


def question(console: Console, q: Question, lang: str, *, with_answer: bool, seed: str = "") -> None:
    """`grade show qN`: the prompt, the quiz items, the linked exercises (and the answer).

    Options appear in the student's order for ``seed`` (the same letters as in the TUI).
    """
    console.print(f"[bold]{q.id}[/] [dim]{escape(q.topic.get(lang))}[/]")
    console.print(escape(q.prompt.get(lang)))
    console.print()
    for i, item in enumerate(q.quiz, 1):
        quiz_item(console, q, i - 1, item, lang, seed=seed, with_answer=with_answer)
    console.print()
    label = {"ru": "Упражнения", "en": "Exercises"}[lang]
    if q.exercises:
        console.print(f"[bold]{label}:[/] " + ", ".join(q.exercises) + f"  [dim](grade {q.id})[/]")
    else:
        console.print(f"[bold]{label}:[/] " + {"ru": "нет, только теория", "en": "none, theory only"}[lang])
    if with_answer:
        console.print()
        console.print("[bold]" + {"ru": "Ответ", "en": "Answer"}[lang] + ":[/]")
        console.print(escape(q.answer.get(lang)))
        console.print("[bold]" + {"ru": "Ключевые пункты", "en": "Key points"}[lang] + ":[/]")
        for point in q.key_points.get(lang):
            console.print(f" • {escape(point)}")
