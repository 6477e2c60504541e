"""The worker's import guard names real modules and refuses each of them."""

from __future__ import annotations

import importlib.util

import pytest

from grader.worker import FORBIDDEN_IMPORTS, ImportGuard


@pytest.mark.parametrize("name", FORBIDDEN_IMPORTS)
def test_every_forbidden_import_names_a_module_that_exists(name: str) -> None:
    # A stale name (a module renamed or never written) would guard nothing.
    assert importlib.util.find_spec(name) is not None, f"FORBIDDEN_IMPORTS names {name!r}, which is no module; remove or rename it"


@pytest.mark.parametrize("name", FORBIDDEN_IMPORTS)
def test_the_guard_refuses_each_forbidden_module_and_its_submodules(name: str) -> None:
    guard = ImportGuard()
    for fullname in (name, f"{name}.anything"):
        with pytest.raises(ImportError, match="not available to submissions"):
            guard.find_spec(fullname)
    assert guard.find_spec(f"{name}_lookalike") is None


@pytest.mark.parametrize("name", ["grader.fixtures", "grader.fixtures.lm", "grader.fixtures.pixelcnn", "grader.fixtures.flows"])
def test_the_guard_lets_the_worker_import_the_fixtures(name: str) -> None:
    # The judge pickles fixtures (critics, mock models) for the worker: it must be able to import them.
    assert importlib.util.find_spec(name) is not None
    assert ImportGuard().find_spec(name) is None
