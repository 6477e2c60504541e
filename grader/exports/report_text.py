"""`grade report OUT`: the class at a glance in the terminal."""

from __future__ import annotations

from rich.console import Console

from grader.exports.class_stats import ClassStats
from grader.exports.classdata import NOT_SANDBOXED, ScoredClass


def print_report(console: Console, scored: ScoredClass, stats: ClassStats) -> None:
    mean = sum(stats.percents) / len(stats.percents) if stats.percents else 0.0
    console.print(f"[bold]{stats.students} students[/], mean {mean:.1f}%  (policy: {scored.policy.source})")
    if not scored.sandboxed:
        console.print(f"[yellow]note:[/] {NOT_SANDBOXED}")
    console.print("\n[bold]Pass rate per exercise[/]")
    for r in stats.exercise_rates:
        console.print(f"  {r.percent:5.1f}%  {r.passed}/{r.total}  {r.label}")
    if stats.mistakes:
        console.print("\n[bold]Diagnosed mistakes[/]")
        for m in stats.mistakes:
            console.print(f"  {m.exercise}: {m.diagnosis} — {m.students} of {stats.students} students")
    if stats.not_started:
        console.print("\n[bold]Not started[/]")
        for r in stats.not_started:
            console.print(f"  {r.label}: {r.passed} of {r.total} students")
    console.print("\n[bold]Students[/]")
    for s in scored.students:
        console.print(f"  {s.student:20} {s.points:g}/{s.max_points:g}  {s.percent:.1f}%" + ("" if s.status == "graded" else f"  ({s.status}: {s.message})"))
