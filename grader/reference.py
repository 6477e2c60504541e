"""Loads the reference solutions into the judge (never into the worker)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

_cache: dict[Path, ModuleType] = {}


def load_reference(solutions: Path | None, topic: str) -> ModuleType | None:
    """``solutions/<topic>.py`` as a module, or None when the course ships no solutions."""
    if solutions is None:
        return None
    path = (solutions / f"{topic}.py").resolve()
    if not path.is_file():
        return None
    if path not in _cache:
        name = f"genlab_reference.{topic}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _cache[path] = module
    return _cache[path]
