"""Find the reference's source in a folder: function bodies, restated statements and comments
of ``solutions/*.py``.

Three kinds of hit, all compared after normalization (``ast.unparse``: comments, docstrings
and layout gone; runs of white space collapsed), against every Python file as a whole (so
code pasted inside another function or a string is found too) and the white-space-collapsed
text of every other text file:

- a whole function body of the reference;
- a near-copy: at least ``MIN_RESTATED`` of one reference function's statements, and at least
  half of them (a body pasted with a line or two changed, a "mistake" written as the
  reference with one step altered);
- a comment of the reference (the solutions explain themselves; a copied explanation gives
  the code away as surely as the code).

Whatever a stub ships as well (a helper, a statement, a comment the students are given) and
text too short to be anyone's solution (``return x``, ``b, c, h, w = x.shape``) is not looked
for. Known mistakes written as the formula with a switch are not found unless they restate
the reference's own statements: the audit is about the reference's text, not its idea.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

MIN_BODY_CHARS = 40  # shorter normalized bodies (`return self.net(x)`) say nothing of a solution
MIN_STATEMENT_CHARS = 20  # shorter statements (`m = b // g`) are anyone's
MIN_RESTATED = 3  # statements of one function that make a near-copy (and at least half of them)
MIN_COMMENT_CHARS = 30  # shorter comments (`# (B, D)`) are anyone's
_BLOCKS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.While, ast.With, ast.Try)


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _is_docstring(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant) and isinstance(node.value.value, str)


def _functions(source: str) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(ast.parse(source)) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _body(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    body = node.body[1:] if node.body and _is_docstring(node.body[0]) else node.body
    return _squash(ast.unparse(ast.Module(body=body, type_ignores=[]))) if body else ""


def _statements(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """The simple statements of a function (nested blocks' too), normalized, in order, once each."""
    found = [_squash(ast.unparse(s)) for s in ast.walk(node) if isinstance(s, ast.stmt) and s is not node and not isinstance(s, _BLOCKS) and not _is_docstring(s)]
    return list(dict.fromkeys(found))


def _comments(source: str) -> list[str]:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    return [_squash(t.string.lstrip("#")) for t in tokens if t.type == tokenize.COMMENT]


@dataclass
class Wanted:
    """What the audit looks for, each with where it comes from ('solutions/<file>:<line> <function>')."""

    bodies: dict[str, str]
    statements: dict[str, list[str]]  # where -> the function's statements worth looking for
    comments: dict[str, str]


def reference_text(solutions: Path, stubs: Path | None = None) -> Wanted:
    """The reference's bodies, statements and comments worth looking for (less what the stubs ship)."""
    given_bodies: set[str] = set()
    given_statements: set[str] = set()
    given_comments: set[str] = set()
    for path in sorted(stubs.glob("*.py")) if stubs is not None and stubs.is_dir() else []:
        source = path.read_text(encoding="utf-8")
        for node in _functions(source):
            given_bodies.add(_body(node))
            given_statements.update(_statements(node))
        given_comments.update(_comments(source))
    wanted = Wanted({}, {}, {})
    for path in sorted(solutions.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        for node in _functions(source):
            where = f"solutions/{path.name}:{node.lineno} {node.name}"
            body = _body(node)
            if len(body) >= MIN_BODY_CHARS and body not in given_bodies:
                wanted.bodies.setdefault(body, where)
            statements = [s for s in _statements(node) if len(s) >= MIN_STATEMENT_CHARS and s not in given_statements]
            if len(statements) >= MIN_RESTATED:
                wanted.statements[where] = statements
        for comment in _comments(source):
            if len(comment) >= MIN_COMMENT_CHARS and comment not in given_comments:
                wanted.comments.setdefault(comment, f"solutions/{path.name}")
    return wanted


def reference_bodies(solutions: Path, stubs: Path | None = None) -> dict[str, str]:
    """{normalized body: 'solutions/<file>:<line> <function>'} of the bodies worth looking for."""
    return reference_text(solutions, stubs).bodies


def _hits(wanted: Wanted, rel: str, code: str, raw: str) -> list[str]:
    """``code``: the normalized text bodies and statements are looked for in; ``raw``: the
    white-space-collapsed original, where comments survive."""
    hits = [f"{rel}: contains the body of {where}" for body, where in wanted.bodies.items() if body in code]
    bodies_found = {h.rsplit(" of ", 1)[1] for h in hits}
    for where, statements in wanted.statements.items():
        restated = sum(s in code for s in statements)
        if where not in bodies_found and restated >= MIN_RESTATED and 2 * restated >= len(statements):
            hits.append(f"{rel}: restates {restated} of the {len(statements)} statements of {where}")
    hits += [f"{rel}: contains a comment of {where} ({comment[:50]}…)" for comment, where in wanted.comments.items() if comment in raw]
    return hits


def find_reference_source(solutions: Path, folder: Path, stubs: Path | None = None) -> list[str]:
    """'<file>: <what of the reference it holds>' for every hit in ``folder``."""
    wanted = reference_text(solutions, stubs)
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
        code = text
        if path.suffix == ".py":
            try:
                code = ast.unparse(ast.parse(text))
            except SyntaxError:
                pass
        hits += _hits(wanted, rel, _squash(code), _squash(text))
    return hits
