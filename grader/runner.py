"""Runs an exercise's properties against a submission and turns the outcome into results."""

from __future__ import annotations

import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis.errors import Unsatisfiable, UnsatisfiedAssumption

from grader.connection import Connection
from grader.core.catalog import questions_of
from grader.core.results import ExerciseResult, PropertyResult
from grader.failures import Abort, PropertyFailure
from grader.fast_vjp import grads_without_sympy
from grader.properties.api import Context, Exercise, Property
from grader.properties.judge_only import JudgeOnly
from grader.reference import load_reference
from grader.release.student_copy import JUDGE_ONLY, PARTLY, UNRECORDED
from grader.student import Student

DEFAULT_CALL_TIMEOUT = 10.0
DEFAULT_EXERCISE_TIMEOUT = 120.0


def grade_exercise(
    exercise: Exercise,
    connection: Connection,
    *,
    device: str = "cpu",
    solutions: Path | None = None,
    reference: Any | None = None,
    call_timeout: float = DEFAULT_CALL_TIMEOUT,
    exercise_timeout: float = DEFAULT_EXERCISE_TIMEOUT,
    only: str | Collection[str] | None = None,
    durations: dict[str, float] | None = None,
) -> ExerciseResult:
    """Grade one exercise on one device.

    ``only`` restricts the run to one property, or to a share of them (the second judge of
    `grade watch`, grader.split_grading); ``durations``, when given, receives each property's
    wall time, which that split balances on."""
    start = time.monotonic()
    instructor_only: dict[str, str] = {}
    if reference is None:
        reference = load_reference(solutions, exercise.topic)
    if reference is None and solutions is None:
        reference, instructor_only = _recorded(exercise.id)
    # Recorded answers know no parameter names: a student copy shows arguments by position.
    names_from = None if getattr(reference, "recorded", False) else reference
    student = Student(connection, exercise.topic, device, call_timeout, deadline=start + exercise_timeout, arg_names=_argument_names(names_from))
    result = ExerciseResult(exercise.id, questions_of(exercise.id), device, "passed")
    chosen = {only} if isinstance(only, str) else only
    props = [p for p in exercise.properties if chosen is None or p.name in chosen]

    def finish(status: str, message: str = "") -> ExerciseResult:
        result.status = status  # type: ignore[assignment]
        result.message = message
        result.output = connection.take_output()
        result.duration_s = time.monotonic() - start
        return result

    problem = _probe(student, exercise, max(call_timeout, 30.0))
    if problem:
        result.properties = [_not_run(p) for p in props]
        return finish("error", problem)

    for index, prop in enumerate(props):
        if prop.tier == "hidden" and reference is None:
            result.properties.append(PropertyResult(prop.name, prop.statement, prop.tier, "skipped", "needs the reference solutions, which this copy of the course does not have"))
            continue
        if prop.name in instructor_only:
            result.properties.append(PropertyResult(prop.name, prop.statement, prop.tier, "skipped", instructor_only[prop.name]))
            continue
        ctx = Context(exercise, student, reference, device)
        if durations is not None:
            durations[prop.name] = -time.monotonic()  # completed in the finally below
        try:
            with _quiet_hypothesis(), grads_without_sympy():  # the reference's gradients: see grader.fast_vjp
                prop.test(ctx)
        except (Unsatisfiable, UnsatisfiedAssumption) as exc:
            if getattr(reference, "recorded", False):  # every example needed an answer the student copy lacks
                result.properties.append(PropertyResult(prop.name, prop.statement, prop.tier, "skipped", UNRECORDED))
            else:
                result.properties.append(_unexpected(prop, exc))
        except Abort as abort:
            if abort.status == "not_implemented":
                result.properties = [_not_run(p) for p in props]
                return finish("not_implemented", abort.message)
            result.properties.append(PropertyResult(prop.name, prop.statement, prop.tier, "failed", abort.message))
            result.properties += [_not_run(p) for p in props[index + 1 :]]
            return finish(abort.status, abort.message)
        except PropertyFailure as failure:
            result.properties.append(_failed(prop, failure))
        except JudgeOnly:  # the property needs a helper the student copy does not ship
            result.properties.append(PropertyResult(prop.name, prop.statement, prop.tier, "skipped", JUDGE_ONLY))
        except BaseException as exc:  # noqa: BLE001 - see _unexpected
            if isinstance(exc, KeyboardInterrupt):
                raise
            result.properties.append(_unexpected(prop, exc))
        else:
            if ctx.replay_misses and not ctx.replay_hits:
                result.properties.append(PropertyResult(prop.name, prop.statement, prop.tier, "skipped", UNRECORDED))
            else:
                result.properties.append(PropertyResult(prop.name, prop.statement, prop.tier, "passed", PARTLY if ctx.replay_misses else ""))
        finally:
            if durations is not None:
                durations[prop.name] += time.monotonic()
    passed = all(p.status in ("passed", "skipped") for p in result.properties)
    return finish("passed" if passed else "failed")


