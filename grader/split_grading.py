"""One exercise graded by two judges at once: how its properties are shared, and the verdicts joined.

`grade watch` re-grades on every save, and what a re-grade costs is the properties: mostly
Hypothesis's engine in the judge, taking turns with the worker. A second warm judge with a
worker of its own (grader.second_judge) grades part of the properties while this one grades
the rest, so both cores work. The split is balanced on each property's last measured time
(the longest first, each to the less loaded judge); with nothing measured yet, alternately.

Joining keeps `grade`'s verdict: every property is seeded from its own source (derandomized),
so it draws the same examples in either judge. When a share stops early (not implemented, a
crash, a timeout), the joined result stops where `grade`, running the properties in order,
would have stopped: at the earliest such point, with every later property "not run".
"""

from __future__ import annotations

from collections.abc import Sequence

from grader.core.results import ExerciseResult, PropertyResult

GOES_ON = ("passed", "failed")  # exercise statuses after which every property of the share ran


def split(names: Sequence[str], durations: dict[str, float]) -> tuple[list[str], list[str]]:
    """Two shares of ``names``, each in course order: this judge's first, then the second judge's."""
    if not all(name in durations for name in names):
        return list(names[0::2]), list(names[1::2])
    loads, shares = [0.0, 0.0], [set(), set()]  # type: ignore[var-annotated]
    for name in sorted(names, key=lambda n: -durations[n]):
        lighter = 0 if loads[0] <= loads[1] else 1
        loads[lighter] += durations[name]
        shares[lighter].add(name)
    return [n for n in names if n in shares[0]], [n for n in names if n in shares[1]]


def join(names: Sequence[str], shares: Sequence[tuple[ExerciseResult, str | None]], duration_s: float) -> ExerciseResult | None:
    """The verdict `grade` gives, from each share's result (graded with ``only``) and the name of
    the last property it started (None: none; grade_exercise's ``durations`` says which).

    None when the shares cannot tell it: a share that was "not implemented" at some property
    reports all its properties "not run", so if another share stopped earlier still, the verdicts
    the first share had before its stop are needed and lost. The caller grades in order then."""
    first = shares[0][0]
    by_name: dict[str, PropertyResult] = {p.name: p for share, _ in shares for p in share.properties}
    stop, stopped = len(names), None  # the position where grading stops early, and the share that stopped
    for share, last in shares:
        if share.status in GOES_ON:
            continue
        where = -1 if last is None else names.index(last)  # -1: the module did not load
        if stopped is None or where < stop:
            stop, stopped = where, share
    for share, _ in shares:
        if share.status == "not_implemented" and share is not stopped and any(names.index(p.name) < stop for p in share.properties):
            return None
    properties = []
    for position, name in enumerate(names):
        prop = by_name[name]
        # Past the stop nothing ran; "not implemented" reports every property "not run".
        if (position > stop or (stopped is not None and stopped.status == "not_implemented")) and prop.status != "not_run":
            prop = PropertyResult(prop.name, prop.statement, prop.tier, "not_run")
        properties.append(prop)
    if stopped is not None:
        status, message = stopped.status, stopped.message
    else:
        status, message = ("passed" if all(p.status in ("passed", "skipped") for p in properties) else "failed"), ""
    outputs = [share.output for share, _ in shares if share.output]
    output = outputs[0] if len(set(outputs)) == 1 else "\n".join(outputs)  # a module's prints, once
    return ExerciseResult(first.id, first.questions, first.device, status, properties, message=message, output=output, duration_s=duration_s)
