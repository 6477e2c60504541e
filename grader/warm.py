"""A warm grader for `grade watch`: the judge stays loaded and a fresh worker waits, ready.

A cold `grade q59` spends most of its time in two processes importing torch. Here the judge
(torch, Hypothesis, the properties, the reference solutions) is imported once, and one spare
worker is started ahead of time: it imports torch while the student edits, so a save costs
only the properties. Each grading uses a spare that has never run student code, and is then
stopped: a worker's ``sys.modules`` would otherwise keep the old version of a module the
exercise imports. The spare is started exactly like `grade` starts its worker (same command
line, inside the same bubblewrap sandbox), so isolation does not change; forking a
torch-loaded template instead would skip the import but not the sandbox set-up, and forking a
process that has loaded torch's thread pools is fragile.

A spare that dies while waiting (killed, out of memory) is replaced on the next idle tick or,
at the latest, when a grading needs it; a worker that dies during a grading is replaced and
the grading run once more on the fresh one. Either way the student sees no error (a crash
their code causes happens again on the second run and is reported).
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from grader.connection import WorkerConnection
from grader.core.catalog import questions_of, topic_of
from grader.core.results import ExerciseResult
from grader.core.states import code_hash
from grader.limits import Limits
from grader.second_judge import SecondJudge
from grader.split_grading import join, split

if TYPE_CHECKING:
    from grader.properties.api import Exercise

SECOND_JUDGE_STARTS = 3  # second judges started before one judge carries on alone
SECOND_JUDGE_GRACE_S = 30.0  # beyond the exercise's own limit, before the second judge is given up


class WarmWorkers:
    """One spare worker started ahead of time; ``take`` hands it out, ``replenish`` starts the next."""

    def __init__(self, submission: Path, *, limits: Limits, isolation: str) -> None:
        self.submission = submission
        self.limits = limits
        self.isolation = isolation
        self.replaced = 0  # spares found dead and replaced (tests, trace)
        self._spare: WorkerConnection | None = None
        self.replenish()

    def replenish(self) -> None:
        """Make sure a live spare exists and is importing torch."""
        if self._spare is not None and self._spare.alive():
            return
        if self._spare is not None:
            self._spare.stop()
            self.replaced += 1
        self._spare = WorkerConnection(self.submission, limits=self.limits, isolation=self.isolation, warm_up=True)
        self._spare.send_ping()  # answered once torch is imported: is_ready() reads it without waiting

    def ready(self) -> bool:
        """Is a spare alive with torch imported (a grading would start at once)?"""
        return self._spare is not None and self._spare.is_ready()

    @property
    def spare_pid(self) -> int | None:
        return self._spare.pid if self._spare is not None else None

    def take(self) -> WorkerConnection:
        """The spare, for one grading; the caller stops it and calls ``replenish`` afterwards."""
        self.replenish()
        spare, self._spare = self._spare, None
        assert spare is not None
        return spare

    def close(self) -> None:
        if self._spare is not None:
            self._spare.stop()
            self._spare = None


class WarmGrader:
    """Grades one exercise at a time with the judge kept loaded and a spare worker waiting.

    With ``second_judge`` (the default where two cores exist) a second warm judge is started
    after the first verdict, and from then on each grading is shared between the two
    (grader.split_grading, grader.second_judge) whenever the second is ready.
    """

    def __init__(self, submission: Path, *, solutions: Path | None, limits: Limits, isolation: str, device: str = "cpu", second_judge: bool | None = None) -> None:
        self.submission = submission
        self.solutions = solutions
        self.limits = limits
        self.isolation = isolation
        self.device = device
        self.workers = WarmWorkers(submission, limits=limits, isolation=isolation)
        self.retried = 0  # gradings run again because their worker died (tests, trace)
        self.shared = 0  # gradings the second judge took part in (tests, trace)
        self.second_deaths = 0  # second judges found dead and replaced
        self._used: WorkerConnection | None = None
        self._want_second = _two_judges_help() if second_judge is None else second_judge
        self.second: SecondJudge | None = None
        self._durations: dict[str, dict[str, float]] = {}  # exercise -> property -> last time (s)
        self._last: str | None = None  # the exercise graded last
        # Imported while the spare imports torch, as `grade` overlaps its two start-ups.
        from grader.properties import load_topics

        self._load_topics = load_topics
        _remember_function_digests()

    def ready(self) -> bool:
        """Would a grading start at once, on every judge it would use?"""
        second_ok = self.second is None or self.second.dead or self.second.ready()
        return self.workers.ready() and second_ok

    def grade(self, exercise_id: str, *, only: Collection[str] | None = None, durations: dict[str, float] | None = None) -> ExerciseResult:
        """Grade one exercise in the spare worker (call ``recycle`` once the verdict is shown).

        ``only`` and ``durations`` are grade_exercise's (the second judge grades its share so)."""
        registry = self._load_topics({topic_of(exercise_id)})
        exercise = registry.get(exercise_id)
        if exercise is None:
            result = ExerciseResult(exercise_id, questions_of(exercise_id), self.device, "error", message="this exercise has no properties yet")
        else:
            names = [p.name for p in exercise.properties if only is None or p.name in only]
            self.recycle()
            self._used = self.workers.take()
            self._last = exercise_id
            times: dict[str, float] = {}
            with _collector_paused():
                result = self._run(exercise, names, times)
                if self._used.deaths:
                    # The worker died under the grading (killed from outside, or the student's
                    # code ended it): grade once more on the fresh process the connection started
                    # in its place. A crash of the student's own making happens again and is
                    # reported then.
                    self.retried += 1
                    self._used.deaths = 0
                    times = {}
                    result = self._run(exercise, names, times)
            if durations is not None:
                durations.update(times)
        result.code_hash = code_hash(self.submission, exercise_id)
        return result

    def warm_up(self, exercise_id: str) -> None:
        """Run the exercise's properties once on the reference, in this process, so that a fresh
        judge's first grading costs what later ones do (property modules imported, strategies
        built, digests computed). The reference is the course's code: no student code runs here.
        Without solutions/ (a student copy) only the properties are loaded."""
        from grader.connection import LocalConnection
        from grader.reference import load_reference
        from grader.runner import grade_exercise

        exercise = self._load_topics({topic_of(exercise_id)}).get(exercise_id)
        reference = None if exercise is None else load_reference(self.solutions, exercise.topic)
        if exercise is not None and reference is not None:
            grade_exercise(exercise, LocalConnection({exercise.topic: reference}), device=self.device, reference=reference)

    def _run(self, exercise: Exercise, names: list[str], durations: dict[str, float]) -> ExerciseResult:
        """Grade ``names``, shared with the second judge when it is ready; ``durations`` receives
        each property's time, in the order they ran."""
        start = time.monotonic()
        measured = self._durations.setdefault(exercise.id, {})
        second = self.second if self.second is not None and len(names) > 1 and self.second.ready() else None
        if second is None:
            result = self._grade_here(exercise, names, durations)
            measured.update(durations)
            return result
        mine, theirs = split(names, measured)
        second.start_share(exercise.id, theirs)
        my_times: dict[str, float] = {}
        here = self._grade_here(exercise, mine, my_times)
        answer = second.finish_share(self.limits.exercise_timeout + SECOND_JUDGE_GRACE_S)
        if answer is None:  # it died or broke down: grade its share here, on the same worker
            their_times: dict[str, float] = {}
            there = self._grade_here(exercise, theirs, their_times)
        else:
            there, their_times = answer
            self.shared += 1
        for times in (my_times, their_times):
            measured.update(times)
            durations.update(times)
        joined = join(names, [(here, _last(my_times)), (there, _last(their_times))], time.monotonic() - start)
        if joined is None:  # the shares cannot tell `grade`'s verdict (see join): grade in order
            durations.clear()
            joined = self._grade_here(exercise, names, durations)
            joined.duration_s = time.monotonic() - start
        return joined

    def _grade_here(self, exercise: Exercise, names: list[str], durations: dict[str, float]) -> ExerciseResult:
        from grader.runner import grade_exercise

        assert self._used is not None
        return grade_exercise(
            exercise,
            self._used,
            device=self.device,
            solutions=self.solutions,
            call_timeout=self.limits.call_timeout,
            exercise_timeout=self.limits.exercise_timeout,
            only=names,
            durations=durations,
        )

    def recycle(self) -> None:
        """Stop the worker the last grading used and start the next spares (off the critical path)."""
        graded = self._used is not None
        if self._used is not None:
            self._used.stop()
            self._used = None
            gc.collect()  # what the grading left while the collector was paused (a few MiB)
        self.workers.replenish()
        if graded and self._want_second and (self.second is None or self.second.dead):
            # Started after the first verdict, not with it: its start-up would slow that one down.
            # One that died is replaced, as a dead spare is, but not forever: one that keeps dying
            # (it cannot start here) would cost a torch import on every save.
            if self.second is not None:
                self.second.close()
                self.second_deaths += 1
            if self.second_deaths >= SECOND_JUDGE_STARTS:
                self._want_second = False
                return
            trace = bool(os.environ.get("GENLAB_WATCH_TRACE"))  # then its errors are shown
            self.second = SecondJudge(self.submission, solutions=self.solutions, limits=self.limits, isolation=self.isolation, device=self.device, quiet=not trace)
            if self._last is not None:
                self.second.warm_up(self._last)  # most likely graded next

    def close(self) -> None:
        if self._used is not None:
            self._used.stop()
            self._used = None
        self.workers.close()
        if self.second is not None:
            self.second.close()
            self.second = None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off during a grading: Hypothesis allocates many short-lived
    objects per example, and the collections they trigger cost about 8% of a warm re-grade
    here (q59). The garbage, a few MiB, is collected in ``recycle``, after the verdict."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _last(durations: dict[str, float]) -> str | None:
    """The property a share started last (where it stopped, if it stopped early)."""
    return next(reversed(durations), None)


