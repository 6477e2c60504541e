"""Real class folders: one student's odd folder gets a clear status and message, and never stops
the batch — a 2 GB file, names that are not UTF-8, duplicate names once normalised, a student
folder that is a symbolic link, binary junk, an empty folder. (tests/test_batch_resume.py covers
a syntax error, a symlink inside a folder and zips.)"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
import unicodedata
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT, run_grade

pytestmark = pytest.mark.slow
TARGET = "attention.scaled_dot_product_attention"
SOLUTION = ROOT / "solutions" / "attention.py"


def _student(klass: Path, name: str | bytes) -> Path:
    folder = Path(os.fsdecode(os.path.join(os.fsencode(klass), os.fsencode(name))))
    folder.mkdir(parents=True)
    shutil.copy(SOLUTION, folder / "attention.py")
    return folder


def test_odd_folders_each_get_a_status_and_the_rest_are_graded(tmp_path) -> None:
    klass = tmp_path / "class"
    _student(klass, "alice")
    big = _student(klass, "big")
    with (big / "weights.bin").open("wb") as f:
        f.truncate(2 * 2**30)  # sparse: 2 GiB that cost no disk, but must not be read whole
    _student(klass, b"caf\xe9")  # a Latin-1 name, as some zip tools write it: not UTF-8
    (_student(klass, "notes") / os.fsdecode(b"r\xe9sum\xe9.txt")).write_text("a file name that is not UTF-8\n")
    _student(klass, "Bob")
    _student(klass, "bob ")  # the same student as Bob once case and spaces are normalised
    _student(klass, unicodedata.normalize("NFC", "José"))
    _student(klass, unicodedata.normalize("NFD", "José"))  # the same name in another Unicode form
    (klass / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    _student(tmp_path, "elsewhere")
    (klass / "junk").mkdir()
    (klass / "junk" / "attention.py").write_bytes(os.urandom(4096).replace(b"\n", b"\x00"))
    (klass / "empty").mkdir()

    out, csv_path, json_path = tmp_path / "out", tmp_path / "grades.csv", tmp_path / "grades.json"
    start = time.monotonic()
    proc = run_grade("batch", str(klass), "-t", TARGET, "--out", str(out), "--csv", str(csv_path), "--json", str(json_path), "--quiet", "--timeout", "30")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr

    with csv_path.open(newline="", encoding="utf-8") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    nfc, nfd = unicodedata.normalize("NFC", "José"), unicodedata.normalize("NFD", "José")
    assert set(rows) == {"alice", "big", "caf\\xe9", "notes", "Bob", "bob ", nfc, nfd, "linked", "junk", "empty"}
    for graded in ("alice", "notes", "caf\\xe9"):
        assert rows[graded]["status"] == "graded" and rows[graded]["percent"] == "100.0", rows[graded]
    assert "not valid UTF-8" in rows["caf\\xe9"]["message"]
    assert rows["big"]["status"] == "error" and "weights.bin is 2.0 GiB" in rows["big"]["message"]
    for a, b in (("Bob", "bob "), (nfc, nfd)):
        assert rows[a]["status"] == rows[b]["status"] == "error"
        assert repr(b) in rows[a]["message"] and "rename one" in rows[a]["message"]
    assert rows["linked"]["status"] == "error" and "symbolic link" in rows["linked"]["message"]
    assert rows["junk"]["status"] == "graded" and rows["junk"]["attention.scaled_dot_product_attention"].endswith("(error)")
    assert rows["empty"]["status"] == "error" and "no topic modules" in rows["empty"]["message"]
    assert len(json.loads(json_path.read_text(encoding="utf-8"))["students"]) == 11
    assert {p.name for p in (out / "students").iterdir()} == {f"{name}.json" for name in rows}
    assert time.monotonic() - start < 600

    again = run_grade("batch", str(klass), "-t", TARGET, "--out", str(out), "--quiet")
    regraded = {line.split(":")[0] for line in again.stdout.splitlines() if line.endswith("]")}
    assert regraded == {"Bob", "bob ", nfc, nfd}  # name clashes are checked afresh each run; the rest resumed
