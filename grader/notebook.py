"""Jupyter notebooks as submissions: the catalog's definitions become topic modules.

Nothing of the notebook runs on the judge's side: its code cells are only parsed (``ast``,
``symtable``). For each topic, the module keeps the top-level definitions the catalog names
(``flows.log_prob`` -> ``def log_prob``), plus every import, helper and constant they use,
transitively, in notebook order. Everything else (cells that train, download or plot, shell
and magic lines) is dropped, so it never runs in the worker either. The modules are written
to a temporary folder that is then graded exactly like a folder of topic modules.

Rules (see the README section "Notebooks"):
- a topic is graded when the notebook defines one of its names; a catalog name of that topic
  the notebook lacks grades as "not implemented", like an untouched stub. A name two topics
  share (``causal_mask``, ``sample``) counts for a topic only if the notebook defines a name
  unique to it, or none of the other topic's unique names;
- a definition the modules need that appears in two cells is an error naming both cells;
- cells are numbered from 1 counting every cell, markdown included, as Jupyter shows them;
  locations in reports read "work.ipynb, cell 7, line 3".
"""

from __future__ import annotations

import ast
import re
import shutil
import symtable
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.catalog import EXERCISES, TOPICS, exercises_of_topic, name_of, topic_of
from grader.errors import UsageError

TEMP_PREFIX = "genlab-notebook-"
# `x = !ls`, `out = %timeit f()`: IPython's assignment forms of shell and magic lines.
_ASSIGNED_MAGIC = re.compile(r"^\s*[\w.,\s]+=\s*[!%]")
_KEPT_KINDS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign)


@dataclass
class Statement:
    """One top-level statement of a code cell that may go into a module."""

    cell: int  # 1-based, counting every cell
    node: ast.stmt
    lines: list[str]  # its source lines as written in the cell
    first_line: int  # line of lines[0] inside the cell
    binds: set[str]
    uses: set[str]
    order: int


@dataclass
class Module:
    topic: str
    source: str
    lines: dict[int, tuple[int, int]]  # module line -> (cell, line in the cell)
    missing: list[str]  # catalog names graded as not implemented
    stubs: dict[int, str] = field(default_factory=dict)  # module line -> the missing name it stands for


@dataclass
class NotebookSubmission:
    """A notebook turned into a folder of topic modules; close() removes the folder."""

    path: Path
    folder: Path
    modules: dict[str, Module] = field(default_factory=dict)
    cell_format: str = "{name}, cell {cell}"  # how a location names a cell (IPython: "In [{cell}]")

    def select(self, exercise_ids: list[str]) -> tuple[list[str], list[str]]:
        """The exercises this notebook can be graded on, and notes for the others."""
        kept = [e for e in exercise_ids if topic_of(e) in self.modules]
        notes = []
        for topic in dict.fromkeys(topic_of(e) for e in exercise_ids if e not in kept):
            names = ", ".join(name_of(e) for e in exercises_of_topic(topic))
            notes.append(f"{self.path.name} has none of {topic}'s names ({names}): {topic} not graded")
        return kept, notes

    def locate(self, text: str) -> str:
        """Rewrite locations in the generated modules as notebook cells and lines."""
        if not text:
            return text

        def cell_of(topic: str, line: int) -> str | None:
            module = self.modules.get(topic)
            if module is None:
                return None
            if line in module.lines:
                cell, cell_line = module.lines[line]
                return self.cell_format.format(name=self.path.name, cell=cell) + f", line {cell_line}"
            if line in module.stubs:
                return f"{self.path.name} has no top-level definition of {module.stubs[line]}"
            return None

        folder = re.escape(self.folder.name)
        text = re.sub(rf"\S*{folder}[/\\](\w+)\.py:(\d+)", lambda m: cell_of(m[1], int(m[2])) or m[0], text)
        return re.sub(r"\((\w+)\.py, line (\d+)\)", lambda m: f"({cell_of(m[1], int(m[2])) or m[0][1:-1]})", text)

    def relocate(self, report: Any) -> None:
        """Apply ``locate`` to every message of a grading report, in place."""
        for result in report.exercises:
            self.relocate_result(result)

    def relocate_result(self, result: Any) -> None:
        """Apply ``locate`` to every message of one exercise result, in place (idempotent)."""
        result.message = self.locate(result.message)
        result.output = self.locate(result.output)
        for prop in result.properties:
            prop.message = self.locate(prop.message)
            prop.counterexample = self.locate(prop.counterexample)
            prop.trace = self.locate(prop.trace)
            if prop.diagnosis:
                prop.diagnosis = self.locate(prop.diagnosis)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> NotebookSubmission:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_notebook(path: Path) -> NotebookSubmission:
    """Parse a notebook and write its topic modules to a fresh temporary folder."""
    modules = build_modules(path)
    folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    from grader.sandbox import worker_user

    if worker_user() is not None:
        folder.chmod(0o755)  # workers run as another user (GENLAB_WORKER_USER) and must read it
    for module in modules.values():
        (folder / f"{module.topic}.py").write_text(module.source, encoding="utf-8")
    return NotebookSubmission(path, folder.resolve(), modules)