def _recorded(exercise_id: str) -> tuple[Any | None, dict[str, str]]:
    """A student copy's recorded reference answers (`grade release`), when this course has them."""
    from grader.core import paths
    from grader.release.student_copy import recorded_reference

    return recorded_reference(paths.answers_dir(), exercise_id)


def _argument_names(reference: Any) -> Any:
    """Parameter names of the reference's functions (and methods), to show a failing call's
    arguments by name; None without solutions/ (they are shown by position then)."""
    import inspect

    def names(name: str, method: str | None = None) -> list[str]:
        target = getattr(reference, name, None)
        if method is not None:
            target = getattr(target, method, None)
        try:
            params = list(inspect.signature(target).parameters)
        except (TypeError, ValueError):
            return []
        return params[1:] if method is not None and params[:1] == ["self"] else params

    return names if reference is not None else None


def _probe(student: Student, exercise: Exercise, timeout: float) -> str | None:
    """A one-line reason the exercise cannot be graded at all (missing file, import error).

    Loading the module gets its own, longer limit: a submission's imports are not a call."""
    saved, student.call_timeout = student.call_timeout, timeout
    try:
        student._request({"op": "probe", "topic": exercise.topic, "name": exercise.name})
    except Abort as abort:
        return abort.message
    except PropertyFailure as failure:
        text = failure.message.removeprefix("your code raised ")
        return f"{exercise.topic}.py could not be loaded: {text}"
    finally:
        student.call_timeout = saved
    return None


def _not_run(prop: Property) -> PropertyResult:
    return PropertyResult(prop.name, prop.statement, prop.tier, "not_run")


def _failed(prop: Property, failure: PropertyFailure) -> PropertyResult:
    return PropertyResult(prop.name, prop.statement, prop.tier, "failed", failure.message, failure.details, failure.diagnosis, failure.trace)


def _unexpected(prop: Property, exc: BaseException) -> PropertyResult:
    """An error raised while checking, not by the student's code: almost always a result of
    the wrong type or structure that the property could not use; reported as a failure."""
    failure = _flaky_failure(exc)
    if failure is not None:
        result = _failed(prop, failure)
        result.message += " (this failure did not reproduce on a second run: does your code depend on global state or randomness?)"
        return result
    return PropertyResult(prop.name, prop.statement, prop.tier, "failed", f"the result could not be checked: {type(exc).__name__}: {exc}")


def _flaky_failure(exc: BaseException) -> PropertyFailure | None:
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = inner if isinstance(inner, PropertyFailure) else _flaky_failure(inner)
            if found is not None:
                return found
    return None


@contextmanager
def _quiet_hypothesis() -> Iterator[None]:
    # Hypothesis reports the falsifying example through its reporter; the property's own
    # failure message already describes the minimal input, so nothing is printed.
    from hypothesis.reporting import with_reporter

    with with_reporter(lambda _text: None):
        yield