def _two_judges_help() -> bool:
    """A second judge pays off only with a core of its own; GENLAB_WATCH_JUDGES=1 turns it off."""
    if os.environ.get("GENLAB_WATCH_JUDGES", "").strip() == "1":
        return False
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return cores >= 2


def _remember_function_digests() -> None:
    """Compute each property's Hypothesis digest once per session instead of twice per run.

    Grading is derandomized: Hypothesis seeds each property from a digest of its source,
    which it recomputes (``inspect.getsource``, tokenizing) on every run, about 10 ms a
    property. The judge's property functions do not change while `grade watch` runs, so the
    digest of a function is remembered: the same bytes, hence the same examples and verdicts.
    Without that Hypothesis function (another version), nothing is changed.
    """
    import hypothesis.core as core

    digest = getattr(core, "function_digest", None)
    if digest is None or getattr(digest, "genlab_remembered", False):
        return
    remembered: dict[int, tuple[object, bytes]] = {}

    def function_digest(function: object) -> bytes:
        hit = remembered.get(id(function))
        if hit is None or hit[0] is not function:  # the function is kept, so its id is not reused
            hit = remembered[id(function)] = (function, digest(function))
        return hit[1]

    function_digest.genlab_remembered = True  # type: ignore[attr-defined]
    core.function_digest = function_digest
