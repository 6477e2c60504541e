"""JUnit XML for CI dashboards: a testsuite per student and exercise, a testcase per property.

A failed property's message is the failure's ``message`` attribute; its text holds the
message, the minimal counterexample and the diagnosis. Durations are measured per exercise
(the suite's ``time``), not per property. An exercise that never reached its properties (not
implemented, timed out, crashed) is one testcase named after it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from grader.exports.classdata import NOT_SANDBOXED, ScoredClass
from grader.exports.scoring import ExerciseScore, StudentScore
from grader.exports.text import cap, failure_text, xml_safe

OUTPUT_LIMIT = 20_000


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", name=xml_safe(name), classname=xml_safe(classname))


def _suite(root: ET.Element, s: StudentScore, e: ExerciseScore) -> None:
    name = f"{s.student}.{e.id}"
    r = e.result
    suite = ET.SubElement(root, "testsuite", name=xml_safe(name))
    props = ET.SubElement(suite, "properties")
    for key, value in (("student", s.student), ("exercise", e.id), ("status", e.status), ("points", f"{e.points:g}"), ("max_points", f"{e.max_points:g}"), ("isolation", s.isolation)):
        ET.SubElement(props, "property", name=key, value=xml_safe(value))
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if r is None or not r.properties:
        case = _case(suite, name, e.id)
        counts["tests"] = 1
        if e.status == "passed":
            pass
        elif e.status in ("not_implemented", "failed"):
            ET.SubElement(case, "failure", message=xml_safe((r.message if r else s.message) or e.status), type=e.status).text = xml_safe(r.message if r else s.message)
            counts["failures"] = 1
        else:
            ET.SubElement(case, "error", message=xml_safe((r.message if r else s.message) or e.status), type=e.status).text = xml_safe(r.message if r else s.message)
            counts["errors"] = 1
    else:
        for p in e.properties:
            pr = p.result
            case = _case(suite, name, pr.name)
            counts["tests"] += 1
            if pr.status == "failed":
                ET.SubElement(case, "failure", message=xml_safe(pr.message), type="property failed").text = xml_safe(failure_text(pr.message, pr.counterexample, pr.diagnosis, pr.trace))
                counts["failures"] += 1
            elif pr.status in ("skipped", "not_run"):
                reason = pr.message or (f"not run: the exercise stopped first ({r.status.replace('_', ' ')})" if pr.status == "not_run" else "skipped")
                ET.SubElement(case, "skipped", message=xml_safe(reason))
                counts["skipped"] += 1
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{r.duration_s:.3f}" if r else "0")
    if r and r.output:
        ET.SubElement(suite, "system-out").text = xml_safe(cap(r.output, OUTPUT_LIMIT))


def render(scored: ScoredClass) -> str:
    root = ET.Element("testsuites", name="genlab")
    if not scored.sandboxed:
        root.append(ET.Comment(" " + NOT_SANDBOXED + " "))
    for s in scored.students:
        for e in s.exercises:
            _suite(root, s, e)
    suites = root.findall("testsuite")
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(x.get(key, "0")) for x in suites)))
    root.set("time", f"{sum(float(x.get('time', '0')) for x in suites):.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
