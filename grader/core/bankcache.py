"""The question bank, loaded through a JSON cache.

Validating ``questions.yaml`` with the pure-Python YAML parser takes seconds, far beyond the
one-second start-up budget, while the bank changes only when an author edits it. So the
validated bank is cached as JSON (not pickle: a cache file must never be able to run code),
keyed by the bytes of the bank file and of the modules that validate it; any change, or an
unreadable cache, falls back to the real loader.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from grader.core import bank as bank_module
from grader.core import catalog
from grader.core.bank import Bank, KeyPoints, Option, Question, QuizItem, Section, Text, load_bank


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "genlab"


def cache_key(path: Path) -> str:
    """Changes whenever the bank or its validation rules change."""
    digest = hashlib.sha256()
    schema = Path(bank_module.__file__).with_name("bank_schema.py")  # not imported: a cache hit never validates
    for source in (path, Path(bank_module.__file__), schema, Path(catalog.__file__)):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:24]


def cached_bank(path: Path, *, folder: Path | None = None) -> Bank | None:
    """The bank from a current cache, or None (then call load_cached, which is slow)."""
    try:
        cache = (folder or cache_dir()) / f"bank-{cache_key(path)}.json"
        return from_json(json.loads(cache.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_cached(path: Path, *, folder: Path | None = None) -> Bank:
    """``load_bank(path)``, from the cache when it is current; raises BankError like it."""
    try:
        key = cache_key(path)
    except OSError:
        return load_bank(path)  # a missing bank: let the loader report it
    cache = (folder or cache_dir()) / f"bank-{key}.json"
    bank = cached_bank(path, folder=folder)
    if bank is not None:
        return bank
    bank = load_bank(path)  # no cache yet, or a damaged one: rebuild it
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(asdict(bank), ensure_ascii=False), encoding="utf-8")
        tmp.replace(cache)  # atomic: a concurrent reader never sees half a file
    except OSError:
        pass  # a read-only cache folder only costs speed
    return bank


def _text(d: dict[str, Any] | None) -> Text | None:
    return None if d is None else Text(d["ru"], d["en"])


def _item(d: dict[str, Any]) -> QuizItem:
    options = tuple(Option(Text(**o["text"]), bool(o["correct"]), Text(**o["explanation"])) for o in d["options"])
    return QuizItem(
        d["kind"],
        Text(**d["prompt"]),
        options,
        answer=d["answer"],
        tolerance=d["tolerance"],
        decimals=d["decimals"],
        relative=d["relative"],
        accepted=tuple(d["accepted"]),
        explanation=_text(d["explanation"]),
        shuffle=bool(d["shuffle"]),
    )


def from_json(d: dict[str, Any]) -> Bank:
    """Rebuild the frozen dataclasses from ``asdict`` output."""
    sections = tuple(Section(s["id"], Text(**s["title"])) for s in d["sections"])
    questions = tuple(
        Question(
            id=q["id"],
            section=q["section"],
            topic=Text(**q["topic"]),
            prompt=Text(**q["prompt"]),
            answer=Text(**q["answer"]),
            key_points=KeyPoints(tuple(q["key_points"]["ru"]), tuple(q["key_points"]["en"])),
            exercises=tuple(q["exercises"]),
            quiz=tuple(_item(i) for i in q["quiz"]),
            line=q["line"],
        )
        for q in d["questions"]
    )
    return Bank(d["format_version"], sections, questions)
