"""Spaced repetition of the theory with fsrs: one card per question, kept in the store.

A card is created by the first self-rating of a question's free recall; its JSON is
``Card.to_dict()`` and its due time is stored beside it so that the "due" queue is one query.

A failing exercise brings its questions back *now* instead of counting as a review: a
failing grading run says the code is wrong, not how well the theory is remembered, so it
must not lower the card's stability or raise its difficulty (which an Again or Hard would).
The student's next self-rating then updates the memory model honestly.
"""

from __future__ import annotations

from datetime import datetime

from fsrs import Card, Rating, Scheduler

from grader.core.store import Store
from tui.clock import as_utc, end_of_day

RATINGS = {1: Rating.Again, 2: Rating.Hard, 3: Rating.Good, 4: Rating.Easy}


class Reviews:
    """The review schedule over a store; ``fuzz`` spreads due dates (off in tests)."""

    def __init__(self, store: Store, *, fuzz: bool = True) -> None:
        self.store = store
        self.scheduler = Scheduler(enable_fuzzing=fuzz)

    def cards(self) -> dict[str, Card]:
        out = {}
        for qid, (data, _due) in self.store.cards().items():
            try:
                out[qid] = Card.from_dict(data)  # type: ignore[arg-type]
            except (KeyError, TypeError, ValueError):
                continue  # a card written by something else: leave it, schedule afresh later
        return out

    def rate(self, qid: str, rating: int, now: datetime) -> Card:
        """Record a self-rating (1 Again … 4 Easy) and return the rescheduled card."""
        card = self.cards().get(qid) or self._new_card(qid, now)
        card, _log = self.scheduler.review_card(card, RATINGS[rating], review_datetime=as_utc(now))
        self._save(qid, card)
        return card

    def due(self, now: datetime, *, today: bool = True) -> list[str]:
        """Questions due now (or before the end of today), the most overdue first."""
        limit = as_utc(end_of_day(now) if today else now)
        due = [(card.due, qid) for qid, card in self.cards().items() if card.due < limit]
        return [qid for _when, qid in sorted(due)]

    def bring_forward(self, failing: dict[str, datetime], now: datetime) -> list[str]:
        """Make questions due now when a linked exercise failed after their last review.

        ``failing`` maps question id -> when the latest failing run of one of its exercises
        was graded (progress.failing_questions). Idempotent: a card already due, or reviewed
        since that failure, is left alone. Returns the ids it changed.
        """
        cards = self.cards()
        changed = []
        for qid, graded_at in sorted(failing.items()):
            card = cards.get(qid)
            if card is None:
                card = self._new_card(qid, now)  # never studied: the failure puts it in the queue
            elif card.due <= as_utc(now) or (card.last_review is not None and card.last_review >= graded_at):
                continue
            else:
                card.due = as_utc(now)
            self._save(qid, card)
            changed.append(qid)
        return changed

    def _new_card(self, qid: str, now: datetime) -> Card:
        # A fixed id (not fsrs' default, the creation time) keeps stored cards reproducible.
        number = int(qid[1:]) if qid[1:].isdigit() else 0
        return Card(card_id=number, due=as_utc(now))

    def _save(self, qid: str, card: Card) -> None:
        self.store.save_card(qid, dict(card.to_dict()), card.due.isoformat())
