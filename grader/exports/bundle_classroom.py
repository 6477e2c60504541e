"""`grade bundle classroom DIR`: a GitHub Classroom assignment repository built from this course.

The folder holds what a student needs (the stubs, the grader, the TUI, the question bank, the
README), never ``solutions/`` or the course's tests, and ``.github/workflows/classroom.yml``.
The workflow installs the CPU build of torch into a cached virtual environment, grades
``exercises/`` with one genlab step (``python -m grader.exports.classroom_step``) and hands the
result, with a partial score per property, to ``classroom-resources/autograding-grading-reporter``.

Without the reference solutions the student copy grades the properties that need no reference;
the rest count for nothing there (see grader/exports/scoring.py). The grade that counts is the
instructor's `grade batch` on the students' final commits (CLASSROOM.md in the folder says so).
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

from grader import paths
from grader.errors import UsageError
from grader.exports.classroom import RUNNER

# What a student's repository holds; everything else of the course stays with the instructor.
STUDENT_ITEMS = ("pyproject.toml", "README.md", "questions.yaml", "grading.toml", "exercises", "grader", "tui")
WORKFLOW_PATH = ".github/workflows/classroom.yml"
PYTHON = "~/.genlab-venv/bin/python"

WORKFLOW = """\
# Written by `grade bundle classroom`. Students can edit this file in their own repositories:
# its score is feedback; the grade that counts comes from the instructor's `grade batch`.
name: genlab autograding
"on":
  - push
  - workflow_dispatch
  - repository_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-24.04
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 30
    steps:
      - name: Checkout code
        uses: actions/checkout@v4
      - name: Set up Python
        uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Cache the virtual environment (torch is large)
        uses: actions/cache@v4
        with:
          path: ~/.genlab-venv
          key: genlab-venv-${{{{ runner.os }}}}-py3.11-torch2.13.0-${{{{ hashFiles('pyproject.toml') }}}}
      - name: Install torch (CPU build) and genlab
        run: |
          [ -x {python} ] || python -m venv ~/.genlab-venv
          {python} -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
          {python} -m pip install -e .
      - name: Install the grader's sandbox (bubblewrap)
        run: |
          sudo apt-get install -y bubblewrap
          # Ubuntu 24.04 restricts unprivileged user namespaces, which bubblewrap needs.
          sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 || true
      - name: genlab
        id: {runner}
        run: {step}
      - name: Autograding Reporter
        if: always()
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
          {env}: "${{{{ steps.{runner}.outputs.result }}}}"
        with:
          runners: {runner}
"""

CLASSROOM_MD = """\
# How this assignment is graded

Every push runs `.github/workflows/classroom.yml`: it grades `exercises/` with genlab and reports
a score per property to GitHub Classroom. Run the same checks on your machine first:

    python -m grader {targets}

The repository has no reference solutions, so some checks run only in your instructor's copy
(the report says which). The workflow is feedback for you: you can edit it in your repository,
and your instructor grades the final commit of every repository again with `grade batch`.

## For the instructor

Students own their repositories, workflow files included: a student can change what the
workflow runs and so the score GitHub Classroom shows. Treat that score as feedback. For the
grade, clone the final commits (GitHub Classroom's "Download repositories", or `gh classroom
clone student-repos`) into one folder per student and run, in the full course:

    grade batch CLASS_FOLDER --out graded/ && grade export graded/ --format csv --output grades.csv
"""


def workflow_text(targets: list[str]) -> str:
    step = f"{PYTHON} -m grader.exports.classroom_step" + "".join(" " + shlex.quote(t) for t in targets)
    return WORKFLOW.format(python=PYTHON, runner=RUNNER, step=step, env=f"{RUNNER.upper()}_RESULTS")


def write_template(folder: Path, targets: list[str], course: Path | None = None) -> list[str]:
    """Write the assignment repository into ``folder`` (new or empty); returns the paths written."""
    course = course or paths.course_root()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(f"{folder} already exists and is not an empty folder; pass a new folder, e.g. {folder.name}-classroom")
    written: list[str] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for item in STUDENT_ITEMS:
            source = course / item
            if source.is_dir():
                shutil.copytree(source, folder / item, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                written += [p.relative_to(folder).as_posix() for p in sorted((folder / item).rglob("*")) if p.is_file()]
            elif source.is_file():
                shutil.copy2(source, folder / item)
                written.append(item)
        extra = {
            WORKFLOW_PATH: workflow_text(targets),
            "CLASSROOM.md": CLASSROOM_MD.format(targets=" ".join(targets) or "--all"),
            ".gitignore": "__pycache__/\n*.pyc\n/.genlab/\n*.egg-info/\n",
        }
        for name, text in extra.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
            written.append(name)
    except OSError as exc:
        raise UsageError(f"cannot write {folder}: {exc.strerror}") from None
    return written
