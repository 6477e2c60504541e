"""`grade check-course`: the course author's check that every exercise is complete.

For every catalog exercise: a stub in ``exercises/<topic>.py`` that raises NotImplementedError
with a TODO; a reference in ``solutions/<topic>.py`` with the stub's signature and a docstring;
registered properties in both tiers; at least three known mistakes; a wrong implementation in
``tests/wrong/`` for every property. For the bank: every question links only catalog
exercises, and every exercise is linked by some question.

Stubs and solutions are read with ``ast``, never imported: the judge does not run course code
to check it. The properties and ``tests/wrong/`` are the grader's own code and are imported.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.core.bank import BankError, load_bank
from grader.core.catalog import EXERCISES, name_of, topic_of

MIN_MISTAKES = 3
TIERS = ("public", "hidden")
COURSE = "(course)"  # the group of findings that belong to no single exercise
BANK = "questions.yaml"


@dataclass(frozen=True)
class Finding:
    """One problem: the exercise (or group) it belongs to, where it is, and how to fix it."""

    group: str
    where: str  # "exercises/flows.py:52", a path, or a path and line
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def check_course(root: Path, *, registry: Mapping[str, Any] | None = None, caught_by: Mapping[tuple[str, str], Any] | None = None, exercise_ids: Iterable[str] | None = None) -> list[Finding]:
    """Every problem of the course at ``root``; the registry and CAUGHT_BY are loaded unless given."""
    ids = list(EXERCISES if exercise_ids is None else exercise_ids)
    findings: list[Finding] = []
    if registry is None:
        from grader.properties import load_all

        registry = load_all()
    if caught_by is None:
        caught_by, problems = load_caught_by()
        findings += problems
    sources = _Sources(root)
    for ex in ids:
        findings += sources.check_exercise(ex)
        findings += _check_registered(ex, registry, caught_by)
    findings += _check_strays(ids, registry, caught_by)
    findings += _check_bank(root, ids)
    return findings


def grouped(findings: list[Finding]) -> dict[str, list[Finding]]:
    """Findings by exercise, in catalog order; course-wide and bank groups last."""
    order = {ex: i for i, ex in enumerate(EXERCISES)}
    groups: dict[str, list[Finding]] = {}
    for f in sorted(findings, key=lambda f: (order.get(f.group, len(order)), f.group)):
        groups.setdefault(f.group, []).append(f)
    return groups


# ----------------------------------------------------------------------------- stubs and solutions


class _Sources:
    """Parsed topic modules of exercises/ and solutions/, each read once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.trees: dict[Path, tuple[ast.Module, list[str]] | Finding] = {}

    def module(self, folder: str, topic: str, ex: str) -> tuple[str, ast.Module | None, list[str], list[Finding]]:
        path = self.root / folder / f"{topic}.py"
        rel = f"{folder}/{topic}.py"
        if path not in self.trees:
            try:
                text = path.read_text(encoding="utf-8")
                self.trees[path] = (ast.parse(text, filename=rel), text.splitlines())
            except FileNotFoundError:
                self.trees[path] = Finding(ex, rel, f"does not exist; create it with the {folder[:-1]} of every {topic} exercise")
            except SyntaxError as exc:
                self.trees[path] = Finding(ex, f"{rel}:{exc.lineno or 0}", f"syntax error: {exc.msg}; fix it so the file parses")
            except (OSError, UnicodeDecodeError) as exc:
                self.trees[path] = Finding(ex, rel, f"cannot be read: {exc}")
        tree = self.trees[path]
        if isinstance(tree, Finding):
            # Reported once per exercise: each of the topic's exercises lacks its stub.
            return rel, None, [], [Finding(ex, tree.where, tree.message)]
        return rel, tree[0], tree[1], []

    def check_exercise(self, ex: str) -> list[Finding]:
        topic, name = topic_of(ex), name_of(ex)
        rel, tree, lines, findings = self.module("exercises", topic, ex)
        stub = _definition(tree, name) if tree else None
        if tree and stub is None:
            findings.append(Finding(ex, rel, f"has no stub for {name}; add `def {name}(...)` (or the class) with the catalog's signature, a docstring, a `# TODO(qN): ...` line and `raise NotImplementedError({ex!r})`"))
        if stub is not None:
            findings += _check_stub(ex, rel, stub, lines)
        if not (self.root / "solutions").is_dir():
            return [*findings, Finding(ex, "solutions/", "the folder does not exist; the course author's checkout needs the reference solutions")]
        srel, stree, _, sfindings = self.module("solutions", topic, ex)
        findings += sfindings
        solution = _definition(stree, name) if stree else None
        if stree and solution is None:
            findings.append(Finding(ex, srel, f"has no reference solution for {name}; add it with the stub's signature and a docstring"))
        if solution is not None:
            if not ast.get_docstring(solution):
                findings.append(Finding(ex, f"{srel}:{solution.lineno}", f"{name} has no docstring; give it the stub's contract (shapes, dtype, the questions)"))
            if stub is not None:
                findings += _compare_signatures(ex, rel, stub, srel, solution)
        return findings


