"""The `grade` command line: parse, call the engine, render. No grading logic lives here.

Over 300 lines for now: the commands are declared together while several branches add
commands to it at once (issue 12); once they have landed, the tools (`batch`, `export`,
`report`, `bundle`) move to a module of their own.

    grade q46 | flows.log_prob | flows | --all     grade exercises
    grade                                           progress summary and what to do next
    grade show q46 [--answer] [--lang ru|en]        read a question of the bank
    grade check-bank [PATH]                         validate a question bank file
    grade check-course                              check that every exercise of the course is complete
    grade batch CLASS_DIR --csv grades.csv          grade one folder per student
    grade export OUT --format csv --output FILE     export a graded class (csv json junit gradescope prairielearn)
    grade report OUT [--html report.html]           what the class got wrong
    grade bundle gradescope autograder.zip          a Gradescope autograder
    grade bundle classroom DIR [TARGETS]            a GitHub Classroom template repository
    grade watch [q59]                               re-grade the current exercise on every save
    grade release OUT                               a student copy: no solutions, recorded reference answers
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from grader import __version__
from grader.core import paths
from grader.errors import UsageError

if TYPE_CHECKING:
    from grader.core.bank import Question
    from grader.core.results import GradeReport
    from grader.notebook import NotebookSubmission

SUBCOMMANDS = ("show", "check-bank", "check-course", "batch", "export", "report", "bundle", "watch", "release")

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Device(StrEnum):
    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"


class Format(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"
    gradescope = "gradescope"
    prairielearn = "prairielearn"
    classroom = "classroom"


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"
    junit = "junit"
    gradescope = "gradescope"
    prairielearn = "prairielearn"
    classroom = "classroom"


class Lang(StrEnum):
    ru = "ru"
    en = "en"


class Sandbox(StrEnum):
    auto = "auto"
    bwrap = "bwrap"
    none = "none"


# Options shared by `grade` and `grade batch`, declared once.
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds one call of the student's code may take.", min=0.1)]
ExerciseTimeoutOpt = Annotated[float, typer.Option("--exercise-timeout", help="Seconds one exercise may take in all.", min=1.0)]
MemoryOpt = Annotated[int, typer.Option("--memory-mb", help="Memory one worker may use, in MiB (host memory; on CUDA also GPU memory).", min=64)]
SandboxOpt = Annotated[Sandbox, typer.Option("--sandbox", help="OS sandbox around the worker: bwrap (bubblewrap, required), none, or auto (bwrap when it works here).")]


def _isolation(mode: Sandbox, *, quiet: bool = False) -> str:
    """The isolation a run gets; exits 2 when `--sandbox bwrap` cannot be had, warns loudly on a fallback."""
    from grader.sandbox import SandboxUnavailable, resolve_mode

    try:
        isolation, warning = resolve_mode(mode.value)
    except SandboxUnavailable as exc:
        raise _fail(str(exc)) from None
    if warning and not quiet:
        err.print(f"[bold red]WARNING:[/] {warning}")
    return isolation


def _fail(message: str) -> typer.Exit:
    from rich.markup import escape

    err.print(f"[red]Error:[/] {escape(message)}", markup=True, highlight=False)  # a message may hold [brackets]: pip extras, paths
    return typer.Exit(2)


grade_app = typer.Typer(add_completion=False, rich_markup_mode=None, help=__doc__)


@grade_app.command(epilog="More: `grade show q46 [--answer]`, `grade check-bank [PATH]`, `grade check-course`, `grade batch CLASS_DIR --csv FILE`.")
def grade(
    targets: Annotated[list[str] | None, typer.Argument(help="Questions (q46), exercises (flows.log_prob) or topics (flows).", show_default=False)] = None,
    all_: Annotated[bool, typer.Option("--all", help="Grade every exercise.")] = False,
    submission: Annotated[Path | None, typer.Option("--submission", help="Folder holding the topic modules, or a Jupyter notebook (.ipynb) [default: the course's exercises/].", show_default=False)] = None,
    device: Annotated[Device, typer.Option("--device", help="cpu, cuda, or auto (CPU, plus CUDA when available).")] = Device.auto,
    fmt: Annotated[Format, typer.Option("--format", help="text, json, or a hand-off document: junit, gradescope, prairielearn, classroom (points from grading.toml).")] = Format.text,
    timeout: TimeoutOpt = 10.0,
    exercise_timeout: ExerciseTimeoutOpt = 120.0,
    memory: MemoryOpt = 4096,
    sandbox: SandboxOpt = Sandbox.auto,
    record: Annotated[bool, typer.Option("--record/--no-record", help="Record the run in the progress store.")] = True,
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """Grade exercises with hidden property tests, or show your progress."""
    if version:
        out.print(f"genlab {__version__}")
        raise typer.Exit(0)
    if not targets and not all_:
        raise typer.Exit(_summary())
    try:
        from grader.core.catalog import EXERCISES
        from grader.targets import resolve

        _question_links()
        exercise_ids, notes = (list(EXERCISES), []) if all_ else resolve(targets or [])
        policy = _policy() if fmt not in (Format.text, Format.json) else None
        notebook = _notebook(submission)
        if notebook is not None:
            exercise_ids, skipped = notebook.select(exercise_ids)
            notes += skipped
            if not exercise_ids and skipped:
                notebook.close()
                raise UsageError("; ".join(skipped) + ". Grade a question or topic the notebook defines, or add the definitions as top-level `def`/`class` in a code cell")
        folder = notebook.folder if notebook is not None else _submission(submission)
    except UsageError as exc:
        raise _fail(str(exc)) from None
    if fmt is Format.text:
        for note in notes:
            out.print(f"[yellow]note:[/] {note}")
    if not exercise_ids:
        if notebook is not None:
            notebook.close()
        raise typer.Exit(0)
    isolation = _isolation(sandbox)

    from grader import render
    from grader.limits import Limits
    from grader.session import grade_run

    def show(result: object) -> None:
        if notebook is not None:
            notebook.relocate_result(result)  # before it is shown: locations name the cell
        if fmt is Format.text:
            render.exercise_result(out, result)  # type: ignore[arg-type]

    try:
        report = grade_run(
            exercise_ids,
            folder,
            device=device.value,
            solutions=paths.solutions_dir(),
            limits=Limits(call_timeout=timeout, exercise_timeout=exercise_timeout, memory_mb=memory),
            isolation=isolation,
            on_result=show,
        )
    except UsageError as exc:
        raise _fail(str(exc)) from None
    finally:
        if notebook is not None:
            notebook.close()
    report.notes = notes + report.notes
    if record:
        _record(report)
    if fmt is Format.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    elif policy is not None:
        from grader.exports.classdata import score_single_run
        from grader.exports.export import render_single

        sys.stdout.write(render_single(score_single_run(report, exercise_ids, policy), fmt.value))
    else:
        render.report_footer(out, report)
    raise typer.Exit(0 if report.passed else 1)


def _question_links() -> None:
    """Read the exercise↔question links (questions.yaml) before grading: a broken bank is a usage error."""
    from grader.core.bank import BankError
    from grader.core.catalog import links

    try:
        links()
    except BankError as exc:
        raise UsageError(f"{exc}\nEvery result names its questions, read from questions.yaml; fix the bank (`grade check-bank`)") from None


def _notebook(submission: Path | None) -> NotebookSubmission | None:
    """A .ipynb submission as a temporary folder of topic modules (see grader/notebook.py)."""
    if submission is None or submission.suffix.lower() != ".ipynb":
        return None
    from grader.notebook import open_notebook

    return open_notebook(submission.expanduser())


def _policy() -> object:
    from grader.exports.policy import load_policy

    return load_policy()


def _submission(submission: Path | None) -> Path:
    folder = (submission or paths.exercises_dir()).expanduser()
    if not folder.is_dir():
        raise UsageError(f"--submission {folder}: no such folder; pass the folder that holds your topic modules (attention.py, flows.py, …)")
    return folder.resolve()


def _record(report: GradeReport) -> None:
    from grader.core.store import Store, StoreError

    try:
        with Store.open(paths.progress_path()) as store:
            store.record_report(report)
    except StoreError as exc:
        err.print(f"[yellow]Warning:[/] progress not recorded: {exc}")


def _summary() -> int:
    from grader import render
    from grader.core.bank import BankError
    from grader.core.bankcache import load_cached
    from grader.core.store import Store, StoreError

    try:
        bank = load_cached(paths.bank_path())
    except BankError as exc:
        err.print(f"[red]Error:[/] {exc}")
        return 2
    latest = {}
    try:
        if paths.progress_path().exists():
            with Store.open(paths.progress_path()) as store:
                latest = store.latest_runs()
    except StoreError as exc:
        err.print(f"[yellow]Warning:[/] {exc}")
    target = render.summary(out, bank, latest, paths.exercises_dir())
    if target:
        out.print(f"Next: [bold]grade {target}[/]  (or `genlab` to study the theory)")
    else:
        out.print("Every exercise passes. Review the theory with `genlab`.")
    return 0


tools_app = typer.Typer(add_completion=False, rich_markup_mode=None, no_args_is_help=True)


@tools_app.command("show")
def show(
    question: Annotated[str, typer.Argument(help="A question id, e.g. q46.")],
    answer: Annotated[bool, typer.Option("--answer", help="Also show the reference answer, key points and the right options.")] = False,
    lang: Annotated[Lang | None, typer.Option("--lang", help="ru or en [default: from the locale, else en].", show_default=False)] = None,
    quiz: Annotated[bool, typer.Option("--quiz", help="Answer the quiz items here, one per line; answers are graded and recorded as in the TUI.")] = False,
) -> None:
    """Print a question, its quiz items and its exercises (or answer its quiz with --quiz)."""
    from grader import render
    from grader.core.bank import BankError
    from grader.core.bankcache import load_cached
    from grader.core.lang import default_lang

    try:
        bank = load_cached(paths.bank_path())
    except BankError as exc:
        raise _fail(str(exc)) from None
    qid = question.strip().lower()
    if qid not in bank.ids():
        import difflib

        guess = difflib.get_close_matches(qid, bank.ids(), n=1)
        raise _fail(f"unknown question '{question}'" + (f"; did you mean {guess[0]}?" if guess else f"; the bank has {bank.ids()[0]}–{bank.ids()[-1]}"))
    if quiz:
        if answer:
            raise _fail("--quiz and --answer do not go together: answer first, then look with --answer")
        raise typer.Exit(_quiz(bank.question(qid), (lang or Lang(default_lang())).value))
    render.question(out, bank.question(qid), (lang or Lang(default_lang())).value, with_answer=answer, seed=_shuffle_seed())


def _quiz(q: Question, lang: str) -> int:
    """`grade show qN --quiz`: ask, grade, store each answer at once (a wrong one makes qN due)."""
    from datetime import UTC, datetime

    from rich.markup import escape

    from grader.core.store import Store, StoreError
    from grader.quiz_terminal import run_quiz
    from tui.scheduler import Reviews

    try:
        store = Store.open(paths.progress_path())
    except (StoreError, OSError, sqlite3.Error) as exc:
        raise _fail(f"cannot open the progress store {paths.progress_path()}: {exc}; answers would be lost, so the quiz did not start") from None
    with store:
        reviews = Reviews(store)

        def record(qid: str, item: int, given: object, correct: bool) -> None:
            store.record_quiz_attempt(qid, item, given, correct, lang)
            if not correct:  # as in the TUI: a wrong answer shows the question needs study
                now = datetime.now(UTC)
                reviews.bring_forward({qid: now}, now)

        out.print(f"[bold]{q.id}[/] [dim]{escape(q.topic.get(lang))}[/]")
        out.print(escape(q.prompt.get(lang)))
        out.print()
        outcome = run_quiz(out, q, lang, seed=store.shuffle_seed(), read_line=input, record=record)
    out.print({"ru": f"ответов: {outcome.answered}, верных: {outcome.right} из {len(q.quiz)}", "en": f"answered {outcome.answered}, right {outcome.right} of {len(q.quiz)}"}[lang])
    return 0 if outcome.right == len(q.quiz) else 1


def _shuffle_seed() -> str:
    """The course copy's option-order seed (as the TUI uses); '' (file order) without a usable store."""
    from grader.core.store import Store, StoreError

    try:
        with Store.open(paths.progress_path()) as store:
            return store.shuffle_seed()
    except (StoreError, OSError, sqlite3.Error) as exc:
        err.print(f"[yellow]Note:[/] options are shown in file order: {exc}", highlight=False)
        return ""


