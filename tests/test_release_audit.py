"""The audit of a student copy (grader/release/audit.py): what of the reference it finds, what it
leaves alone, and that the course's own shipped folders hold none of the reference's text
(the whole release is built and audited in tests/test_release.py, which is slow)."""

from __future__ import annotations

import ast
import shutil

from grader.release.audit import find_reference_source
from grader.release.build import COPIED
from tests.cli_helpers import ROOT

SOLUTIONS, STUBS = ROOT / "solutions", ROOT / "exercises"


def _source_of(topic: str, name: str) -> str:
    source = (SOLUTIONS / f"{topic}.py").read_text(encoding="utf-8")
    node = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef) and n.name == name)
    return ast.get_source_segment(source, node) or ""


def test_a_near_copy_with_one_line_changed_is_found(tmp_path) -> None:
    """A "mistake" written as the reference with one step altered is not the reference's body,
    but it restates most of its statements."""
    source = ast.unparse(ast.parse(_source_of("gan", "minibatch_stddev")))  # without its comments: those are found apart
    changed = source.replace("(var + eps).sqrt()", "var.sqrt() + eps").replace("def minibatch_stddev(", "def _eps_outside(")
    assert changed.count("var.sqrt() + eps") == 1
    (tmp_path / "mistakes.py").write_text("import torch\n\n\n" + changed + "\n")
    hits = find_reference_source(SOLUTIONS, tmp_path, stubs=STUBS)
    assert len(hits) == 1 and hits[0].startswith("mistakes.py: restates ") and "statements of solutions/gan.py:" in hits[0] and "minibatch_stddev" in hits[0], hits


def test_a_copied_comment_is_found_in_any_text_file(tmp_path) -> None:
    comment = next(line.split("#", 1)[1].strip() for line in (SOLUTIONS / "metrics.py").read_text().splitlines() if "#" in line and len(line.split("#", 1)[1]) > 60)
    (tmp_path / "notes.md").write_text(f"Why it works:\n\n> {comment}\n")
    hits = find_reference_source(SOLUTIONS, tmp_path, stubs=STUBS)
    assert hits == [f"notes.md: contains a comment of solutions/metrics.py ({comment[:50]}…)"], hits


def test_common_lines_and_what_the_stubs_ship_are_not_flagged(tmp_path) -> None:
    """Unpacking a shape, a stub's own text, two restated lines of a long function: no hit."""
    source = _source_of("gan", "minibatch_stddev")
    statements = [line.strip() for line in source.splitlines() if "=" in line and "#" not in line and "def " not in line][:2]
    body = "\n".join(f"    {s}" for s in statements)
    (tmp_path / "helpers.py").write_text(f"def helper(x, group_size=4):\n    b, c, h, w = x.shape\n{body}\n    return b\n")
    shutil.copy(STUBS / "gan.py", tmp_path / "gan_stub.py")
    assert find_reference_source(SOLUTIONS, tmp_path, stubs=STUBS) == []


def test_the_shipped_part_of_the_course_holds_no_reference_text(tmp_path) -> None:
    """What `grade release` copies (grader, tui, stubs, README, bank, docs), audited as it is in
    this checkout: no body, near-copy or comment of the reference (the property modules and
    their known mistakes included)."""
    for item in COPIED:
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, tmp_path / item, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        elif source.is_file():
            shutil.copy(source, tmp_path / item)
    assert find_reference_source(SOLUTIONS, tmp_path, stubs=STUBS) == []
