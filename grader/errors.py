"""User errors: shown as `Error: …` with the fix, exit code 2, never a traceback."""

from __future__ import annotations


class UsageError(Exception):
    """The command line or an input file is wrong; the message says how to fix it."""