@tools_app.command("check-bank")
def check_bank(path: Annotated[Path | None, typer.Argument(help="The bank file [default: the course's questions.yaml].", show_default=False)] = None) -> None:
    """Validate a question bank; lists every problem with its line."""
    from grader.core.bank import BankError, load_bank, position_warning

    target = path or paths.bank_path()
    try:
        bank = load_bank(target)
    except BankError as exc:
        err.print(f"[red]Error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    warning = position_warning(bank)
    if warning:
        err.print(f"[yellow]Warning:[/] {target}: {warning}", highlight=False)  # not an error: the exit code stays 0
    out.print(f"{target}: {len(bank.questions)} questions in {len(bank.sections)} sections, all valid.")


@tools_app.command("check-course")
def check_course() -> None:
    """The course author's check: stubs, solutions, properties, mistakes, wrong implementations, question links."""
    from grader.core.catalog import EXERCISES
    from grader.course_check import check_course as run_checks
    from grader.course_check import report_lines

    root = paths.course_root()
    if not (root / "exercises").is_dir():
        raise _fail(f"{root} has no exercises/ folder; run in a genlab checkout or set GENLAB_COURSE to the course folder")
    findings = run_checks(root)
    for line in report_lines(findings, len(EXERCISES)):
        out.print(line, markup=False, highlight=False, soft_wrap=True)  # one line per problem, for grep
    raise typer.Exit(1 if findings else 0)


@tools_app.command("batch")
def batch(
    class_dir: Annotated[Path, typer.Argument(help="A folder with one sub-folder of topic modules per student, or a .zip of them.")],
    targets: Annotated[list[str] | None, typer.Option("--target", "-t", help="Question, exercise or topic to grade (repeatable) [default: all exercises].", show_default=False)] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for one result file per student; rerunning continues an interrupted batch [default: a temporary folder, no resume].", show_default=False)] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Students graded in parallel [default: the number of cores].", min=0, show_default=False)] = 0,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write one row per student here.", show_default=False)] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write every verdict here.", show_default=False)] = None,
    device: Annotated[Device, typer.Option("--device", help="cpu, cuda, or auto.")] = Device.cpu,
    timeout: TimeoutOpt = 10.0,
    exercise_timeout: ExerciseTimeoutOpt = 120.0,
    memory: MemoryOpt = 4096,
    sandbox: SandboxOpt = Sandbox.auto,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="One plain line per student, no progress bar.")] = False,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Grade on a dask.distributed cluster, e.g. tcp://HOST:8786 (needs the `cluster` extra; the class folder must be on a filesystem the workers share).", show_default=False)] = None,
) -> None:
    """Grade a whole class and export the grades (CSV for a gradebook, JSON for everything)."""
    import tempfile

    from grader.batch import grade_class, write_csv, write_json
    from grader.batch_progress import make_progress
    from grader.core.catalog import EXERCISES
    from grader.limits import Limits
    from grader.targets import resolve

    if scheduler is not None:
        from grader.batch_cluster import require_distributed

        try:
            require_distributed()
        except UsageError as exc:
            raise _fail(str(exc)) from None
        # Each dask worker resolves the sandbox on its own machine; this one may be a login node without bwrap.
        isolation = "none" if sandbox is Sandbox.none else "bwrap"
    else:
        isolation = _isolation(sandbox)
    scratch = unpacked = None
    if out_dir is None:
        scratch = tempfile.TemporaryDirectory(prefix="genlab-batch-")
        out_dir = Path(scratch.name)
    progress = make_progress(out, plain=quiet or not out.is_terminal)
    try:
        _question_links()
        exercise_ids = resolve(targets)[0] if targets else list(EXERCISES)
        if not exercise_ids:
            raise UsageError("the targets select no exercise (theory-only questions have none)")
        limits = Limits(call_timeout=timeout, exercise_timeout=exercise_timeout, memory_mb=memory)
        if class_dir.suffix.lower() == ".zip" and class_dir.is_file():
            from grader.class_zip import extract_class

            unpacked = tempfile.TemporaryDirectory(prefix="genlab-class-")
            class_dir = extract_class(class_dir, Path(unpacked.name))
        with progress:
            records = grade_class(class_dir, exercise_ids, out_dir, device=device.value, solutions=paths.solutions_dir(), limits=limits, isolation=isolation, jobs=jobs or os.cpu_count() or 1, scheduler=scheduler, sandbox_mode=sandbox.value, on_start=progress.start, on_student=progress.done)
    except UsageError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot write the results to {out_dir}: {exc.strerror} (pass a writable --out folder)") from None
    for path, write in ((csv_path, lambda p: write_csv(p, records, exercise_ids)), (json_path, lambda p: write_json(p, records, isolation))):
        if path is not None:
            try:
                write(path)
            except OSError as exc:
                raise _fail(f"cannot write {path}: {exc.strerror}") from None
            out.print(f"wrote {path}")
    errors = sum(r["status"] == "error" for r in records)
    out.print(f"graded {len(records)} students" + (f", {errors} could not be graded" if errors else "") + (f"; results in {out_dir}" if scratch is None else ""))
    unsandboxed = sum(r["isolation"] == "none" for r in records)
    if isolation == "none" or unsandboxed:
        err.print(f"[bold red]WARNING:[/] {unsandboxed} of {len(records)} students were graded WITHOUT an OS sandbox (isolation: none); the exports record it.")
    for folder in (scratch, unpacked):
        if folder is not None:
            folder.cleanup()  # explicitly: main() ends with os._exit, which skips finalizers


