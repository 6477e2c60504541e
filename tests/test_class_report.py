"""`grade report`: the terminal summary and the HTML page agree with the JSON export."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.cli_helpers import run_grade
from tests.export_fixtures import SDPA, graded_reports, write_outdir

pytestmark = pytest.mark.slow


class Rows(HTMLParser):
    """Every element's data-* attributes, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.tags: set[str] = set()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if a.get("id"):
            self.ids.add(a["id"])
        data = {k[5:]: v for k, v in attrs if k.startswith("data-")}
        if data:
            self.rows.append(data)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    outdir = write_outdir(tmp / "out", graded_reports())
    proc = run_grade("export", str(outdir), "--format", "json", "--output", str(tmp / "class.json"))
    assert proc.returncode == 0, proc.stderr
    report = run_grade("report", str(outdir), "--html", str(tmp / "report.html"))
    assert report.returncode == 0, report.stderr
    return json.loads((tmp / "class.json").read_text()), (tmp / "report.html").read_text(), report.stdout


def test_page_numbers_agree_with_the_json_export(built) -> None:
    doc, page, _ = built
    parser = Rows()
    parser.feed(page)
    students = {r["student"]: r for r in parser.rows if "student" in r}
    assert set(students) == {s["student"] for s in doc["students"]}
    for s in doc["students"]:
        row = students[s["student"]]
        assert float(row["score"]) == pytest.approx(s["score"]) and float(row["max"]) == s["max_score"] and float(row["percent"]) == s["percent"]
    n = len(doc["students"])
    for target in doc["targets"]:
        exercises = [next(e for e in s["exercises"] if e["id"] == target) for s in doc["students"]]
        row = next(r for r in parser.rows if r.get("exercise") == target and "passed" in r)
        assert (int(row["passed"]), int(row["total"])) == (sum(e["status"] == "passed" for e in exercises), n)
        not_started = sum(not e["started"] for e in exercises)
        ns_rows = [r for r in parser.rows if r.get("not-started") == target]
        assert (int(ns_rows[0]["passed"]) if ns_rows else 0) == not_started
        for r in (r for r in parser.rows if r.get("mistake") and r["exercise"] == target):
            made = sum(any(p["diagnosis"] == r["mistake"] for p in e["properties"]) for e in exercises)
            assert int(r["students"]) == made > 0
    for r in (r for r in parser.rows if "property" in r):
        exercise, name = r["property"].split(": ")
        ran = [p for s in doc["students"] for e in s["exercises"] if e["id"] == exercise for p in e["properties"] if p["name"] == name and p["status"] in ("passed", "failed")]
        assert (int(r["passed"]), int(r["total"])) == (sum(p["status"] == "passed" for p in ran), len(ran))


def test_page_is_self_contained_with_charts(built) -> None:
    _, page, _ = built
    parser = Rows()
    parser.feed(page)
    assert page.count("<svg") >= 2 and "script" not in parser.tags and "link" not in parser.tags
    assert not re.search(r"(src|href)=['\"]https?:", page)
    assert all(link.startswith("#") and link[1:] in parser.ids for link in parser.links) and parser.links
    assert any(r.get("mistake") for r in parser.rows), "bob's diagnosed mistake is listed"
    assert "without a sandbox" in page


def test_terminal_summary(built) -> None:
    doc, _, stdout = built
    assert f"{len(doc['students'])} students" in stdout and SDPA in stdout
    for s in doc["students"]:
        assert f"{s['score']:g}/{s['max_score']:g}" in stdout


def test_report_without_batch_output_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_grade("report", str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.startswith("Error: ")
