"""A grading report (the JSON of `grade --format json`) as HTML for a notebook cell.

Self-contained (inline styles only: Jupyter, JupyterLab and Colab sanitise or drop <style>
differently); every text from the report is escaped, since it may quote the student's code.
"""

from __future__ import annotations

from html import escape
from typing import Any

MARKS = {"passed": ("✓", "#1a7f37"), "failed": ("✗", "#cf222e"), "skipped": ("○", "#9a6700"), "not_run": ("·", "#6e7781")}
_BOX = "font-family: system-ui, sans-serif; font-size: 13px; line-height: 1.4"
_PRE = "margin: 2px 0 2px 1.5em; padding: 4px 6px; background: #f6f8fa; color: #24292f; white-space: pre-wrap"


def report_html(report: dict[str, Any]) -> str:
    parts = [f'<div class="genlab-report" style="{_BOX}">']
    for exercise in report.get("exercises", []):
        parts.append(_exercise(exercise))
    for note in report.get("notes", []):
        parts.append(f'<div style="color: #9a6700">note: {escape(str(note))}</div>')
    score, total = report.get("score", 0), report.get("max_score", 0)
    colour = "#1a7f37" if report.get("passed") else "#cf222e"
    verdict = "all passed" if report.get("passed") else "not all passing"
    parts.append(f'<div style="margin-top: 6px"><b style="color: {colour}">Score {score}/{total}</b> — {verdict}.</div>')
    if report.get("isolation") == "none":
        parts.append('<div style="color: #9a6700">Isolation: none — the code ran without an OS sandbox.</div>')
    parts.append("</div>")
    return "\n".join(parts)


def _exercise(e: dict[str, Any]) -> str:
    status = str(e.get("status", ""))
    colour = "#1a7f37" if e.get("passed") else "#cf222e"
    questions = " ".join(e.get("questions", []))
    out = [
        '<div class="genlab-exercise" style="margin: 6px 0">',
        f'<b>{escape(str(e.get("id")))}</b> <span style="color: #6e7781">({escape(questions)}) on {escape(str(e.get("device")))}</span> '
        f'<b style="color: {colour}">{escape(status.replace("_", " "))}</b> {e.get("score", 0)}/{e.get("max_score", 0)}',
    ]
    if status in ("not_implemented", "error"):
        out.append(f'<div style="color: #cf222e">✗ {escape(str(e.get("message", "")))}</div>')
    else:
        out.append('<ul style="list-style: none; margin: 2px 0; padding-left: 1em">')
        for p in e.get("properties", []):
            out.append(_property(p))
        out.append("</ul>")
        if status in ("timed_out", "out_of_memory", "crashed"):
            out.append(f'<div style="color: #cf222e">stopped: {escape(str(e.get("message", "")))}</div>')
    if str(e.get("output", "")).strip():
        out.append(f'<div style="color: #6e7781">your code printed:</div><pre style="{_PRE}">{escape(str(e["output"]).rstrip())}</pre>')
    out.append("</div>")
    return "\n".join(out)


def _property(p: dict[str, Any]) -> str:
    mark, colour = MARKS.get(str(p.get("status")), ("?", "#6e7781"))
    tier = '<span style="color: #6e7781">(hidden)</span> ' if p.get("tier") == "hidden" else ""
    item = [f'<li><span style="color: {colour}">{mark}</span> {tier}{escape(str(p.get("statement", "")))}']
    if p.get("status") == "failed":
        if p.get("message"):
            item.append(f'<pre style="{_PRE}">{escape(str(p["message"]))}</pre>')
        if p.get("counterexample"):
            item.append(f'<div style="margin-left: 1.5em; color: #6e7781">minimal failing input:</div><pre style="{_PRE}">{escape(str(p["counterexample"]))}</pre>')
        if p.get("diagnosis"):
            item.append(f'<div style="margin-left: 1.5em"><b style="color: #9a6700">diagnosis:</b> {escape(str(p["diagnosis"]))}</div>')
    elif p.get("status") == "skipped" and p.get("message"):
        item.append(f'<div style="margin-left: 1.5em; color: #6e7781">{escape(str(p["message"]))}</div>')
    item.append("</li>")
    return "".join(item)


def error_html(message: str) -> str:
    return f'<div class="genlab-report" style="{_BOX}; color: #cf222e"><b>Error:</b> {escape(message)}</div>'