@tools_app.command("export")
def export(
    outdir: Annotated[Path, typer.Argument(help="The folder `grade batch CLASS --out DIR` wrote.")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="csv, json, junit (one file); gradescope, prairielearn, classroom (a folder, one results.json per student).")],
    output: Annotated[Path, typer.Option("--output", help="The file (or folder) to write.")],
    policy: Annotated[Path | None, typer.Option("--policy", help="The grading policy [default: grading.toml at the course root, else 1 point per exercise].", show_default=False)] = None,
) -> None:
    """Export a graded class without grading again; points follow the course's grading.toml."""
    from grader.exports.export import STUDENT_FORMATS
    from grader.exports.export import export as write_export
    from grader.exports.policy import load_policy

    try:
        written = write_export(outdir, fmt.value, output, load_policy(policy))
    except UsageError as exc:
        raise _fail(str(exc)) from None
    out.print(f"wrote {output}" + (f" ({len(written)} students)" if fmt.value in STUDENT_FORMATS else ""))


@tools_app.command("report")
def report(
    outdir: Annotated[Path, typer.Argument(help="The folder `grade batch CLASS --out DIR` wrote.")],
    html: Annotated[Path | None, typer.Option("--html", help="Also write a self-contained HTML page here.", show_default=False)] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="The grading policy [default: grading.toml at the course root].", show_default=False)] = None,
) -> None:
    """Summarise a graded class: scores, pass rates, the mistakes most students made."""
    from grader.exports.class_stats import class_stats
    from grader.exports.classdata import score_class
    from grader.exports.outdir import read_outdir
    from grader.exports.policy import load_policy
    from grader.exports.report_text import print_report

    try:
        scored = score_class(read_outdir(outdir), load_policy(policy))
        stats = class_stats(scored)
        print_report(out, scored, stats)
        if html is not None:
            from grader.exports.report_html import render

            try:
                html.write_text(render(scored, stats), encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"cannot write {html}: {exc.strerror}") from None
            out.print(f"wrote {html}")
    except UsageError as exc:
        raise _fail(str(exc)) from None


