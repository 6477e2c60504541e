"""`%load_ext grader` and `%grade` in IPython's own shell, as in a Jupyter or Colab session.

The cells are the reference solution's statements, run one per cell, with the cells a real
session has around them: a shell line, a training cell that fails when run, a cell with a
syntax error, and later cells that redefine a graded function.
"""

from __future__ import annotations

import pytest

from tests.test_notebook import solution_cells

pytest.importorskip("IPython")


@pytest.fixture
def shell(tmp_path, monkeypatch):
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("GENLAB_PROGRESS", str(tmp_path / "progress.sqlite3"))
    monkeypatch.setenv("GENLAB_MAX_EXAMPLES", "5")
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance(history_length=0)
    yield ip
    ip.history_manager.end_session()
    InteractiveShell.clear_instance()


def run(ip, source: str, *, ok: bool = True):
    result = ip.run_cell(source, store_history=True)
    assert result.success is ok, (source, result.error_in_exec or result.error_before_exec)
    return result


def session_with_flows(ip) -> None:
    run(ip, "!echo installing\n%load_ext grader")
    for cell in solution_cells("flows"):
        run(ip, cell)
    run(ip, "model = train_for_hours()\nprint('trained')", ok=False)  # graded code never reruns it
    run(ip, "def broken(:\n    pass", ok=False)  # a cell that did not parse defined nothing


@pytest.mark.slow
def test_grade_magic_grades_the_current_definitions_and_renders_html(shell) -> None:
    session_with_flows(shell)
    html = run(shell, "%grade q46").result
    text = html._repr_html_()
    assert "<b>flows.log_prob</b>" in text and ">passed</b>" in text and "✗" not in text and "all passed" in text
    # Redefined in a later cell: the latest definition is the one graded, and locations name its cell.
    wrong = run(shell, "def log_prob(x, transforms):\n    scale = 2.0\n    raise ValueError('boom')")
    number = shell.execution_count - 1
    assert wrong.success
    text = run(shell, "%grade q46").result._repr_html_()
    assert ">failed</b>" in text or ">error</b>" in text
    assert "boom" in text and f"In [{number}], line 3" in text


def test_session_modules_keep_the_latest_definition_and_skip_broken_cells(shell) -> None:
    from grader.ipython_ext import session_submission

    session_with_flows(shell)
    run(shell, "import math\nEPS = 1e-6\ndef log_prob(x, transforms):\n    return math.log(EPS) + x.sum(-1) * 0")
    run(shell, "del sample")
    with session_submission(shell) as submission:
        module = submission.modules["flows"]
        source = (submission.folder / "flows.py").read_text(encoding="utf-8")
    assert "math.log(EPS)" in source and "EPS = 1e-6" in source  # the latest log_prob and what it uses
    assert source.count("def log_prob") == 1
    assert "train_for_hours" not in source and "broken" not in source and "echo" not in source
    assert module.missing == ["sample"]  # deleted from the session: graded as not implemented


def test_grade_magic_explains_a_session_without_catalog_names(shell) -> None:
    run(shell, "%load_ext grader")
    run(shell, "def helper(x):\n    return x")
    text = run(shell, "%grade q46").result._repr_html_()
    assert "Error:" in text and "flows" in text
