"""Every export format, from one class graded in-process once (the `grade batch --out` folder format)."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.exports import prairielearn
from grader.exports.classdata import score_class
from grader.exports.outdir import read_outdir
from grader.exports.policy import Policy
from tests.cli_helpers import run_grade
from tests.export_fixtures import MASK, SDPA, TARGETS, graded_reports, write_outdir

pytestmark = pytest.mark.slow
GRADESCOPE_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


@pytest.fixture(scope="module")
def reports():
    return graded_reports()


@pytest.fixture(scope="module")
def outdir(reports, tmp_path_factory) -> Path:
    return write_outdir(tmp_path_factory.mktemp("batch") / "out", reports)


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("policy") / "grading.toml"
    path.write_text(f'hidden_weight = 2\n[points]\n"{SDPA}" = 3\n')
    return path


def export(outdir: Path, fmt: str, output: Path, policy_file: Path) -> None:
    proc = run_grade("export", str(outdir), "--format", fmt, "--output", str(output), "--policy", str(policy_file))
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def class_json(outdir, policy_file, tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("json") / "class.json"
    export(outdir, "json", path, policy_file)
    return json.loads(path.read_text())


def students(doc: dict) -> dict[str, dict]:
    return {s["student"]: s for s in doc["students"]}


def test_fixture_class_is_what_the_tests_assume(reports) -> None:
    assert reports["alice"].passed and reports["dave"] is None
    bob_sdpa = reports["bob"].exercises[0]
    assert bob_sdpa.status == "failed" and any(p.diagnosis for p in bob_sdpa.properties)
    assert reports["carol"].exercises[1].status == "not_implemented"


def test_json_applies_the_policy_and_flags_no_sandbox(class_json, reports) -> None:
    by = students(class_json)
    assert class_json["policy"]["points"] == {SDPA: 3.0} and class_json["isolation"] == "none" and "without a sandbox" in class_json["isolation_note"]
    assert by["alice"]["score"] == by["alice"]["max_score"] == 4.0 and by["alice"]["percent"] == 100.0
    assert by["dave"]["score"] == 0 and by["dave"]["status"] == "error" and by["dave"]["max_score"] == 4.0
    carol = {e["id"]: e for e in by["carol"]["exercises"]}
    assert carol[MASK]["status"] == "not_implemented" and carol[MASK]["started"] is False and carol[MASK]["points"] == 0
    # Carol's attention: share of properties passed, hidden ones weighing 2.
    props = [p for p in reports["carol"].exercises[0].properties if p.status != "skipped"]
    weight = {"hidden": 2, "public": 1}
    expected = 3 * sum(weight[p.tier] for p in props if p.passed) / sum(weight[p.tier] for p in props)
    assert carol[SDPA]["points"] == pytest.approx(expected, abs=1e-3) and 0 < carol[SDPA]["points"] < 3


def test_csv_agrees_with_json(outdir, policy_file, class_json, tmp_path) -> None:
    export(outdir, "csv", tmp_path / "g.csv", policy_file)
    with (tmp_path / "g.csv").open(newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    for name, s in students(class_json).items():
        row = rows[name]
        assert float(row["score"]) == pytest.approx(s["score"]) and float(row["max_score"]) == s["max_score"] and float(row["percent"]) == s["percent"]
        assert row["isolation"] == "none"
        for e in s["exercises"]:
            assert float(row[e["id"]]) == pytest.approx(e["points"])


def test_junit_structure(outdir, policy_file, class_json, tmp_path) -> None:
    path = tmp_path / "junit.xml"
    export(outdir, "junit", path, policy_file)
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert {s.get("name") for s in suites} == {f"{st}.{e}" for st in ("alice", "bob", "carol", "dave") for e in TARGETS}
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases) > 0
        for kind, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
            assert int(suite.get(kind)) == sum(c.find(tag) is not None for c in cases)
        assert float(suite.get("time")) >= 0
        assert all(c.get("name") and c.get("classname") == suite.get("name") for c in cases)
    assert sum(int(s.get("tests")) for s in suites) == int(root.get("tests"))
    bob = next(s for s in suites if s.get("name") == f"bob.{SDPA}")
    failures = [c.find("failure") for c in bob.findall("testcase") if c.find("failure") is not None]
    assert failures and all(f.get("message") for f in failures)
    assert any("diagnosis:" in f.text and "minimal failing input" in f.text for f in failures)
    assert "without a sandbox" in path.read_text()
    junitparser = pytest.importorskip("junitparser")
    xml = junitparser.JUnitXml.fromfile(str(path))
    parsed = {s.name: s for s in xml}
    assert parsed[f"alice.{SDPA}"].failures == 0 and parsed[f"bob.{SDPA}"].failures == len(failures)


def test_gradescope_results(outdir, policy_file, class_json, tmp_path) -> None:
    export(outdir, "gradescope", tmp_path / "gs", policy_file)
    by = students(class_json)
    assert sorted(p.name for p in (tmp_path / "gs").iterdir()) == sorted(by)
    for name, s in by.items():
        path = tmp_path / "gs" / name / "results.json"
        assert path.stat().st_size < 1_000_000
        doc = json.loads(path.read_text())
        assert isinstance(doc["score"], float | int) and doc["score"] == pytest.approx(s["score"])
        assert isinstance(doc["execution_time"], float | int) and isinstance(doc["output"], str) and doc["stdout_visibility"] in GRADESCOPE_VISIBILITY
        assert "without a sandbox" in doc["output"]
        assert sum(t["score"] for t in doc["tests"]) == pytest.approx(doc["score"], abs=1e-3)
        assert sum(t["max_score"] for t in doc["tests"]) == pytest.approx(s["max_score"], abs=1e-3)
        for t in doc["tests"]:
            assert set(t) == {"name", "number", "score", "max_score", "status", "output", "visibility"}
            assert isinstance(t["name"], str) and isinstance(t["number"], str) and isinstance(t["output"], str)
            assert 0 <= t["score"] <= t["max_score"] + 1e-9 and t["status"] in ("passed", "failed") and t["visibility"] in GRADESCOPE_VISIBILITY
    bob_tests = json.loads((tmp_path / "gs" / "bob" / "results.json").read_text())["tests"]
    hidden = {p["name"] for e in by["bob"]["exercises"] for p in e["properties"] if p["tier"] == "hidden"}
    assert hidden and all(t["visibility"] == ("after_published" if t["name"].split(": ")[-1] in hidden else "visible") for t in bob_tests)


def test_prairielearn_results(outdir, policy_file, class_json, tmp_path) -> None:
    export(outdir, "prairielearn", tmp_path / "pl", policy_file)
    for name, s in students(class_json).items():
        path = tmp_path / "pl" / name / "results.json"
        assert path.stat().st_size < 1_000_000
        doc = json.loads(path.read_text())
        assert 0 <= doc["score"] <= 1 and doc["score"] == pytest.approx(s["percent"] / 100, abs=1e-3)
        assert doc["gradable"] is (name != "dave") and isinstance(doc["message"], str)
        for t in doc["tests"]:
            assert {"name", "description", "points", "max_points", "message", "output"} <= set(t)
            assert 0 <= t["points"] <= t["max_points"] + 1e-9
        assert sum(t["points"] for t in doc["tests"]) == pytest.approx(s["score"], abs=1e-3)


def test_classroom_results(outdir, policy_file, class_json, tmp_path) -> None:
    export(outdir, "classroom", tmp_path / "cr", policy_file)
    for name, s in students(class_json).items():
        doc = json.loads((tmp_path / "cr" / name / "results.json").read_text())
        # What autograding-grading-reporter reads: it adds each test's score against max_score.
        assert doc["version"] == 1 and doc["max_score"] == pytest.approx(s["max_score"], abs=1e-3)
        assert sum(t["score"] for t in doc["tests"]) == pytest.approx(s["score"], abs=1e-3)
        assert doc["status"] == ("error" if name == "dave" else "pass" if s["score"] == s["max_score"] else "fail")
        for t in doc["tests"]:
            assert {"name", "status", "score", "message", "line_no"} <= set(t) and t["status"] in ("pass", "fail", "error")
    bob = json.loads((tmp_path / "cr" / "bob" / "results.json").read_text())
    assert any(t["status"] == "fail" and "diagnosis" in t["message"] for t in bob["tests"])


def test_prairielearn_stays_under_one_megabyte(outdir) -> None:
    graded = read_outdir(outdir)
    carol = next(r for r in graded.students if r.student == "carol")
    for e in carol.report.exercises:
        e.output = "x" * 3_000_000  # a student who prints megabytes
        for p in e.properties:
            p.message = "y" * 500_000
    scored = score_class(graded, Policy())
    text = prairielearn.render(next(s for s in scored.students if s.student == "carol"), scored)
    assert len(text.encode()) < 1_000_000 and json.loads(text)["score"] <= 1


def test_export_of_a_folder_that_is_not_a_batch_output(tmp_path) -> None:
    proc = run_grade("export", str(tmp_path), "--format", "csv", "--output", str(tmp_path / "g.csv"))
    assert proc.returncode == 2 and proc.stderr.startswith("Error: ") and "manifest.json" in proc.stderr


@pytest.mark.parametrize("fmt", ["junit", "gradescope", "prairielearn", "classroom"])
def test_single_run_prints_the_document(fmt: str) -> None:
    proc = run_grade(MASK, "--submission", "solutions", "--no-record", "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    if fmt == "junit":
        root = ET.fromstring(proc.stdout)
        assert root.tag == "testsuites" and root.get("failures") == "0" and int(root.get("tests")) > 0
    elif fmt == "classroom":
        doc = json.loads(proc.stdout)
        assert doc["status"] == "pass" and doc["tests"] and sum(t["score"] for t in doc["tests"]) == pytest.approx(doc["max_score"])
    else:
        doc = json.loads(proc.stdout)
        assert doc["score"] == (1 if fmt == "prairielearn" else doc["tests"] and sum(t["max_score"] for t in doc["tests"]))