def _definition(tree: ast.Module, name: str) -> ast.FunctionDef | ast.ClassDef | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name:
            return node
    return None


def _methods(node: ast.ClassDef) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in node.body if isinstance(n, ast.FunctionDef)}


def _raises_not_implemented(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Raise) and sub.exc is not None:
            exc = sub.exc.func if isinstance(sub.exc, ast.Call) else sub.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                return True
    return False


def _has_todo(node: ast.AST, lines: list[str]) -> bool:
    # Comments are not in the AST: read the definition's own source lines.
    return any("TODO" in line for line in lines[node.lineno - 1 : node.end_lineno])  # type: ignore[attr-defined]


def _check_stub(ex: str, rel: str, stub: ast.FunctionDef | ast.ClassDef, lines: list[str]) -> list[Finding]:
    findings = []
    where = f"{rel}:{stub.lineno}"
    if not ast.get_docstring(stub):
        findings.append(Finding(ex, where, f"the stub of {stub.name} has no docstring; state the formula, shapes, dtype and its questions"))
    bodies = list(_methods(stub).items()) if isinstance(stub, ast.ClassDef) else [(stub.name, stub)]
    if not bodies:
        findings.append(Finding(ex, where, f"the stub class {stub.name} defines no method; add `__init__` and `forward` that raise NotImplementedError({ex!r})"))
    for label, body in bodies:
        if not _raises_not_implemented(body):
            findings.append(Finding(ex, f"{rel}:{body.lineno}", f"{label} does not raise NotImplementedError; end the stub with `raise NotImplementedError({ex!r})` so it grades as not started"))
    if not _has_todo(stub, lines):
        findings.append(Finding(ex, where, f"the stub of {stub.name} has no TODO; add a `# TODO(qN): ...` line saying what to implement"))
    return findings


def _signature(fn: ast.FunctionDef) -> str:
    returns = f" -> {ast.unparse(fn.returns)}" if fn.returns else ""
    return f"({ast.unparse(fn.args)}){returns}"


def _compare_signatures(ex: str, rel: str, stub: ast.FunctionDef | ast.ClassDef, srel: str, solution: ast.FunctionDef | ast.ClassDef) -> list[Finding]:
    if type(stub) is not type(solution):
        kind = "a class" if isinstance(stub, ast.ClassDef) else "a function"
        return [Finding(ex, f"{srel}:{solution.lineno}", f"{stub.name} is {kind} in {rel}:{stub.lineno} but not in the solution; make both the same kind")]
    if isinstance(stub, ast.FunctionDef):
        pairs = [(stub.name, stub, solution)]
    else:
        # A class exercise's interface is the methods its stub asks for (__init__, forward, ...).
        theirs = _methods(solution)  # type: ignore[arg-type]
        pairs = []
        for method, node in _methods(stub).items():
            if method not in theirs:
                return [Finding(ex, f"{srel}:{solution.lineno}", f"{stub.name} has no method {method}, which the stub defines at {rel}:{node.lineno}; add it")]
            pairs.append((f"{stub.name}.{method}", node, theirs[method]))
    findings = []
    for label, mine, ref in pairs:
        if _signature(mine) != _signature(ref):  # type: ignore[arg-type]
            findings.append(Finding(ex, f"{srel}:{ref.lineno}", f"the signature of {label} differs from the stub's ({rel}:{mine.lineno}): stub {_signature(mine)}, solution {_signature(ref)}; make them identical, names, defaults and type hints included"))  # type: ignore[arg-type]
    return findings


# ----------------------------------------------------------------------------- properties, mistakes, wrong implementations


