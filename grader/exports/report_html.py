"""`grade report OUT --html report.html`: one self-contained page (inline SVG and CSS, no network).

Charts are drawn by matplotlib's SVG backend with text kept as text, so the page stays small
and its numbers searchable. Every number carries a ``data-*`` attribute that the tests compare
with the JSON export.
"""

from __future__ import annotations

import io
from html import escape

from grader.errors import UsageError
from grader.exports.class_stats import ClassStats, Rate
from grader.exports.classdata import NOT_SANDBOXED, ScoredClass

CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}.num{text-align:right}.note{background:#fff4d6;padding:.5em 1em;border-left:4px solid #e0a800}
.failed{color:#b00020}.passed{color:#1b7f3b}pre{white-space:pre-wrap;background:#f7f7f7;padding:.5em}
"""


def _figure():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError("the HTML report draws its charts with matplotlib, which is not installed; run: python3 -m pip install matplotlib") from None
    return Figure


def _svg(fig: object) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "genlab"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")  # type: ignore[attr-defined]
    text = buf.getvalue()
    return text[text.index("<svg") :]  # drop the XML prolog and doctype: inline in HTML


def _histogram(percents: list[float]) -> str:
    fig = _figure()(figsize=(7, 3))
    ax = fig.add_subplot()
    ax.hist(percents, bins=[i * 10 for i in range(11)], color="#4c72b0", edgecolor="white")
    ax.set_xlabel("score (%)")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)  # a count of students has no 0.2
    ax.set_title("Score distribution")
    return _svg(fig)


def _bars(rates: list[Rate], title: str) -> str:
    fig = _figure()(figsize=(7, 0.35 * len(rates) + 1))
    ax = fig.add_subplot()
    ax.barh([r.label for r in rates][::-1], [r.percent for r in rates][::-1], color="#55a868")
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of students")
    ax.set_title(title)
    return _svg(fig)


def _rate_table(rates: list[Rate], kind: str, header: str) -> str:
    rows = "".join(f'<tr data-{kind}="{escape(r.label)}" data-passed="{r.passed}" data-total="{r.total}"><td>{escape(r.label)}</td><td class="num">{r.passed} of {r.total}</td><td class="num">{r.percent:.1f}%</td></tr>' for r in rates)
    return f"<table><tr><th>{header}</th><th>students</th><th>%</th></tr>{rows}</table>"


def render(scored: ScoredClass, stats: ClassStats) -> str:
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>genlab class report</title><style>{CSS}</style></head><body>"]
    parts.append(f"<h1>Class report</h1><p>{stats.students} students; policy: {escape(scored.policy.source)}</p>")
    if not scored.sandboxed:
        parts.append(f"<p class='note'>{escape(NOT_SANDBOXED)}</p>")
    parts.append("<h2>Score distribution</h2>" + _histogram(stats.percents))
    parts.append("<h2>Pass rate per exercise</h2>" + _bars(stats.exercise_rates, "Exercise passed") + _rate_table(stats.exercise_rates, "exercise", "exercise"))
    parts.append("<h2>Pass rate per property</h2>" + _rate_table(stats.property_rates, "property", "property"))
    parts.append("<h2>Diagnosed mistakes</h2>")
    if stats.mistakes:
        rows = "".join(f'<tr data-mistake="{escape(m.diagnosis)}" data-exercise="{escape(m.exercise)}" data-students="{m.students}"><td>{escape(m.exercise)}</td><td>{escape(m.diagnosis)}</td><td class="num">{m.students} of {stats.students} students</td></tr>' for m in stats.mistakes)
        parts.append(f"<table><tr><th>exercise</th><th>mistake</th><th>students</th></tr>{rows}</table>")
    else:
        parts.append("<p>No diagnosed mistakes.</p>")
    parts.append("<h2>Not started</h2>" + (_rate_table(stats.not_started, "not-started", "exercise") if stats.not_started else "<p>Every student started every exercise.</p>"))
    parts.append("<h2>Students</h2><table><tr><th>student</th><th>score</th><th>max</th><th>%</th><th>failures</th></tr>")
    for i, s in enumerate(scored.students):
        failed = [e for e in s.exercises if e.status != "passed"]
        link = f"<a href='#s{i}'>{len(failed)} exercise{'s' if len(failed) > 1 else ''}</a>" if failed else "none"
        parts.append(f'<tr data-student="{escape(s.student)}" data-score="{s.points:g}" data-max="{s.max_points:g}" data-percent="{s.percent}"><td>{escape(s.student)}</td><td class="num">{round(s.points, 2):g}</td><td class="num">{s.max_points:g}</td><td class="num">{s.percent:.1f}</td><td>{link}</td></tr>')
    parts.append("</table>")
    for i, s in enumerate(scored.students):
        failed = [e for e in s.exercises if e.status != "passed"]
        if not failed:
            continue
        parts.append(f"<h3 id='s{i}'>{escape(s.student)}</h3>")
        if s.message:
            parts.append(f"<p class='failed'>{escape(s.message)}</p>")
        for e in failed:
            parts.append(f"<h4>{escape(e.id)} — {escape(e.status.replace('_', ' '))}, {round(e.points, 2):g}/{e.max_points:g}</h4>")
            if e.result and e.result.message:
                parts.append(f"<p>{escape(e.result.message)}</p>")
            for p in e.properties:
                if p.result.status == "failed":
                    body = "\n".join(x for x in (p.result.message, p.result.counterexample, f"diagnosis: {p.result.diagnosis}" if p.result.diagnosis else "") if x)
                    parts.append(f"<p class='failed'>✗ {escape(p.result.statement or p.result.name)}</p><pre>{escape(body)}</pre>")
    parts.append("</body></html>")
    return "".join(parts)