@tools_app.command("bundle")
def bundle(
    kind: Annotated[str, typer.Argument(help="gradescope (an autograder .zip) or classroom (a GitHub Classroom template folder).")],
    path: Annotated[Path, typer.Argument(help="What to write: autograder.zip, or a new folder for classroom.")],
    targets: Annotated[list[str] | None, typer.Argument(help="classroom only: the questions, exercises or topics the assignment grades [default: all].", show_default=False)] = None,
) -> None:
    """Package the course for an autograding service."""
    if kind not in ("gradescope", "classroom"):
        raise _fail(f"unknown bundle '{kind}'; this version writes: gradescope, classroom")
    try:
        if kind == "gradescope":
            if targets:
                raise UsageError("the gradescope bundle grades every exercise (set GENLAB_TARGETS in its environment to narrow it); remove the targets")
            from grader.exports.bundle_gradescope import write_bundle

            names = write_bundle(path)
            out.print(f"wrote {path} ({len(names)} files); upload it as the assignment's autograder")
            return
        from grader.exports.bundle_classroom import WORKFLOW_PATH, write_template
        from grader.targets import resolve

        resolve(targets or [])  # a misspelt target fails here, not in every student's workflow
        names = write_template(path, targets or [])
    except UsageError as exc:
        raise _fail(str(exc)) from None
    out.print(f"wrote {path} ({len(names)} files, workflow {WORKFLOW_PATH}); push it to GitHub and mark it a template repository for the assignment")


