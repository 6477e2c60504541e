"""What screens ask of the app: navigation and grading runs (messages up; tui.study is state down)."""

from __future__ import annotations

from textual.message import Message


class OpenQuestion(Message):
    """Open a question at a step (0: its first quiz item; past the quiz: its free recall)."""

    def __init__(self, qid: str, step: int = 0) -> None:
        self.qid = qid
        self.step = step
        super().__init__()


class OpenGrading(Message):
    """Open the grading screen of a question (it starts a run when there is no result yet)."""

    def __init__(self, qid: str) -> None:
        self.qid = qid
        super().__init__()


class OpenReviews(Message):
    """Open the questions due for review."""


class OpenDashboard(Message):
    """Open the progress dashboard."""
