"""The order in which a choice item's options are shown to one student.

The order is a pure function of a per-course-copy seed (kept in the progress store) and the
item's id, so it is random across students and items but stable for one student: the same
after a restart, in the TUI and in `grade show`. Attempts are stored by option identity (the
option's index in questions.yaml), never by the letter shown, so a new seed cannot corrupt
history.
"""

from __future__ import annotations

import hashlib
import random

from grader.core.bank import QuizItem

LETTERS = "abcdefghi"


def option_order(seed: str, qid: str, index: int, item: QuizItem) -> list[int]:
    """File indices of ``item``'s options in shown order (file order for `shuffle: false`)."""
    order = list(range(len(item.options)))
    if item.shuffle and seed:
        # sha256, not hash(): Python salts str hashes per process, which would reshuffle on restart.
        digest = hashlib.sha256(f"{seed}:{qid}:{index}".encode()).digest()
        random.Random(int.from_bytes(digest[:8], "big")).shuffle(order)
    return order
