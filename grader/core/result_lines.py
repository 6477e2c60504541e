"""One exercise result as lines of text: what `grade` prints and the TUI draws, written once.

A line is a CSS-like kind (the TUI's class for it) and styled segments (the CLI's Rich
styles); the labels come in the reader's language. The header line differs between the two
(the CLI adds the duration, the TUI translates the verdict), so each front end writes its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.core.results import ExerciseResult

Segment = tuple[str, str]  # (Rich style or "", text)

MARKS: dict[str, Segment] = {"passed": ("green", "✓"), "failed": ("red", "✗"), "skipped": ("yellow", "○"), "not_run": ("dim", "·")}
OUTPUT_LINES = 40  # lines of the submission's printed output shown


@dataclass(frozen=True)
class Words:
    """The labels of a result, in one language."""

    hidden: str = "(hidden)"
    minimal: str = "minimal failing input:"
    diagnosis: str = "diagnosis:"
    stopped: str = "stopped:"
    printed: str = "your code printed:"
    raised_at: str = "where your code raised:"


@dataclass(frozen=True)
class Line:
    kind: str  # passed failed skipped not_run detail counterexample diagnosis
    segments: tuple[Segment, ...]

    @property
    def text(self) -> str:
        return "".join(text for _style, text in self.segments)


def _line(kind: str, *segments: Segment | str) -> Line:
    return Line(kind, tuple(("", s) if isinstance(s, str) else s for s in segments))


def body_lines(r: ExerciseResult, words: Words) -> list[Line]:
    """Everything below an exercise's header: a line per property, failures explained."""
    lines: list[Line] = []
    if r.status in ("not_implemented", "error"):
        lines.append(_line("failed", "  ", ("red", "✗"), f" {r.message}"))
    else:
        for p in r.properties:
            tier: tuple[Segment | str, ...] = (("dim", words.hidden), " ") if p.tier == "hidden" else ()
            lines.append(_line(p.status, "  ", MARKS[p.status], " ", *tier, p.statement))
            if p.status == "failed":
                lines += [_line("detail", f"      {text}") for text in p.message.splitlines()]
                if p.counterexample:
                    lines.append(_line("detail", "      ", ("dim", words.minimal)))
                    lines += [_line("counterexample", f"        {text}") for text in p.counterexample.splitlines()]
                if p.trace:
                    lines.append(_line("detail", "      ", ("dim", words.raised_at)))
                    lines += [_line("counterexample", f"        {text}") for text in p.trace.splitlines()]
                if p.diagnosis:
                    lines.append(_line("diagnosis", "      ", ("yellow", words.diagnosis), f" {p.diagnosis}"))
            elif p.status == "skipped" and p.message:
                lines.append(_line("detail", "      ", ("dim", p.message)))
        if r.status in ("timed_out", "out_of_memory", "crashed"):
            lines.append(_line("failed", "  ", ("red", words.stopped), f" {r.message}"))
    if r.output.strip():
        lines.append(_line("detail", "  ", ("dim", words.printed)))
        lines += [_line("detail", "  ", ("dim", "│"), f" {text}") for text in r.output.rstrip().splitlines()[:OUTPUT_LINES]]
    return lines