def load_caught_by() -> tuple[dict[tuple[str, str], Any], list[Finding]]:
    """Every CAUGHT_BY table of ``tests/wrong/`` (any depth) next to the grader package."""
    repo = Path(__file__).resolve().parent.parent
    folder = repo / "tests" / "wrong"
    if not (folder / "__init__.py").is_file():
        return {}, [Finding(COURSE, "tests/wrong/", f"not found in {repo}; run `grade check-course` from a checkout of genlab, which holds the wrong implementations")]
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    table: dict[tuple[str, str], Any] = {}
    problems: list[Finding] = []
    # Some wrong implementations import tests.harness, which imports every tests.wrong module:
    # importing the harness first (as pytest does) lets that cycle resolve.
    try:
        if (repo / "tests" / "harness.py").is_file():
            importlib.import_module("tests.harness")
        package = importlib.import_module("tests.wrong")
        for info in pkgutil.walk_packages(package.__path__, "tests.wrong."):
            table.update(getattr(importlib.import_module(info.name), "CAUGHT_BY", {}))
    except Exception as exc:  # a broken test module: say which, without a traceback
        problems.append(Finding(COURSE, "tests/", f"importing the wrong implementations failed ({type(exc).__name__}: {exc}); run `python -m pytest -q tests/test_properties.py -x` to see where"))
    return table, problems


def _properties_file(ex: str) -> str:
    return f"grader/properties/{topic_of(ex)}"


def _check_registered(ex: str, registry: Mapping[str, Any], caught_by: Mapping[tuple[str, str], Any]) -> list[Finding]:
    exercise = registry.get(ex)
    where = _properties_file(ex)
    if exercise is None:
        return [Finding(ex, where, f"no properties are registered; declare `Exercise({ex!r}, mistakes=[...])` and its properties (CONTRIBUTING.md, step 4)")]
    findings = []
    tiers = {p.tier for p in exercise.properties}
    for tier in TIERS:
        if tier not in tiers:
            need = "needs no reference: invariants, known answers, contracts" if tier == "public" else "compares with ctx.ref(...) on Hypothesis inputs"
            findings.append(Finding(ex, where, f"no {tier} property; add one with tier={tier!r} (it {need})"))
    if len(exercise.mistakes) < MIN_MISTAKES:
        findings.append(Finding(ex, where, f"{len(exercise.mistakes)} known mistake{'s' * (len(exercise.mistakes) != 1)}, at least {MIN_MISTAKES} needed; add `Mistake(name, message, wrong_impl)` for what students really get wrong"))
    for prop in exercise.properties:
        if (ex, prop.name) not in caught_by:
            findings.append(Finding(ex, f"tests/wrong/{topic_of(ex)}", f"property {prop.name} has no wrong implementation; add `CAUGHT_BY[({ex!r}, {prop.name!r})] = wrong_impl` that it must fail"))
    return findings


def _check_strays(ids: list[str], registry: Mapping[str, Any], caught_by: Mapping[tuple[str, str], Any]) -> list[Finding]:
    """Properties and wrong implementations that name no catalog exercise or property."""
    findings = []
    for ex in registry:
        if ex not in ids:
            findings.append(Finding(ex, _properties_file(ex), f"registers exercise {ex}, which is not in grader/core/catalog.py; add it to the catalog or remove it"))
    for ex, prop in caught_by:
        exercise = registry.get(ex)
        if ex not in ids and ex not in registry:
            findings.append(Finding(ex, f"tests/wrong/{topic_of(ex)}", f"CAUGHT_BY names exercise {ex}, which is not in grader/core/catalog.py; fix the id or remove the entry"))
        elif exercise is not None and all(p.name != prop for p in exercise.properties):
            findings.append(Finding(ex, f"tests/wrong/{topic_of(ex)}", f"CAUGHT_BY names property {prop!r}, which {ex} does not have; rename or remove the entry"))
    return findings


# ----------------------------------------------------------------------------- questions


def _check_bank(root: Path, ids: list[str]) -> list[Finding]:
    try:
        bank = load_bank(root / "questions.yaml", exercise_ids=set(ids))
    except BankError as exc:
        return [Finding(BANK, f"{BANK}:{p.line}", f"{p.field}: {p.message}") for p in exc.problems]
    linked = {ex for q in bank.questions for ex in q.exercises}
    return [
        Finding(ex, BANK, f"no question links {ex}; add {ex} to the `exercises:` of the question(s) it belongs to (EXERCISES.md lists them)")
        for ex in ids
        if ex not in linked
    ]


def report_lines(findings: list[Finding], exercise_count: int) -> list[str]:
    """The findings, one line each under their exercise, then a one-line summary."""
    groups = grouped(findings)
    lines = []
    for group, items in groups.items():
        lines.append(f"{group}:")
        lines += [f"  {f}" for f in items]
    if findings:
        lines.append(f"{len(findings)} problem{'s' * (len(findings) != 1)} in {len(groups)} group{'s' * (len(groups) != 1)} ({exercise_count} exercises checked).")
    else:
        lines.append(f"course OK: {exercise_count} exercises, each with a stub, a solution of the same signature, public and hidden properties, at least {MIN_MISTAKES} known mistakes and a wrong implementation per property; every question links existing exercises.")
    return lines
