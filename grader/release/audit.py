"""Find the reference's source in a folder: every function body of ``solutions/*.py``, normalized.

A body is compared after ``ast.unparse`` (comments, docstrings and layout gone) with runs of
white space collapsed, against the same normalization of every Python file (as a whole, so a
body pasted inside another function or a string is found too) and the white-space-collapsed
text of every other text file. Bodies a stub ships as well (a helper the students are given)
and bodies too short to be anyone's solution (``return x``) are not looked for.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

MIN_BODY_CHARS = 40  # shorter normalized bodies (`return self.net(x)`) say nothing of a solution


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _bodies(source: str) -> list[tuple[str, int, str]]:
    """(function name, line, normalized body without its docstring) of every def in a module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
                body = body[1:]
            if body:
                found.append((node.name, node.lineno, _squash(ast.unparse(ast.Module(body=body, type_ignores=[])))))
    return found


def reference_bodies(solutions: Path, stubs: Path | None = None) -> dict[str, str]:
    """{normalized body: 'solutions/<file>:<line> <function>'} of the bodies worth looking for."""
    given = set()
    if stubs is not None and stubs.is_dir():
        given = {body for path in stubs.glob("*.py") for _, _, body in _bodies(path.read_text(encoding="utf-8"))}
    wanted = {}
    for path in sorted(solutions.glob("*.py")):
        for name, line, body in _bodies(path.read_text(encoding="utf-8")):
            if len(body) >= MIN_BODY_CHARS and body not in given:
                wanted.setdefault(body, f"solutions/{path.name}:{line} {name}")
    return wanted


def find_reference_source(solutions: Path, folder: Path, stubs: Path | None = None) -> list[str]:
    """'<file>: contains the body of solutions/<file>:<line> <function>' for every hit in ``folder``."""
    wanted = reference_bodies(solutions, stubs)
    hits = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if path.suffix == ".pyc" or "solutions" in path.relative_to(folder).parts:
            hits.append(f"{rel}: a copy of the solutions (compiled or in a solutions/ folder)")
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary (the recorded answers are tensors, not code)
        if path.suffix == ".py":
            try:
                text = ast.unparse(ast.parse(text))
            except SyntaxError:
                pass
        squashed = _squash(text)
        hits += [f"{rel}: contains the body of {where}" for body, where in wanted.items() if body in squashed]
    return hits