@tools_app.command("watch")
def watch(
    target: Annotated[str | None, typer.Argument(help="A question (q59), exercise (attention.causal_mask) or topic to start with [default: the first unfinished exercise].", show_default=False)] = None,
    submission: Annotated[Path | None, typer.Option("--submission", help="Folder holding the topic modules [default: the course's exercises/].", show_default=False)] = None,
    manual_run: Annotated[bool, typer.Option("--manual-run", help="Do not watch the file (file systems without change events: WSL, some containers, network drives); press r to grade.")] = False,
    lang: Annotated[Lang | None, typer.Option("--lang", help="ru or en [default: from the locale, else en].", show_default=False)] = None,
    timeout: TimeoutOpt = 10.0,
    exercise_timeout: ExerciseTimeoutOpt = 120.0,
    memory: MemoryOpt = 4096,
    sandbox: SandboxOpt = Sandbox.auto,
) -> None:
    """Grade the current exercise, then again on every save of its topic file (n next, h hint, l list, r re-run, q quit)."""
    from grader.core.catalog import EXERCISES, links
    from grader.core.lang import default_lang
    from grader.targets import resolve

    try:
        if submission is not None and submission.suffix.lower() == ".ipynb":
            raise UsageError(f"--submission {submission}: `grade watch` follows a folder of topic modules; grade a notebook with `grade TARGET --submission {submission.name}`, or `%grade` inside Jupyter")
        folder = _submission(submission)
        _question_links()
        targets = resolve([target])[0] if target else list(EXERCISES)
        if not targets:
            raise UsageError(f"{target} has no code exercise; pick a question with one (`grade` lists them)")
    except UsageError as exc:
        raise _fail(str(exc)) from None
    isolation = _isolation(sandbox)

    from grader.limits import Limits
    from grader.warm import WarmGrader
    from grader.watch import WatchOptions, run_watch

    limits = Limits(call_timeout=timeout, exercise_timeout=exercise_timeout, memory_mb=memory)
    grader = WarmGrader(folder, solutions=paths.solutions_dir(), limits=limits, isolation=isolation)
    options = WatchOptions(folder, paths.solutions_dir(), isolation, (lang or Lang(default_lang())).value, manual_run, trace=bool(os.environ.get("GENLAB_WATCH_TRACE")))
    asked = target.strip().lower() if target and target.strip().lower() in {q for qs in links().questions.values() for q in qs} else None
    raise typer.Exit(run_watch(grader, options, targets, asked, out))


