"""Batch grading a class: one folder per student, grades exported as CSV and JSON."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from tests.cli_helpers import ROOT, SUBMISSIONS, run_grade

pytestmark = pytest.mark.slow


def test_batch_grades_each_student_and_exports(tmp_path) -> None:
    klass = tmp_path / "class"
    for student, source in (("alice", ROOT / "solutions"), ("bob", SUBMISSIONS / "allclose_patch"), ("carol", ROOT / "exercises"), ("dave", SUBMISSIONS / "infinite_loop")):
        (klass / student).mkdir(parents=True)
        shutil.copy(source / "attention.py", klass / student / "attention.py")
    (klass / "empty").mkdir()  # no topic module: a per-student error, the rest are graded
    out_csv, out_json = tmp_path / "grades.csv", tmp_path / "grades.json"
    proc = run_grade("batch", str(klass), "-t", "attention.scaled_dot_product_attention", "--timeout", "3", "--csv", str(out_csv), "--json", str(out_json))
    assert proc.returncode == 0, proc.stderr
    with out_csv.open(newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"alice", "bob", "carol", "dave", "empty"}
    assert rows["empty"]["status"] == "error" and "no topic modules" in rows["empty"]["message"]
    assert rows["alice"]["percent"] == "100.0"
    assert int(rows["bob"]["score"]) < int(rows["bob"]["max_score"])
    assert rows["carol"]["attention.scaled_dot_product_attention"].endswith("(not implemented)")
    assert rows["dave"]["attention.scaled_dot_product_attention"].endswith("(timed out)")
    data = json.loads(out_json.read_text())
    assert [s["student"] for s in data["students"]] == ["alice", "bob", "carol", "dave", "empty"]


def test_batch_on_a_missing_folder_is_a_usage_error(tmp_path) -> None:
    proc = run_grade("batch", str(tmp_path / "nope"))
    assert proc.returncode == 2 and proc.stderr.startswith("Error: ")
