"""The shared core and the TUI never import torch (nor Hypothesis, nor the grading engine).

The TUI starts in under a second and must never run student code in its process; both rest on
grader.core importing nothing heavy. Each check runs in a fresh interpreter, since this test
process has long imported torch.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import grader.core
import tui
import tui.screens
import tui.widgets
from tests.cli_helpers import ROOT

HEAVY = ("torch", "hypothesis", "numpy", "grader.runner", "grader.properties", "grader.worker")


def modules(package: object) -> list[str]:
    return [f"{package.__name__}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["grader.core", *modules(grader.core), "tui.app", *modules(tui.screens), *modules(tui.widgets), *modules(tui)])
def test_importing_never_pulls_in_torch(name: str) -> None:
    code = f"import sys, {name}; bad = [m for m in {HEAVY!r} if m in sys.modules]; assert not bad, bad"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"importing {name} imports {proc.stderr.strip().splitlines()[-1]}"