def read_cells(path: Path) -> list[tuple[int, str]]:
    """(cell number, source) of every code cell; a UsageError when the file is no notebook."""
    import nbformat

    try:
        notebook = nbformat.read(str(path), as_version=4)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such notebook; pass the .ipynb file that holds your definitions") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the notebook ({exc.strerror})") from None
    except Exception as exc:  # nbformat raises several unrelated types for a broken file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"{path}: not a valid Jupyter notebook ({first}); save it again from Jupyter, or export it with File → Download → .ipynb") from None
    cells = getattr(notebook, "cells", None)
    if not isinstance(cells, list):
        raise UsageError(f"{path}: not a valid Jupyter notebook (it has no list of cells)")
    return [(number, _text(cell.get("source", ""))) for number, cell in enumerate(cells, 1) if cell.get("cell_type") == "code"]


def open_cells(path: Path, cells: list[tuple[int, str]], *, cell_format: str, live: bool, available: set[str] | None = None) -> NotebookSubmission:
    """Like ``open_notebook``, from cells given directly (an IPython session's history)."""
    modules = build_modules_from_cells(path, cells, live=live, available=available)
    folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
    for module in modules.values():
        (folder / f"{module.topic}.py").write_text(module.source, encoding="utf-8")
    return NotebookSubmission(path, folder.resolve(), modules, cell_format)


def build_modules(path: Path) -> dict[str, Module]:
    """The topic modules of a notebook, keyed by topic (only topics it defines names of)."""
    return build_modules_from_cells(path, read_cells(path))


def build_modules_from_cells(path: Path, cells: list[tuple[int, str]], *, live: bool = False, available: set[str] | None = None) -> dict[str, Module]:
    """The topic modules of some code cells, keyed by topic.

    ``live``: the cells are a running session's history, where a definition run again later
    replaces the earlier one (the latest wins, no duplicate error) and a cell that did not
    parse defined nothing (skipped). ``available``: catalog names the session still has
    (a name deleted since counts as missing)."""
    statements = _statements(path, cells, skip_broken=live)
    defined: dict[str, list[Statement]] = {}
    for statement in statements:
        for name in statement.binds:
            defined.setdefault(name, []).append(statement)
    if available is not None:
        catalog = {name_of(e) for e in EXERCISES}
        defined = {n: s for n, s in defined.items() if n not in catalog or n in available}
    modules = {}
    for topic in _topics(set(defined)):
        names = [name_of(e) for e in exercises_of_topic(topic)]
        present = [n for n in names if n in defined]
        # `from __future__` imports change how the whole module compiles: always kept.
        future = [s for s in statements if isinstance(s.node, ast.ImportFrom) and s.node.module == "__future__"]
        kept = sorted({s.order: s for s in future + _closure(path, present, defined, latest_wins=live)}.values(), key=lambda s: s.order)
        modules[topic] = _render(path, topic, kept, [n for n in names if n not in defined])
    return modules


