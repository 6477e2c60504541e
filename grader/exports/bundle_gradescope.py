"""`grade bundle gradescope autograder.zip`: a Gradescope autograder built from this course.

The zip holds ``setup.sh`` and ``run_autograder`` at its root and a copy of the course in
``genlab/``. ``run_autograder`` always writes ``results/results.json``: when grading itself
fails (a crash, the 10-minute limit) it writes a zero score that says why, so the student
never sees Gradescope's bare "autograder failed". ``GENLAB_AUTOGRADER_ROOT`` replaces
``/autograder`` (tests run the script on a fake tree). A submission of one notebook and no
topic modules is graded as a notebook; ``GENLAB_TARGETS`` limits grading to
some exercises (space-separated; default every exercise); ``GENLAB_SANDBOX`` picks the sandbox
mode (default ``auto``). Run as root, as Gradescope does, every worker runs as ``nobody``
(``GENLAB_WORKER_USER`` overrides), which cannot read ``/autograder/source`` or the results.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from grader import paths
from grader.errors import UsageError

COURSE_ITEMS = ("pyproject.toml", "README.md", "questions.yaml", "grading.toml", "grader", "tui", "solutions", "exercises")

# Gradescope's base image is Ubuntu 22.04, whose python3 is 3.10; genlab needs 3.11.
SETUP_SH = """#!/usr/bin/env bash
# Runs once, as root, when Gradescope builds the autograder image.
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends python3.11 python3.11-venv bubblewrap
python3.11 -m venv /opt/genlab
# The CPU build of torch first, so pip never pulls the CUDA packages (see the course README).
/opt/genlab/bin/python -m pip install torch==2.13.0
/opt/genlab/bin/python -m pip install /autograder/source/genlab
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Grades /autograder/submission and always writes /autograder/results/results.json.
# The judge runs as root; every worker runs as the unprivileged user `nobody` (inside bubblewrap
# where the container allows namespaces), to whom /autograder/source and /autograder/results
# are unreadable: the worker gets a world-readable copy of the grader package and of the
# submission, nothing else of the course.
ROOT="${GENLAB_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${GENLAB_PYTHON:-/opt/genlab/bin/python}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
[ -d "$ROOT/source/genlab/grader" ] || exit 0
WORK="$(mktemp -d)"
cp -r "$ROOT/source/genlab/grader" "$WORK/grader"
mkdir "$WORK/submission"
[ -d "$ROOT/submission" ] && cp -r "$ROOT/submission/." "$WORK/submission/"
chmod -R a+rX "$WORK"
if [ "$(id -u)" = 0 ]; then
  chmod 700 "$ROOT/source" "$ROOT/results"
  export GENLAB_WORKER_USER="${GENLAB_WORKER_USER:-nobody}"
fi
if [ ! -d "$ROOT/submission" ]; then SUBMISSION="$ROOT/submission"; else SUBMISSION="$WORK/submission"; fi
# A single notebook and no topic modules: grade the notebook (its catalog-named definitions).
shopt -s nullglob
MODULES=("$WORK"/submission/*.py); NOTEBOOKS=("$WORK"/submission/*.ipynb)
if [ ${#MODULES[@]} -eq 0 ] && [ ${#NOTEBOOKS[@]} -eq 1 ]; then SUBMISSION="${NOTEBOOKS[0]}"; fi
if [ -n "${GENLAB_TARGETS:-}" ]; then TARGETS=($GENLAB_TARGETS); else TARGETS=(--all); fi
OUT="$(mktemp)"; ERR="$(mktemp)"
cd "$WORK" || exit 0
# Gradescope's default limits: 10 minutes and 768 MB; leave room to write the fallback.
PYTHONPATH="$WORK" GENLAB_COURSE="$ROOT/source/genlab" timeout -k 5 540 "$PYTHON" -m grader "${TARGETS[@]}" \
  --submission "$SUBMISSION" --device cpu --no-record --memory-mb 512 --sandbox "${GENLAB_SANDBOX:-auto}" --format gradescope >"$OUT" 2>"$ERR"
if "$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1])); assert isinstance(d.get("tests"), list)' "$OUT" 2>/dev/null; then
  cp "$OUT" "$RESULTS"
else
  "$PYTHON" - "$ERR" "$RESULTS" <<'PY' || printf '{"score": 0, "output": "genlab could not grade this submission", "tests": []}\n' >"$RESULTS"
import json, sys
err = open(sys.argv[1], encoding="utf-8", errors="replace").read()[-4000:]
message = "genlab could not grade this submission (it crashed the grader or ran out of time).\n" + err
json.dump({"score": 0, "output": message, "stdout_visibility": "hidden", "tests": []}, open(sys.argv[2], "w"))
PY
fi
rm -rf "$WORK" "$OUT" "$ERR"
exit 0
"""


def write_bundle(path: Path, course: Path | None = None) -> list[str]:
    """Write the autograder zip; returns the names it holds."""
    course = course or paths.course_root()
    if path.suffix != ".zip":
        raise UsageError(f"{path}: Gradescope wants a .zip; pass e.g. autograder.zip")
    names = []
    try:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
                info = zipfile.ZipInfo(name)
                info.external_attr = 0o755 << 16  # executable once unpacked
                z.writestr(info, text)
                names.append(name)
            for item in COURSE_ITEMS:
                source = course / item
                files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts) if source.is_dir() else []
                for f in files:
                    arcname = "genlab/" + f.relative_to(course).as_posix()
                    z.write(f, arcname)
                    names.append(arcname)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    return names
