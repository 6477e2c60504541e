"""The catalog lists exercise ids; the questions they belong to are read from questions.yaml."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.core.catalog import EXERCISES, CatalogError, links, parse_catalog
from tests.cli_helpers import ROOT


def test_the_catalog_is_the_course_order_of_ids() -> None:
    assert EXERCISES[0] == "vae.reparameterize" and "flows.log_prob" in EXERCISES
    assert len(set(EXERCISES)) == len(EXERCISES)


def test_a_leftover_entry_with_questions_fails_loudly_with_the_fix() -> None:
    # Branches started before issue 12 add `"topic.name": ("q45",),` lines; a merge that keeps
    # one must not silently drop its links.
    with pytest.raises(CatalogError) as info:
        parse_catalog('vae.slerp\n    "flows.new_thing": ("q45", "q48"),\n')
    message = str(info.value)
    assert "grader/core/catalog.py" in message and "flows.new_thing" in message
    assert "Write the line as `flows.new_thing`" in message and "`exercises:`" in message


@pytest.mark.parametrize("text, says", [("vae.slerp\nvae.slerp\n", "listed twice"), ("vae slerp\n", "is not an exercise id")])
def test_a_malformed_catalog_line_is_named(text: str, says: str) -> None:
    with pytest.raises(CatalogError, match=says):
        parse_catalog(text)


def test_editing_questions_yaml_alone_moves_a_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bank = tmp_path / "questions.yaml"
    shutil.copy(ROOT / "questions.yaml", bank)
    before = links(bank)
    assert before.questions["vq.vector_quantize"] == ("q39",) and before.exercises["q40"] == ("vit.patchify", "vit.unpatchify")
    text = bank.read_text(encoding="utf-8").replace("exercises: [vit.patchify, vit.unpatchify]", "exercises: [vq.vector_quantize, vit.patchify, vit.unpatchify]", 1)
    bank.write_text(text, encoding="utf-8")
    after = links(bank)
    assert after.questions["vq.vector_quantize"] == ("q39", "q40")
    assert after.exercises["q40"] == ("vq.vector_quantize", "vit.patchify", "vit.unpatchify")  # catalog order