def _text(source: object) -> str:
    return "".join(source) if isinstance(source, list) else str(source)


def _strip_magics(source: str) -> str:
    """Blank out cell magics (the whole cell) and shell/magic lines, keeping line numbers.

    Only lines that start a statement count: a `%` that continues an expression inside
    brackets (`("%d" \n % n)`) or a line inside a triple-quoted string is Python."""
    lines = source.split("\n")
    if lines and lines[0].lstrip().startswith("%%"):
        return "\n" * (len(lines) - 1)
    out = []
    state = _Scan()
    for line in lines:
        stripped = line.lstrip()
        at_start = state.depth == 0 and state.quote is None and not state.continued
        if at_start and (stripped.startswith(("%", "!")) or _ASSIGNED_MAGIC.match(line)):
            # `pass` at the same indentation keeps a block that held only this line valid.
            out.append(line[: len(line) - len(stripped)] + "pass")
        else:
            state.feed(line)
            out.append(line)
    return "\n".join(out)


class _Scan:
    """Just enough of Python's tokenizer to know whether the next line starts a statement."""

    def __init__(self) -> None:
        self.depth = 0  # open brackets
        self.quote: str | None = None  # the open triple quote, if any
        self.continued = False  # the last line ended with a backslash

    def feed(self, line: str) -> None:
        i, single = 0, None
        while i < len(line):
            if self.quote is not None:
                if line.startswith(self.quote, i):
                    i, self.quote = i + 3, None
                    continue
                i += 2 if line[i] == "\\" else 1
                continue
            char = line[i]
            if single is not None:
                i += 2 if char == "\\" else 1
                if char == single:
                    single = None
                continue
            if char == "#":
                break
            if line.startswith(('"""', "'''"), i):
                self.quote, i = line[i : i + 3], i + 3
                continue
            if char in "\"'":
                single = char
            elif char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(0, self.depth - 1)
            i += 1
        self.continued = self.quote is None and line.rstrip().endswith("\\")


