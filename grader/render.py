"""Rich rendering of grading results, the progress summary and questions."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.bank import Bank, Question, QuizItem
from grader.catalog import EXERCISES
from grader.results import ExerciseResult, GradeReport
from grader.store import GradingRun

MARKS = {"passed": "[green]✓[/]", "failed": "[red]✗[/]", "skipped": "[yellow]○[/]", "not_run": "[dim]·[/]"}


def exercise_result(console: Console, r: ExerciseResult) -> None:
    """One exercise: a header line, then one line per property, failures explained."""
    questions = " ".join(r.questions)
    state = "[green]passed[/]" if r.passed else f"[red]{r.status.replace('_', ' ')}[/]"
    console.print(f"[bold]{r.id}[/] [dim]({questions}) on {r.device}[/]  {state}  {r.score}/{r.max_score}  [dim]{r.duration_s:.1f} s[/]")
    if r.status in ("not_implemented", "error"):
        console.print(f"  [red]✗[/] {escape(r.message)}")
    else:
        for p in r.properties:
            tier = "[dim](hidden)[/] " if p.tier == "hidden" else ""
            console.print(f"  {MARKS[p.status]} {tier}{escape(p.statement)}")
            if p.status == "failed":
                for line in p.message.splitlines():
                    console.print(f"      {escape(line)}")
                if p.counterexample:
                    console.print("      [dim]minimal failing input:[/]")
                    for line in p.counterexample.splitlines():
                        console.print(f"        {escape(line)}")
                if p.trace:
                    console.print("      [dim]where your code raised:[/]")
                    for line in p.trace.splitlines():
                        console.print(f"        {escape(line)}")
                if p.diagnosis:
                    console.print(f"      [yellow]diagnosis:[/] {escape(p.diagnosis)}")
            elif p.status == "skipped":
                console.print(f"      [dim]{escape(p.message)}[/]")
        if r.status in ("timed_out", "out_of_memory", "crashed"):
            console.print(f"  [red]stopped:[/] {escape(r.message)}")
    if r.output.strip():
        console.print("  [dim]your code printed:[/]")
        for line in r.output.rstrip().splitlines()[:40]:
            console.print(f"  [dim]│[/] {escape(line)}")
    console.print()


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


def summary(console: Console, bank: Bank | None, latest: dict[tuple[str, str], GradingRun], current_hashes: dict[str, str]) -> str | None:
    """The progress table printed by a bare `grade`; returns the suggested next target."""
    table = Table(title="genlab — your progress", show_lines=False, expand=False)
    table.add_column("Question")
    table.add_column("Topic")
    table.add_column("Exercises")
    table.add_column("Status")
    next_target = None
    questions = bank.questions if bank else ()
    for q in questions:
        states = [exercise_state(e, latest, current_hashes) for e in q.exercises]
        status = _question_status(states)
        if next_target is None and q.exercises and status != "[green]passing[/]":
            next_target = q.id
        table.add_row(q.id, escape(q.topic.en), "\n".join(q.exercises) or "[dim]theory only[/]", status)
    console.print(table)
    graded = {e for (e, _d) in latest}
    done = sum(1 for e in EXERCISES if exercise_state(e, latest, current_hashes) == "passing")
    console.print(f"Exercises passing: {done}/{len(EXERCISES)}; graded at least once: {len(graded & set(EXERCISES))}.")
    return next_target


def exercise_state(exercise: str, latest: dict[tuple[str, str], GradingRun], hashes: dict[str, str]) -> str:
    """'not started', 'passing', 'failing' or 'changed' (edited since the last grading)."""
    run = latest.get((exercise, "cpu"))
    if run is None:
        return "not started"
    if hashes.get(exercise) and run.code_hash != hashes[exercise]:
        return "changed"
    return "passing" if run.passed else ("not started" if run.status == "not_implemented" else "failing")


def _question_status(states: list[str]) -> str:
    if not states:
        return "[dim]—[/]"
    if all(s == "passing" for s in states):
        return "[green]passing[/]"
    if any(s == "failing" for s in states):
        return "[red]failing[/]"
    if any(s == "changed" for s in states):
        return "[yellow]changed — regrade[/]"
    if any(s == "passing" for s in states):
        return "[yellow]in progress[/]"
    return "[dim]not started[/]"


def quiz_item(console: Console, q: Question, index: int, item: QuizItem, lang: str, *, seed: str, with_answer: bool) -> list[int]:
    """One quiz item, options in the student's order; returns that order (file indices)."""
    from grader.shuffle import LETTERS, option_order

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
