"""Strip ``@judge_only`` helpers (correct implementations) from the student copy's sources.

The body of every function or class decorated with ``judge_only`` (see
``grader.properties.judge_only``) is replaced by ``raise JudgeOnly(name)`` (a class keeps only
an ``__init__`` that raises). The rewrite is textual, not ``ast.unparse``: every other
character of the file stays as it was, because Hypothesis derandomizes a property from its
source text, and the student copy must draw the inputs the reference's answers were recorded on.
"""

from __future__ import annotations

import ast
from pathlib import Path

IMPORT = "from grader.properties.judge_only import JudgeOnly"


def _is_marker(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Name) and target.id == "judge_only") or (isinstance(target, ast.Attribute) and target.attr == "judge_only")


def marked(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef]:
    """The definitions decorated with ``judge_only``, outermost first."""
    found = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and any(_is_marker(d) for d in n.decorator_list)]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def _offsets(source: str) -> list[int]:
    """Character offset of the start of each line (1-based line numbers index it from 1)."""
    starts, total = [0, 0], 0
    for line in source.splitlines(keepends=True):
        total += len(line)
        starts.append(total)
    return starts


def strip_source(source: str) -> tuple[str, list[str]]:
    """``source`` with the bodies of its ``@judge_only`` definitions replaced; and their names."""
    tree = ast.parse(source)
    nodes = marked(tree)
    outermost = [n for n in nodes if not any(o is not n and o.lineno <= n.lineno and n.end_lineno <= o.end_lineno for o in nodes)]  # type: ignore[operator]
    if not outermost:
        return source, []
    starts = _offsets(source)
    # ast's col_offset counts UTF-8 bytes; convert through the line's bytes.
    def at(line: int, col: int) -> int:
        text = source[starts[line] : starts[line + 1]] if line + 1 < len(starts) else source[starts[line] :]
        return starts[line] + len(text.encode("utf-8")[:col].decode("utf-8"))

    out = source
    for node in reversed(outermost):  # from the end, so earlier offsets stay valid
        first, last = node.body[0], node.body[-1]
        begin, end = at(first.lineno, first.col_offset), at(last.end_lineno, last.end_col_offset)  # type: ignore[arg-type]
        line = first.lineno
        while line - 1 > node.lineno and source[starts[line - 1] : starts[line]].strip().startswith("#"):
            line -= 1  # comments that open the body explain it: they go too
        if line != first.lineno:
            begin = starts[line] + first.col_offset
        raising = f"raise JudgeOnly({node.name!r})"
        if isinstance(node, ast.ClassDef):
            if first.lineno == node.lineno:
                raise ValueError(f"line {node.lineno}: put the body of the @judge_only class {node.name} on its own lines")
            indent = " " * first.col_offset
            raising = f"def __init__(self, *args, **kwargs):\n{indent}    {raising}"
        out = out[:begin] + raising + out[end:]
    if IMPORT not in out:
        out = _add_import(out)
    return out, [n.name for n in outermost]


def _add_import(source: str) -> str:
    """The import of JudgeOnly, after the module's docstring and ``from __future__`` imports."""
    tree = ast.parse(source)
    line = 0
    for node in tree.body:
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)) or (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            line = node.end_lineno or 0
            continue
        break
    lines = source.splitlines(keepends=True)
    return "".join(lines[:line]) + IMPORT + "\n" + "".join(lines[line:])


def strip_folder(folder: Path) -> dict[str, list[str]]:
    """Rewrite every ``.py`` file under ``folder`` in place; {relative path: stripped names}."""
    stripped = {}
    for path in sorted(folder.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        if "judge_only" not in source:
            continue
        new, names = strip_source(source)
        if names:
            path.write_text(new, encoding="utf-8")
            stripped[path.relative_to(folder).as_posix()] = names
    return stripped


def _only_raises(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    if isinstance(node, ast.ClassDef):
        return len(node.body) == 1 and isinstance(node.body[0], ast.FunctionDef) and node.body[0].name == "__init__" and _only_raises(node.body[0])
    return len(node.body) == 1 and isinstance(node.body[0], ast.Raise)


def surviving(folder: Path) -> list[str]:
    """'<file>:<line> <name>' for every ``@judge_only`` definition under ``folder`` whose body
    does more than raise (a student copy should have none)."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        if "judge_only" in source:
            found += [f"{path.relative_to(folder).as_posix()}:{n.lineno} {n.name}" for n in marked(ast.parse(source)) if not _only_raises(n)]
    return found
