"""The grading policy file (grading.toml): defaults, validation with file:line and fix, and scoring."""

from __future__ import annotations

import pytest

from grader.core.results import ExerciseResult, PropertyResult
from grader.exports.outdir import report_from_json
from grader.exports.policy import Policy, PolicyError, load_policy
from grader.exports.scoring import score_exercise
from tests.cli_helpers import run_grade


def test_no_file_means_one_point_per_exercise(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GENLAB_COURSE", str(tmp_path))
    policy = load_policy()
    assert policy.points_of("flows.log_prob") == 1 and policy.partial_credit == "fraction" and policy.hidden_visibility == "after_published"


def test_exercise_entry_wins_over_topic_entry(tmp_path) -> None:
    path = tmp_path / "grading.toml"
    path.write_text('default_points = 2\npartial_credit = "all_or_nothing"\nhidden_weight = 3\n\n[points]\nflows = 5\n"flows.log_prob" = 4\n')
    policy = load_policy(path)
    assert (policy.points_of("flows.log_prob"), policy.points_of("flows.sample"), policy.points_of("vae.slerp")) == (4, 5, 2)
    assert policy.partial_credit == "all_or_nothing" and policy.property_weight("hidden") == 3 and policy.property_weight("public") == 1


@pytest.mark.parametrize(
    ("text", "line", "fix"),
    [
        ('default_points = 1\npartial_credit = "half"\n', 2, '"fraction"'),
        ("\n\nhidden_weight = -1\n", 3, "hidden_weight = 1"),
        ('hidden_visibility = "never"\n', 1, "after_published"),
        ("[points]\n\"flows.logprob\" = 2\n", 2, "did you mean flows.log_prob"),
        ('[points]\nflows = "two"\n', 2, '"flows" = 2'),
        ("default_point = 1\n", 1, "the settings are"),
        ("default_points = \n", 1, "Invalid value"),
    ],
)
def test_errors_name_file_line_and_fix(tmp_path, text: str, line: int, fix: str) -> None:
    path = tmp_path / "grading.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as exc:
        load_policy(path)
    message = str(exc.value)
    assert (f"{path}:{line}:" in message or f"line {line}" in message) and fix in message, message


@pytest.mark.slow
def test_cli_reports_a_bad_policy_without_traceback(tmp_path) -> None:
    bad = tmp_path / "grading.toml"
    bad.write_text('partial_credit = "most"\n')
    outdir = tmp_path / "out"
    (outdir / "students").mkdir(parents=True)
    proc = run_grade("export", str(outdir), "--format", "csv", "--output", str(tmp_path / "g.csv"), "--policy", str(bad))
    assert proc.returncode == 2 and proc.stderr.startswith("Error: ") and f"{bad}:1:" in proc.stderr and "Traceback" not in proc.stderr


def _result(statuses: list[tuple[str, str]], status: str = "failed") -> ExerciseResult:
    return ExerciseResult("flows.log_prob", ("q46",), "cpu", status, [PropertyResult(f"p{i}", "", tier, s) for i, (tier, s) in enumerate(statuses)])


@pytest.mark.parametrize("hidden_weight", [1.0, 3.0])
def test_fraction_weighs_hidden_properties(hidden_weight: float) -> None:
    statuses = [("public", "passed"), ("public", "failed"), ("hidden", "passed"), ("hidden", "skipped")]
    policy = Policy(points={"flows": 4.0}, hidden_weight=hidden_weight)
    score = score_exercise(_result(statuses), policy)
    expected = 4.0 * (1 + hidden_weight) / (2 + hidden_weight)  # the skipped hidden property counts for nothing
    assert score.points == pytest.approx(expected, abs=1e-3)
    assert sum(p.points for p in score.properties) == pytest.approx(score.points, abs=1e-3)
    assert sum(p.max_points for p in score.properties) == pytest.approx(4.0, abs=1e-3)


def test_all_or_nothing_gives_points_only_when_the_exercise_passed() -> None:
    policy = Policy(partial_credit="all_or_nothing")
    assert score_exercise(_result([("public", "passed"), ("public", "failed")]), policy).points == 0
    assert score_exercise(_result([("public", "passed"), ("hidden", "passed")], "passed"), policy).points == 1


def test_report_round_trips_through_json() -> None:
    report_json = {"exercises": [_result([("public", "passed"), ("hidden", "failed")]).to_json()], "notes": ["n"]}
    again = report_from_json(report_json)
    assert again.to_json() == {**again.to_json(), "exercises": report_json["exercises"], "notes": ["n"]}
