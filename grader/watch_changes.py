"""Saves of the watched topic file, from watchfiles, as wake-ups of `grade watch`'s loop.

The folder is watched, not the file: editors often save by writing a new file and renaming
it over the old one, which a watch on the file itself would lose. Only events on the current
topic file count (the filter reads ``target`` on every event, so `n` can move to another
topic without restarting the watcher). A save is often several events (truncate, write,
rename, chmod); watchfiles groups what arrives within ``STEP_MS`` of each other, and the
loop re-grades only when the file's content differs from what it last graded.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

STEP_MS = 30  # quiet time that ends a group of events: a save's events arrive within a few ms
DEBOUNCE_MS = 400  # longest a group may grow while events keep coming


class FileChanges:
    """Watches a folder in a thread; ``pending()`` says whether the target file changed."""

    def __init__(self, folder: Path, target: Path) -> None:
        self.folder = folder
        self.target = target
        self._pending = threading.Event()
        self._stop = threading.Event()
        self.wake_r, self._wake_w = os.pipe()  # readable when a change arrived: the loop selects on it
        os.set_blocking(self.wake_r, False)
        self.error: str = ""
        self._thread = threading.Thread(target=self._run, name="genlab-watch", daemon=True)
        self._started = threading.Event()

    def start(self) -> None:
        self._thread.start()
        self._started.wait(5.0)

    def _matches(self, _change: object, path: str) -> bool:
        return os.path.normcase(os.path.realpath(path)) == os.path.normcase(os.path.realpath(self.target))

    def _run(self) -> None:
        try:
            from watchfiles import watch

            self._started.set()
            for _changes in watch(self.folder, watch_filter=self._matches, debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=self._stop, rust_timeout=500, yield_on_timeout=False, raise_interrupt=False):
                self._pending.set()
                os.write(self._wake_w, b"!")
        except Exception as exc:  # noqa: BLE001 - shown to the student with the --manual-run advice
            self.error = f"{type(exc).__name__}: {exc}"
            self._started.set()
            os.write(self._wake_w, b"!")

    def take(self) -> bool:
        """Whether a change arrived since the last call (and drain the wake-ups)."""
        try:
            os.read(self.wake_r, 4096)
        except BlockingIOError:
            pass
        changed = self._pending.is_set()
        self._pending.clear()
        return changed

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
