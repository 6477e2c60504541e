"""Notebooks as submissions: the catalog's definitions of a .ipynb become topic modules.

The notebooks are written with nbformat from the reference solutions' source, one top-level
statement per cell, with the kind of cells a real notebook has around them (markdown, shell
and magic lines, a training loop that must never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.errors import UsageError
from grader.notebook import build_modules
from tests.cli_helpers import ROOT, grade_json, run_grade

# Would take ten minutes if anything ran it: on the judge or in the worker.
TRAINING_CELL = "import time\ntime.sleep(600)\nmodel = train_for_hours()\nprint('trained')"


def solution_cells(topic: str, skip: tuple[str, ...] = ()) -> list[str]:
    """The reference solution of a topic, one top-level statement per code cell."""
    source = (ROOT / "solutions" / f"{topic}.py").read_text(encoding="utf-8")
    lines = source.splitlines()
    cells = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.Expr) or getattr(node, "name", None) in skip:
            continue  # the module docstring; skipped definitions
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        cells.append("\n".join(lines[first - 1 : node.end_lineno]))
    return cells


def write_notebook(path: Path, code: list[str]) -> Path:
    cells = [new_markdown_cell("# Homework"), new_code_cell("!pip install torch\n%matplotlib inline")]
    cells += [new_code_cell(source) for source in code]
    nbformat.write(new_notebook(cells=cells), str(path))
    return path


@pytest.fixture
def store_env(tmp_path):
    return {"GENLAB_PROGRESS": str(tmp_path / "progress.sqlite3")}


# ---------------------------------------------------------------- through `grade`


@pytest.mark.slow
def test_correct_notebook_passes_and_its_training_cell_never_runs(tmp_path, store_env) -> None:
    notebook = write_notebook(tmp_path / "work.ipynb", [*solution_cells("flows"), TRAINING_CELL])
    code, report = grade_json("q46", "--submission", str(notebook), "--device", "cpu", env=store_env)
    assert code == 0, report
    (exercise,) = report["exercises"]
    assert exercise["id"] == "flows.log_prob" and exercise["passed"]
    assert report["score"] == report["max_score"] > 0
    assert "trained" not in exercise.get("output", "")


@pytest.mark.slow
def test_wrong_notebook_fails_with_the_cell_and_line_of_the_error(tmp_path, store_env) -> None:
    wrong = "def log_prob(x, transforms):\n    z = x\n    raise ValueError('not yet')"
    cells = [*solution_cells("flows", skip=("log_prob",)), wrong]
    notebook = write_notebook(tmp_path / "work.ipynb", cells)
    code, report = grade_json("flows.log_prob", "--submission", str(notebook), "--device", "cpu", env=store_env)
    assert code == 1, report
    (exercise,) = report["exercises"]
    assert exercise["status"] == "failed"
    messages = " ".join(p["message"] for p in exercise["properties"])
    # Two leading cells (markdown, shell lines), then one cell per solution statement.
    assert f"work.ipynb, cell {len(cells) + 2}, line 3" in messages, messages
    assert "genlab-notebook-" not in messages
    # The text report is printed while grading runs: it names the cell too.
    proc = run_grade("flows.log_prob", "--submission", str(notebook), "--device", "cpu", env=store_env)
    assert proc.returncode == 1 and f"work.ipynb, cell {len(cells) + 2}, line 3" in proc.stdout, proc.stdout
    assert "genlab-notebook-" not in proc.stdout


@pytest.mark.slow
def test_missing_name_grades_as_not_implemented(tmp_path, store_env) -> None:
    notebook = write_notebook(tmp_path / "work.ipynb", solution_cells("flows", skip=("sample",)))
    code, report = grade_json("flows.sample", "flows.log_prob", "--submission", str(notebook), "--device", "cpu", env=store_env)
    assert code == 1, report
    by_id = {e["id"]: e for e in report["exercises"]}
    assert by_id["flows.log_prob"]["passed"]
    assert by_id["flows.sample"]["status"] == "not_implemented"
    assert "work.ipynb has no top-level definition of sample" in by_id["flows.sample"]["message"]


def test_a_notebook_without_any_of_the_topics_names_is_a_usage_error(tmp_path) -> None:
    notebook = write_notebook(tmp_path / "work.ipynb", solution_cells("flows"))
    proc = run_grade("q59", "--submission", str(notebook), "--device", "cpu")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("Error: work.ipynb has none of attention's names (scaled_dot_product_attention")
    assert "Traceback" not in proc.stderr


def test_duplicate_definition_names_both_cells(tmp_path) -> None:
    cells = [*solution_cells("flows"), "def log_prob(x, transforms):\n    return x.sum(1)"]
    notebook = write_notebook(tmp_path / "work.ipynb", cells)
    proc = run_grade("q46", "--submission", str(notebook), "--device", "cpu")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    first = 2 + next(i for i, c in enumerate(cells, 1) if c.startswith("def log_prob"))
    assert f"`log_prob` is defined in cell {first} and cell {len(cells) + 2}" in proc.stderr, proc.stderr


def test_syntax_error_names_the_cell_and_line(tmp_path) -> None:
    notebook = write_notebook(tmp_path / "work.ipynb", ["import torch", "def log_prob(x, transforms):\n    return x.sum(1))"])
    proc = run_grade("q46", "--submission", str(notebook), "--device", "cpu")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith("Error: work.ipynb, cell 4, line 2: SyntaxError:"), proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("content", ["not json at all", '{"cells": 3}'])
def test_invalid_notebook_file_is_a_usage_error(tmp_path, content) -> None:
    notebook = tmp_path / "work.ipynb"
    notebook.write_text(content)
    proc = run_grade("q46", "--submission", str(notebook), "--device", "cpu")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "not a valid Jupyter notebook" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_notebook_file_is_a_usage_error(tmp_path) -> None:
    proc = run_grade("q46", "--submission", str(tmp_path / "nope.ipynb"))
    assert proc.returncode == 2 and "no such notebook" in proc.stderr


# ---------------------------------------------------------------- building the modules


def test_modules_keep_definitions_and_what_they_use_and_nothing_else(tmp_path) -> None:
    notebook = write_notebook(
        tmp_path / "work.ipynb",
        [
            "import torch\nimport matplotlib.pyplot as plt",
            "EPS = 1e-6\nSCALE = EPS * 2\nUNUSED = 3",
            "def _center(x):\n    return x - x.mean() + SCALE",
            "def log_prob(x, transforms):\n    model = 1  # a local, not the global below\n    return _center(torch.as_tensor(x)) + model",
            TRAINING_CELL,
            "plt.plot([1, 2])\nfor epoch in range(100):\n    pass",
            "if torch.cuda.is_available():\n    DEVICE = 'cuda'\nelse:\n    DEVICE = 'cpu'",
        ],
    )
    (module,) = build_modules(notebook).values()
    assert module.topic == "flows"
    body = module.source
    for kept in ("import torch", "EPS = 1e-6", "SCALE = EPS * 2", "def _center", "def log_prob"):
        assert kept in body
    for dropped in ("matplotlib", "UNUSED", "sleep", "train_for_hours", "plt.plot", "epoch", "DEVICE", "pip install"):
        assert dropped not in body
    assert set(module.missing) == {"AffineCoupling", "sample"}
    compile(body, "flows.py", "exec")
    # Every generated line of the definitions maps back to its cell and line.
    line = body.splitlines().index("def _center(x):") + 1
    assert module.lines[line] == (5, 1)


def test_a_name_two_topics_share_counts_for_the_topic_the_notebook_is_about(tmp_path) -> None:
    attention = write_notebook(tmp_path / "a.ipynb", solution_cells("attention"))
    assert list(build_modules(attention)) == ["attention"]
    alone = write_notebook(tmp_path / "b.ipynb", ["def causal_mask(n):\n    return n"])
    assert set(build_modules(alone)) == {"attention", "pixelcnn"}


def test_a_duplicate_that_no_module_needs_is_not_an_error(tmp_path) -> None:
    notebook = write_notebook(tmp_path / "work.ipynb", ["x = 1", "def log_prob(x, t):\n    return x", "x = 2", "import torch", "import torch"])
    (module,) = build_modules(notebook).values()
    assert "x = 1" not in module.source


def test_duplicate_helper_is_an_error(tmp_path) -> None:
    notebook = write_notebook(tmp_path / "work.ipynb", ["def h(x):\n    return x", "def log_prob(x, t):\n    return h(x)", "def h(x):\n    return -x"])
    with pytest.raises(UsageError, match=r"`h` is defined in cell 3 and cell 5"):
        build_modules(notebook)


# ---------------------------------------------------------------- through `grade batch`


@pytest.mark.slow
def test_batch_grades_notebooks_and_a_broken_one_does_not_stop_the_class(tmp_path) -> None:
    import csv
    import json
    import shutil

    klass = tmp_path / "class"
    for student in ("alice", "bob", "carol", "dave"):
        (klass / student).mkdir(parents=True)
    write_notebook(klass / "alice" / "homework.ipynb", [*solution_cells("flows"), TRAINING_CELL])
    write_notebook(klass / "bob" / "homework.ipynb", ["def log_prob(x, transforms):\n    return x.sum(1)"])
    write_notebook(klass / "carol" / "homework.ipynb", ["def log_prob(x, transforms)\n    return x"])
    shutil.copy(ROOT / "solutions" / "flows.py", klass / "dave" / "flows.py")
    out_csv, out_json = tmp_path / "grades.csv", tmp_path / "grades.json"
    proc = run_grade("batch", str(klass), "-t", "flows.log_prob", "--csv", str(out_csv), "--json", str(out_json))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with out_csv.open(newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"alice", "bob", "carol", "dave"}
    assert rows["alice"]["percent"] == rows["dave"]["percent"] == "100.0"
    assert 0 < int(rows["bob"]["max_score"]) and int(rows["bob"]["score"]) < int(rows["bob"]["max_score"])
    assert rows["carol"]["flows.log_prob"].endswith("(error)")
    carol = next(s for s in json.loads(out_json.read_text())["students"] if s["student"] == "carol")
    assert "homework.ipynb, cell 3, line 1: SyntaxError" in carol["exercises"][0]["message"]


def test_only_lines_that_start_a_statement_are_taken_for_magics(tmp_path) -> None:
    cell = 'SCALE = ("%d"\n         % 3)\n%time x = 1\nGREETING = """\n! not a shell line\n"""\ndef log_prob(x, t):\n    !ls\n    return SCALE + GREETING'
    (module,) = build_modules(write_notebook(tmp_path / "work.ipynb", [cell])).values()
    namespace: dict[str, object] = {}
    exec(compile(module.source, "flows.py", "exec"), namespace)
    assert namespace["SCALE"] == "3" and namespace["GREETING"] == "\n! not a shell line\n"
    assert "%time" not in module.source