def _statements(path: Path, cells: list[tuple[int, str]], *, skip_broken: bool = False) -> list[Statement]:
    found: list[Statement] = []
    for number, raw in cells:
        source = _strip_magics(raw)
        try:
            tree = compile(source, f"{path.name}, cell {number}", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
        except SyntaxError as exc:
            if skip_broken:
                continue
            raise UsageError(_syntax_message(path, number, exc.lineno, exc.msg, exc.text)) from None
        lines = source.split("\n")
        for node in tree.body:
            if not _keepable(node):
                continue
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            text = _segment(lines, node, first)
            try:
                table = symtable.symtable("\n".join(text), "<cell>", "exec")
            except SyntaxError as exc:
                line = first + (exc.lineno or 1) - 1
                raise UsageError(_syntax_message(path, number, line, exc.msg, lines[line - 1] if line <= len(lines) else "")) from None
            binds = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
            found.append(Statement(number, node, text, first, binds, _uses(table), len(found)))
    return found


def _keepable(node: ast.stmt) -> bool:
    """Definitions, imports and assignments; an `if`/`try` made only of those (device or
    optional-import choices). Loops, calls and `with` blocks are what trains and plots."""
    if isinstance(node, ast.AnnAssign):
        return node.value is not None and isinstance(node.target, ast.Name)
    if isinstance(node, ast.Assign):
        return all(isinstance(t, (ast.Name, ast.Tuple)) and all(isinstance(e, ast.Name) for e in getattr(t, "elts", [t])) for t in node.targets)
    if isinstance(node, _KEPT_KINDS):
        return True
    if isinstance(node, (ast.If, ast.Try)):
        inner = list(node.body) + list(node.orelse) + list(getattr(node, "finalbody", [])) + [s for h in getattr(node, "handlers", []) for s in h.body]
        return all(isinstance(s, ast.Pass) or _keepable(s) for s in inner)
    return False


def _segment(lines: list[str], node: ast.stmt, first: int) -> list[str]:
    """The statement's own lines; a statement sharing a line (`a = 1; b = 2`) is cut out."""
    text = lines[first - 1 : node.end_lineno]
    if node.end_col_offset is not None:  # offsets count UTF-8 bytes; cut the end first
        text[-1] = text[-1].encode()[: node.end_col_offset].decode(errors="ignore")
    if first == node.lineno and node.col_offset:
        text[0] = text[0].encode()[node.col_offset :].decode(errors="ignore")
    return text


def _uses(table: symtable.SymbolTable) -> set[str]:
    """Global names a statement reads: at module level, and inside its functions and classes."""
    names = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    stack = list(table.get_children())
    while stack:
        child = stack.pop()
        names |= {s.get_name() for s in child.get_symbols() if s.is_global() and s.is_referenced()}
        stack += child.get_children()
    return names


def _topics(defined: set[str]) -> list[str]:
    owners: dict[str, list[str]] = {}
    for exercise in EXERCISES:
        owners.setdefault(name_of(exercise), []).append(topic_of(exercise))
    unique = {t for t in TOPICS if any(name_of(e) in defined and len(owners[name_of(e)]) == 1 for e in exercises_of_topic(t))}
    topics = []
    for topic in TOPICS:
        shared = [name_of(e) for e in exercises_of_topic(topic) if name_of(e) in defined and len(owners[name_of(e)]) > 1]
        if topic in unique or any(not any(o in unique for o in owners[n] if o != topic) for n in shared):
            topics.append(topic)
    return topics


def _closure(path: Path, roots: list[str], defined: dict[str, list[Statement]], *, latest_wins: bool = False) -> list[Statement]:
    """The statements defining ``roots`` and, transitively, every top-level name they use."""
    kept: dict[int, Statement] = {}
    todo = list(roots)
    seen = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in defined:
            continue
        seen.add(name)
        statements = defined[name]
        definitions = [s for s in statements if not isinstance(s.node, (ast.Import, ast.ImportFrom))]
        cells = sorted({s.cell for s in definitions})
        if len(cells) > 1 and latest_wins:
            # A live session: the cell run last holds the current definition.
            statements = [s for s in statements if s.cell == cells[-1] or s not in definitions]
        elif len(cells) > 1:
            listed = ", ".join(f"cell {c}" for c in cells[:-1]) + f" and cell {cells[-1]}"
            raise UsageError(f"{path.name}: `{name}` is defined in {listed}; keep one definition (delete or rename the others) so that the grader knows which one to grade")
        for statement in statements:
            if statement.order not in kept:
                kept[statement.order] = statement
                todo += sorted(statement.uses - statement.binds)
    return [kept[k] for k in sorted(kept)]


def _render(path: Path, topic: str, kept: list[Statement], missing: list[str]) -> Module:
    future = [s for s in kept if isinstance(s.node, ast.ImportFrom) and s.node.module == "__future__"]
    out = [f"# {topic}: generated by the grader from {path.name}; locations map back to its cells."]
    line_map: dict[int, tuple[int, int]] = {}
    for statement in future + [s for s in kept if s not in future]:
        out.append("")
        for offset, text in enumerate(statement.lines):
            out.append(text)
            line_map[len(out)] = (statement.cell, statement.first_line + offset)
    stubs = {}
    for name in missing:
        # Like an untouched stub of the course: grades as "not implemented yet".
        out += ["", "", f"def {name}(*args, **kwargs):", f"    raise NotImplementedError({f'{path.name} has no top-level definition of {name}'!r})"]
        stubs[len(out) - 1] = stubs[len(out)] = name
    return Module(topic, "\n".join(out) + "\n", line_map, missing, stubs)


def _syntax_message(path: Path, cell: int, line: int | None, message: str, text: str | None) -> str:
    shown = f"\n    {text.strip()}" if text and text.strip() else ""
    return f"{path.name}, cell {cell}, line {line or 1}: SyntaxError: {message}; fix the cell (it must also run in Jupyter){shown}"
