"""`grade export` and `grade --format junit|gradescope|prairielearn|classroom`: pick the format module, write."""

from __future__ import annotations

from pathlib import Path

from grader.errors import UsageError
from grader.exports import classroom, csv_format, gradescope, json_format, junit, prairielearn
from grader.exports.classdata import ScoredClass, score_class
from grader.exports.outdir import read_outdir
from grader.exports.policy import Policy

CLASS_FORMATS = {"csv": csv_format.render, "json": json_format.render, "junit": junit.render}
STUDENT_FORMATS = {"gradescope": gradescope.render, "prairielearn": prairielearn.render, "classroom": classroom.render}


def render_single(scored: ScoredClass, fmt: str) -> str:
    """The document for one run (a class of one) on stdout."""
    if fmt in CLASS_FORMATS:
        return CLASS_FORMATS[fmt](scored)
    return STUDENT_FORMATS[fmt](scored.students[0], scored)


def _safe_name(student: str) -> str:
    # Student names come from folder names; keep them from escaping the output folder.
    name = student.replace("/", "_").replace("\\", "_")
    return "_" + name if name in ("", ".", "..") else name


def export(outdir: Path, fmt: str, output: Path, policy: Policy) -> list[Path]:
    """Write the class in ``fmt``: one file for csv/json/junit, else ``output/<student>/results.json``."""
    scored = score_class(read_outdir(outdir), policy)
    try:
        if fmt in CLASS_FORMATS:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(CLASS_FORMATS[fmt](scored), encoding="utf-8")
            return [output]
        if output.exists() and not output.is_dir():
            raise UsageError(f"--output {output}: {fmt} writes a folder (one results.json per student); pass a folder path")
        written = []
        for s in scored.students:
            path = output / _safe_name(s.student) / "results.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(STUDENT_FORMATS[fmt](s, scored), encoding="utf-8")
            written.append(path)
        return written
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None
