"""A class as a learning-management system downloads it: a .zip of one folder per student.

Extracted into a private folder; members with absolute paths or `..` are refused (a zip must not
write outside it), and a single wrapping folder is unwrapped."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from grader.errors import UsageError

MAX_TOTAL_BYTES = 4 * 2**30  # refuse a zip bomb before extracting it


def extract_class(archive: Path, into: Path) -> Path:
    """Extract ``archive`` under ``into``; return the folder that holds the student folders."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if sum(m.file_size for m in members) > MAX_TOTAL_BYTES:
                raise UsageError(f"{archive}: expands to more than {MAX_TOTAL_BYTES // 2**30} GiB; unpack it yourself and pass the folder")
            for m in members:
                name = PurePosixPath(m.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise UsageError(f"{archive}: member {m.filename!r} would be written outside the class folder; the zip was not extracted")
            zf.extractall(into)
    except zipfile.BadZipFile as exc:
        raise UsageError(f"{archive}: not a valid zip file ({exc})") from None
    entries = [p for p in into.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(entries) == 1 and entries[0].is_dir() and any(c.is_dir() for c in entries[0].iterdir()):
        return entries[0]  # the single wrapping folder
    return into
