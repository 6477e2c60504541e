"""Size caps of the sandbox's private writable folders: a submission cannot fill the machine's
memory through its tmpfs /tmp, HOME or /dev/shm (each file stays under RLIMIT_FSIZE; many files must not add up)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from grader.sandbox import TMPFS_MB, bwrap_command, bwrap_has_size, bwrap_path, bwrap_works

_ok, _why = bwrap_works()
pytestmark = [
    pytest.mark.skipif(not _ok, reason=f"bwrap cannot create namespaces on this machine: {_why}"),
    pytest.mark.skipif(_ok and not bwrap_has_size(bwrap_path() or ""), reason="this bwrap has no --size (too old): the tmpfs folders are not capped here"),
]

FILL = """
import os, sys
folder, written = sys.argv[1], 0
try:
    for i in range(100_000):
        with open(os.path.join(folder, f"f{i}"), "wb") as f:
            f.write(b"x" * 2**20)  # 1 MiB files: each far below the file-size limit
        written += 1
except OSError as exc:
    print(f"stopped after {written} MiB: {exc.strerror}")
"""


@pytest.mark.parametrize("folder", sorted(TMPFS_MB))
def test_private_folders_are_size_capped(tmp_path, folder) -> None:
    cmd = bwrap_command([sys.executable, "-c", FILL, folder], tmp_path, threads=1)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "No space left on device" in done.stdout, done.stdout
    written = int(done.stdout.split("after ")[1].split(" MiB")[0])
    assert TMPFS_MB[folder] - 8 <= written <= TMPFS_MB[folder]
