"""`grade check-course`: passes on the course, and on broken copies names the file and the fix."""

from __future__ import annotations

import ast
import copy
import shutil
from pathlib import Path

import pytest

from grader.catalog import EXERCISES
from grader.course_check import Finding, check_course, load_caught_by, report_lines
from grader.properties import load_all
from tests.cli_helpers import ROOT, run_grade

REGISTRY = load_all()
CAUGHT_BY, LOAD_PROBLEMS = load_caught_by()


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A private copy of the course: stubs, solutions and the question bank."""
    for folder in ("exercises", "solutions"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "questions.yaml", tmp_path / "questions.yaml")
    return tmp_path


def check(root: Path, **overrides: object) -> list[Finding]:
    return check_course(root, **{"registry": REGISTRY, "caught_by": CAUGHT_BY, **overrides})  # type: ignore[arg-type]


def remove_definition(path: Path, name: str) -> None:
    """Delete a top-level function or class from a module, keeping every other line."""
    text = path.read_text(encoding="utf-8")
    node = next(n for n in ast.parse(text).body if getattr(n, "name", None) == name)
    lines = text.splitlines(keepends=True)
    path.write_text("".join(lines[: node.lineno - 1] + lines[node.end_lineno :]), encoding="utf-8")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, start: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line.startswith(start))


def test_the_wrong_implementations_load() -> None:
    assert LOAD_PROBLEMS == []
    assert len(CAUGHT_BY) >= sum(len(ex.properties) for ex in REGISTRY.values())


def test_the_course_passes_every_check() -> None:
    findings = check(ROOT)
    assert findings == [], "\n".join(report_lines(findings, len(EXERCISES)))


def test_a_missing_stub_is_named_with_its_file_and_the_fix(course: Path) -> None:
    remove_definition(course / "exercises" / "flows.py", "log_prob")
    (finding,) = check(course)
    assert finding.group == "flows.log_prob"
    assert finding.where == "exercises/flows.py"
    assert "has no stub for log_prob" in finding.message
    assert "raise NotImplementedError('flows.log_prob')" in finding.message


def test_a_missing_topic_module_is_reported_for_each_of_its_exercises(course: Path) -> None:
    (course / "exercises" / "vq.py").unlink()
    findings = check(course)
    assert [(f.group, f.where) for f in findings] == [("vq.vector_quantize", "exercises/vq.py")]
    assert "does not exist; create it" in findings[0].message


def test_a_stub_that_computes_something_is_reported(course: Path) -> None:
    stub = course / "exercises" / "flows.py"
    edit(stub, '    # TODO(q44): undo the transforms, last first.\n    raise NotImplementedError("flows.sample")', "    return z")
    findings = check(course)
    line = line_of(stub, "def sample(")
    assert {(f.where, f.message.split(";")[0]) for f in findings} == {
        (f"exercises/flows.py:{line}", "sample does not raise NotImplementedError"),
        (f"exercises/flows.py:{line}", "the stub of sample has no TODO"),
    }


def test_a_solution_whose_signature_differs_is_named_with_both_signatures(course: Path) -> None:
    solution = course / "solutions" / "flows.py"
    edit(solution, "def log_prob(x: Tensor, transforms: Sequence[nn.Module]) -> Tensor:", "def log_prob(x: Tensor, flows: Sequence[nn.Module]) -> Tensor:")
    (finding,) = check(course)
    assert finding.group == "flows.log_prob"
    assert finding.where == f"solutions/flows.py:{line_of(solution, 'def log_prob(')}"
    assert "the signature of log_prob differs from the stub's (exercises/flows.py:" in finding.message
    assert "stub (x: Tensor, transforms: Sequence[nn.Module]) -> Tensor, solution (x: Tensor, flows: Sequence[nn.Module]) -> Tensor" in finding.message
    assert "make them identical" in finding.message


def test_a_class_solution_is_compared_method_by_method(course: Path) -> None:
    solution = course / "solutions" / "flows.py"
    edit(solution, "    def inverse(self, y: Tensor) -> tuple[Tensor, Tensor]:", "    def inverse(self, y: Tensor, strict: bool = True) -> tuple[Tensor, Tensor]:")
    (finding,) = check(course)
    assert finding.group == "flows.AffineCoupling"
    assert "the signature of AffineCoupling.inverse differs" in finding.message


def test_a_solution_without_docstring_is_reported(course: Path) -> None:
    solution = course / "solutions" / "vq.py"
    text = solution.read_text(encoding="utf-8")
    fn = next(n for n in ast.parse(text).body if getattr(n, "name", None) == "vector_quantize")
    docstring = fn.body[0]
    lines = text.splitlines(keepends=True)
    solution.write_text("".join(lines[: docstring.lineno - 1] + lines[docstring.end_lineno :]), encoding="utf-8")
    (finding,) = check(course)
    assert finding.where == f"solutions/vq.py:{fn.lineno}"
    assert finding.message.startswith("vector_quantize has no docstring; give it the stub's contract")


def test_an_exercise_without_mistakes_is_reported(course: Path) -> None:
    bare = copy.copy(REGISTRY["flows.log_prob"])
    bare.mistakes = []
    (finding,) = check(course, registry={**REGISTRY, "flows.log_prob": bare})
    assert (finding.group, finding.where) == ("flows.log_prob", "grader/properties/flows")
    assert finding.message.startswith("0 known mistakes, at least 3 needed; add `Mistake(name, message, wrong_impl)`")


def test_an_exercise_with_one_tier_or_no_properties_is_reported(course: Path) -> None:
    public_only = copy.copy(REGISTRY["vq.vector_quantize"])
    public_only.properties = [p for p in public_only.properties if p.tier == "public"]
    hidden = [p.name for p in REGISTRY["vq.vector_quantize"].properties if p.tier == "hidden"]
    registry = {ex: e for ex, e in REGISTRY.items() if ex != "flows.sample"} | {"vq.vector_quantize": public_only}
    findings = check(course, registry=registry)
    assert [(f.group, f.message.split(";")[0]) for f in findings] == [
        ("vq.vector_quantize", "no hidden property"),
        ("flows.sample", "no properties are registered"),
        # The wrong implementations of the hidden properties now name properties that do not exist.
        *(("vq.vector_quantize", f"CAUGHT_BY names property {name!r}, which vq.vector_quantize does not have") for name in hidden),
    ]


def test_a_property_without_a_wrong_implementation_is_reported(course: Path) -> None:
    key = ("vae.slerp", "endpoints")
    (finding,) = check(course, caught_by={k: v for k, v in CAUGHT_BY.items() if k != key})
    assert finding.where == "tests/wrong/vae"
    assert "property endpoints has no wrong implementation; add `CAUGHT_BY[('vae.slerp', 'endpoints')] = wrong_impl`" in finding.message


def test_a_wrong_implementation_for_an_unknown_exercise_is_reported(course: Path) -> None:
    (finding,) = check(course, caught_by={**CAUGHT_BY, ("flows.log_probability", "matches_reference"): None})
    assert (finding.group, finding.where) == ("flows.log_probability", "tests/wrong/flows")
    assert finding.message == "CAUGHT_BY names exercise flows.log_probability, which is not in grader/catalog.py; fix the id or remove the entry"


def test_question_links_must_name_existing_exercises(course: Path) -> None:
    bank = course / "questions.yaml"
    edit(bank, "exercises: [vq.vector_quantize]", "exercises: [vq.vector_quantise]")
    (finding,) = check(course)
    assert finding.group == "questions.yaml"
    assert finding.where == f"questions.yaml:{line_of(bank, '    exercises: [vq.vector_quantise]')}"
    assert "unknown exercise id 'vq.vector_quantise'; did you mean 'vq.vector_quantize'?" in finding.message


def test_every_exercise_must_be_linked_by_a_question(course: Path) -> None:
    edit(course / "questions.yaml", "exercises: [vq.vector_quantize]", "exercises: []")
    (finding,) = check(course)
    assert (finding.group, finding.where) == ("vq.vector_quantize", "questions.yaml")
    assert "no question links vq.vector_quantize; add it to the `exercises:` of its question(s) (q39)" in finding.message


def test_report_groups_findings_by_exercise_in_catalog_order() -> None:
    findings = [Finding("questions.yaml", "questions.yaml:3", "c"), Finding("flows.sample", "a.py", "b"), Finding("vae.slerp", "x.py:1", "a")]
    assert report_lines(findings, 47) == [
        "vae.slerp:",
        "  x.py:1: a",
        "flows.sample:",
        "  a.py: b",
        "questions.yaml:",
        "  questions.yaml:3: c",
        "3 problems in 3 groups (47 exercises checked).",
    ]


# ----------------------------------------------------------------------------- through `python -m grader`


@pytest.mark.slow
def test_cli_passes_on_the_course() -> None:
    proc = run_grade("check-course")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith(f"course OK: {len(EXERCISES)} exercises")


@pytest.mark.slow
def test_cli_fails_on_a_broken_copy_with_one_line_per_problem(course: Path) -> None:
    remove_definition(course / "exercises" / "flows.py", "log_prob")
    edit(course / "solutions" / "vq.py", "def vector_quantize(", "def vector_quantize(extra, ")
    proc = run_grade("check-course", env={"GENLAB_COURSE": str(course)})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    # Grouped by exercise in catalog order (vq comes before flows).
    assert lines[0] == "vq.vector_quantize:"
    assert lines[1].startswith("  solutions/vq.py:") and "the signature of vector_quantize differs" in lines[1]
    assert lines[2] == "flows.log_prob:"
    assert lines[3].startswith("  exercises/flows.py: has no stub for log_prob; add `def log_prob(...)`")
    assert lines[4] == f"2 problems in 2 groups ({len(EXERCISES)} exercises checked)."
    assert proc.stderr == ""


@pytest.mark.slow
def test_cli_usage_error_without_a_course(tmp_path: Path) -> None:
    proc = run_grade("check-course", env={"GENLAB_COURSE": str(tmp_path)})
    assert proc.returncode == 2
    assert f"{tmp_path} has no exercises/ folder; run in a genlab checkout or set GENLAB_COURSE" in proc.stderr
    assert "Traceback" not in proc.stderr
