"""Sharing one exercise between two judges (grader.split_grading): the split and the joined verdict.

The joined verdict must be the one `grade` gives running the properties in order. Here each
property's outcome is drawn (passes, fails, or stops the grading the way an Abort does), the
sequential verdict is computed as grader.runner computes it, and the two shares' verdicts are
joined; they must agree for every split.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from grader.core.results import ExerciseResult, PropertyResult
from grader.split_grading import join, split

STOPS = ("crashed", "timed_out", "out_of_memory", "not_implemented")  # how an Abort stops a grading


def graded(names: list[str], outcomes: dict[str, str]) -> tuple[ExerciseResult, str | None]:
    """What grade_exercise returns for ``names`` run in order, each property's outcome given,
    and the property it started last (its ``durations``' last key)."""
    result = ExerciseResult("t.e", ("q1",), "cpu", "passed")
    for index, name in enumerate(names):
        outcome = outcomes[name]
        if outcome == "not_implemented":  # every property "not run"
            result.properties = [PropertyResult(n, "", "public", "not_run") for n in names]
            result.status, result.message = outcome, f"{outcome} at {name}"  # type: ignore[assignment]
            return result, name
        if outcome in STOPS:
            result.properties.append(PropertyResult(name, "", "public", "failed", f"{outcome} at {name}"))
            result.properties += [PropertyResult(n, "", "public", "not_run") for n in names[index + 1 :]]
            result.status, result.message = outcome, f"{outcome} at {name}"  # type: ignore[assignment]
            return result, name
        result.properties.append(PropertyResult(name, "", "public", outcome, "" if outcome == "passed" else "wrong"))  # type: ignore[arg-type]
    result.status = "passed" if all(p.status in ("passed", "skipped") for p in result.properties) else "failed"
    return result, names[-1] if names else None


def sequential(names: list[str], outcomes: dict[str, str]) -> ExerciseResult:
    return graded(names, outcomes)[0]


def shared(names: list[str], outcomes: dict[str, str], mine: list[str], theirs: list[str], joiner=join) -> ExerciseResult:
    return joiner(names, [graded(mine, outcomes), graded(theirs, outcomes)], 0.0)


def verdict(result: ExerciseResult) -> tuple:
    return result.status, result.message, [(p.name, p.status, p.message) for p in result.properties]


@st.composite
def exercises(draw: st.DrawFn) -> tuple[list[str], dict[str, str], list[bool]]:
    names = [f"p{i}" for i in range(draw(st.integers(2, 8)))]
    outcomes = {n: draw(st.sampled_from(("passed", "passed", "failed", "skipped", *STOPS))) for n in names}
    sides = draw(st.lists(st.booleans(), min_size=len(names), max_size=len(names)))
    return names, outcomes, sides


@given(exercises())
def test_joined_shares_give_the_sequential_verdict(case: tuple[list[str], dict[str, str], list[bool]]) -> None:
    names, outcomes, sides = case
    mine = [n for n, side in zip(names, sides, strict=True) if side]
    theirs = [n for n, side in zip(names, sides, strict=True) if not side]
    joined = shared(names, outcomes, mine, theirs)
    if joined is None:  # only when a "not implemented" share hides verdicts an earlier stop needs
        halves = [mine, theirs]
        stops = [next((names.index(n) for n in half if outcomes[n] in STOPS), len(names)) for half in halves]
        assert any(outcomes.get(names[stop] if stop < len(names) else "", "") == "not_implemented" and stops[1 - side] < stop for side, stop in enumerate(stops))
    else:
        assert verdict(joined) == verdict(sequential(names, outcomes))


def naive_join(names, shares, duration_s):
    """A wrong join: keeps every property as its share graded it and takes the first share's stop."""
    results = [result for result, _ in shares]
    stopped = next((s for s in results if s.status not in ("passed", "failed")), None)
    props = {p.name: p for s in results for p in s.properties}
    status = stopped.status if stopped else ("passed" if all(p.status == "passed" for p in props.values()) else "failed")
    return ExerciseResult("t.e", ("q1",), "cpu", status, [props[n] for n in names], message=stopped.message if stopped else "")


def test_a_join_that_ignores_where_grading_stops_is_caught() -> None:
    # p1 crashes the worker in the second share; p2, graded by the first judge, would not have run.
    names, outcomes = ["p0", "p1", "p2"], {"p0": "passed", "p1": "crashed", "p2": "failed"}
    mine, theirs = ["p0", "p2"], ["p1"]
    assert verdict(shared(names, outcomes, mine, theirs, naive_join)) != verdict(sequential(names, outcomes))
    assert verdict(shared(names, outcomes, mine, theirs)) == verdict(sequential(names, outcomes))
    # The earlier of two stops wins, whichever share it is in.
    outcomes = {"p0": "passed", "p1": "timed_out", "p2": "crashed"}
    mine, theirs = ["p0", "p2"], ["p1"]
    assert verdict(shared(names, outcomes, mine, theirs, naive_join)) != verdict(sequential(names, outcomes))
    assert shared(names, outcomes, mine, theirs).status == "timed_out"


def test_split_alternates_until_times_are_known_then_balances_them() -> None:
    names = ["a", "b", "c", "d", "e"]
    assert split(names, {}) == (["a", "c", "e"], ["b", "d"])
    assert split(names, {"a": 1.0}) == (["a", "c", "e"], ["b", "d"])  # not all known: as before
    mine, theirs = split(names, {"a": 0.1, "b": 0.9, "c": 0.4, "d": 0.3, "e": 0.2})
    assert sorted(mine + theirs) == names and mine == sorted(mine) and theirs == sorted(theirs)
    assert (mine, theirs) == (["b"], ["a", "c", "d", "e"])  # 0.9 against 1.0


@given(st.dictionaries(st.sampled_from("abcdefgh"), st.floats(0.001, 1.0), min_size=2))
def test_split_is_never_worse_than_half_plus_the_longest(times: dict[str, float]) -> None:
    names = sorted(times)
    mine, theirs = split(names, times)
    assert sorted(mine + theirs) == names
    loads = [sum(times[n] for n in share) for share in (mine, theirs)]
    assert max(loads) <= sum(times.values()) / 2 + max(times.values()) + 1e-9


def test_a_module_that_does_not_load_stops_both_shares_before_any_property() -> None:
    names = ["p0", "p1", "p2"]

    def not_loaded(share: list[str]) -> tuple[ExerciseResult, None]:
        result = ExerciseResult("t.e", ("q1",), "cpu", "error", [PropertyResult(n, "", "public", "not_run") for n in share], message="attention.py could not be loaded")
        return result, None

    joined = join(names, [not_loaded(["p0", "p2"]), not_loaded(["p1"])], 0.0)
    assert joined.status == "error" and joined.message == "attention.py could not be loaded"
    assert [p.status for p in joined.properties] == ["not_run"] * 3


def test_a_not_implemented_share_that_hides_needed_verdicts_is_not_joined() -> None:
    # p0 passed in the second share before p3 was "not implemented" there, and the grade reports
    # that share all "not run"; the first share crashed at p2, so `grade` would show p0 passed.
    names, outcomes = ["p0", "p1", "p2", "p3"], {"p0": "passed", "p1": "passed", "p2": "crashed", "p3": "not_implemented"}
    assert shared(names, outcomes, ["p2"], ["p0", "p1", "p3"]) is None
    # The same stops the other way round join: "not implemented" at p0 comes first.
    outcomes = {"p0": "not_implemented", "p1": "passed", "p2": "crashed", "p3": "passed"}
    joined = shared(names, outcomes, ["p2"], ["p0", "p1", "p3"])
    assert joined is not None and verdict(joined) == verdict(sequential(names, outcomes))