@tools_app.command("release")
def release(out_dir: Annotated[Path, typer.Argument(help="The folder to write the student copy into (new or empty).", show_default=False)]) -> None:
    """Write a student copy of the course: stubs, bank, grader, TUI, README, and the reference's
    recorded answers instead of solutions/ (exit 0 written, 1 written but it contains reference code, 2 usage error)."""
    from grader.release.build import build_release

    try:
        made = build_release(out_dir)
    except UsageError as exc:
        raise _fail(str(exc)) from None
    out.print(f"wrote {made.out}: {made.files} files; the reference's answers for {made.exercises} exercises take {made.answers_bytes / 1024:.0f} KiB", markup=False, soft_wrap=True)
    if made.instructor_only:
        out.print(f"{len(made.instructor_only)} checks run only in the instructor's copy (the student copy says so when it skips them):", markup=False, soft_wrap=True)
        for line in made.instructor_only:
            out.print(f"  {line}", markup=False, highlight=False)
    if made.leaks:
        err.print(f"[bold red]The copy contains the reference's source[/] ({len(made.leaks)} places); do not publish it: rewrite these files without the reference's code and comments (an independent oracle, e.g. torch.cdist or an SVD, or move the helper into solutions/), then build again:")
        for line in made.leaks:
            err.print(f"  {line}", markup=False, highlight=False)
        raise typer.Exit(1)
    out.print(f"students: cd {made.out} && python3 -m pip install -e . && grade", markup=False)


def main(argv: list[str] | None = None) -> None:
    """Console entry point of `grade`."""
    args = sys.argv[1:] if argv is None else argv
    app = tools_app if args and args[0] in SUBCOMMANDS else grade_app
    try:
        typer.main.get_command(app)(args=args, prog_name="grade")
    except SystemExit as done:
        if argv is not None:
            raise
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    else:
        code = 0
    # Everything is written and the store is closed; skip the interpreter's teardown of torch
    # and Hypothesis, which takes longer than a whole grading of one question.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
