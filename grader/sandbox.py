"""The OS sandbox around a worker: a bubblewrap (`bwrap`) command line, and whether it works here.

The judge/worker boundary already keeps a submission from forging its verdict; this keeps it from
the machine: in new user, pid, network, ipc and uts namespaces the worker sees only the Python
installation, the `grader` package, the student's own folder (all read-only) and a private `/tmp`
and `HOME`. The reference solutions, the progress store, the output folder, other students and
the parent's `/proc` do not exist there; no connection can be made (no network namespace peers);
and when the worker dies, every process it left dies with its pid namespace.

Where bwrap cannot run (macOS, Docker's default seccomp profile, AppArmor's restriction on user
namespaces) `auto` falls back to no OS sandbox, and every result records which isolation it got.
"""

from __future__ import annotations

import functools
import os
import pwd
import resource
import shutil
import site
import subprocess
import sys
from pathlib import Path

INSTALL_HINT = "apt-get install -y bubblewrap"
GRADER_MOUNT = "/opt/genlab"  # where the grader package appears inside the sandbox
MODES = ("auto", "bwrap", "none")

OUTPUT_LIMIT_MB = 64
# Sizes of the private writable folders (tmpfs lives in RAM, outside the worker's memory limit:
# without a cap, many files below RLIMIT_FSIZE could fill the machine's memory).
TMPFS_MB = {"/tmp": 256, "/home/student": 64, "/dev/shm": 256}

# Resource limits applied to the worker and everything it starts (inherited across exec).
RLIMITS = {
    "RLIMIT_NOFILE": 1024,  # open files
    "RLIMIT_FSIZE": OUTPUT_LIMIT_MB * 2**20,  # largest file it may write: caps its stdout/stderr capture as it is written
    "RLIMIT_CORE": 0,  # no core dumps
    "RLIMIT_NPROC": 4096,  # processes of the user (not enforced for root; the pid namespace is)
}

# Machine files a dynamically linked Python and torch need, none of them the course's.
_ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/nsswitch.conf", "/etc/hosts", "/etc/passwd", "/etc/group")
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32")


WORKER_USER_ENV = "GENLAB_WORKER_USER"


class SandboxUnavailable(Exception):
    """`--sandbox bwrap` was asked for and bwrap cannot run here (or the worker user does not exist)."""


def worker_user() -> tuple[int, int] | None:
    """(uid, gid) of the unprivileged account workers run as, or None.

    A grader that runs as root (Gradescope's autograder does) sets ``GENLAB_WORKER_USER`` so that
    a submission never runs as root, even where bubblewrap cannot create namespaces: as that user
    it cannot read the course's solutions or write the results, and the process limit holds.
    """
    name = os.environ.get(WORKER_USER_ENV)
    if not name or os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise SandboxUnavailable(f"{WORKER_USER_ENV}={name}: no such user; create it (`useradd --system {name}`) or unset {WORKER_USER_ENV}") from None
    return entry.pw_uid, entry.pw_gid


def user_kwargs() -> dict:
    """Popen arguments that start a worker as the worker user (none when there is no such user)."""
    user = worker_user()
    return {"user": user[0], "group": user[1], "extra_groups": []} if user else {}


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _python_roots() -> list[str]:
    """The Python installation: prefixes and package folders (read-only inside)."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, *site.getsitepackages()}
    user_site = site.getusersitepackages()
    if isinstance(user_site, str) and Path(user_site).is_dir():
        roots.add(user_site)
    real = {str(Path(r).resolve()) for r in roots if Path(r).exists()}
    # Binding /usr covers a system Python; skip what is already inside a bound folder.
    return sorted(r for r in real if not any(r == d or r.startswith(d + "/") for d in _SYSTEM_DIRS if Path(d).is_dir() and not Path(d).is_symlink()))


def _system_binds() -> list[str]:
    args: list[str] = []
    for d in _SYSTEM_DIRS:
        p = Path(d)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), d]
        elif p.is_dir():
            args += ["--ro-bind", d, d]
    for f in _ETC_FILES:
        args += ["--ro-bind-try", f, f]
    return args


def grader_package_dir() -> Path:
    return Path(__file__).resolve().parent


def bwrap_command(worker_argv: list[str], submission: Path, *, threads: int) -> list[str]:
    """The bwrap command line that runs ``worker_argv`` (starting with the Python executable)."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxUnavailable(f"bwrap is not installed; install it with `{INSTALL_HINT}`")
    args = [bwrap, "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--hostname", "genlab-worker"]
    args += ["--die-with-parent", "--new-session", "--clearenv"]
    args += _system_binds()
    for root in _python_roots():
        args += ["--ro-bind", root, root]
    args += ["--ro-bind", str(grader_package_dir()), f"{GRADER_MOUNT}/grader"]
    args += ["--proc", "/proc", "--dev", "/dev"]
    for folder, size_mb in TMPFS_MB.items():
        args += [*(["--size", str(size_mb * 2**20)] if bwrap_has_size(bwrap) else []), "--tmpfs", folder]
    # After the private /tmp, so that a submission folder under /tmp stays visible (read-only).
    args += ["--ro-bind", str(submission), str(submission)]
    args += ["--ro-bind-try", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    args += _cuda_binds()
    args += ["--chdir", "/tmp"]
    for key, value in sandbox_env(threads).items():
        args += ["--setenv", key, value]
    return [*args, "--", *worker_argv]


def _cuda_binds() -> list[str]:
    """The NVIDIA device nodes, so grading on CUDA works inside (driver libraries live in /usr)."""
    args = []
    for node in sorted(Path("/dev").glob("nvidia*")):
        args += ["--dev-bind-try", str(node), str(node)]
    return args


def sandbox_env(threads: int) -> dict[str, str]:
    """The worker's whole environment inside the sandbox (--clearenv drops the instructor's)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/student",
        "TMPDIR": "/tmp",
        "PYTHONPATH": GRADER_MOUNT,
        "LANG": "C.UTF-8",
        # As outside: a leftover breakpoint() must not wait; prints reach the capture unbuffered.
        "PYTHONBREAKPOINT": "0",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.update(thread_env(threads))
    for key in ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def thread_env(threads: int) -> dict[str, str]:
    """Thread counts of the math libraries, set explicitly so parallel slots do not oversubscribe."""
    n = str(max(1, threads))
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "GENLAB_WORKER_THREADS": n}


def apply_rlimits() -> None:
    """Run in the child between fork and exec (Popen's preexec_fn): limits inherited by everything."""
    for name, value in RLIMITS.items():
        which = getattr(resource, name, None)
        if which is None:
            continue
        try:
            _, hard = resource.getrlimit(which)
            soft = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (soft, soft))
        except (ValueError, OSError):
            pass  # a limit the machine does not allow lowering stays as it is


@functools.cache
def bwrap_has_size(bwrap: str) -> bool:
    """Whether this bwrap can cap a tmpfs (`--size`: recent bubblewrap has it, older ones such as Ubuntu 22.04's 0.6 do not)."""
    try:
        return "--size" in subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.cache
def bwrap_works() -> tuple[bool, str]:
    """Probe once: can bwrap create the namespaces here? (False, why) when it cannot."""
    bwrap = bwrap_path()
    if bwrap is None:
        return False, "bwrap is not installed"
    probe = [bwrap, "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session", *_system_binds(), "--proc", "/proc", "--dev", "/dev", "--", "true"]
    try:
        # As the user workers run as: bwrap may create namespaces for root and not for that user.
        done = subprocess.run(probe, capture_output=True, text=True, timeout=20, **user_kwargs())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"bwrap could not start ({exc})"
    if done.returncode != 0:
        return False, f"bwrap cannot create namespaces here: {done.stderr.strip() or f'exit code {done.returncode}'}"
    return True, ""


def resolve_mode(mode: str) -> tuple[str, str]:
    """The isolation a run gets for `--sandbox MODE`: ("bwrap"|"none", warning or "").

    Raises SandboxUnavailable for "bwrap" when bwrap cannot run, naming the fix."""
    worker_user()  # an unknown worker user fails here, before any student is graded
    if mode == "none":
        return "none", ""
    ok, why = bwrap_works()
    if ok:
        return "bwrap", ""
    if mode == "bwrap":
        raise SandboxUnavailable(f"--sandbox bwrap: {why}. Install it with `{INSTALL_HINT}` (on Ubuntu 24.04 also allow user namespaces: `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`), or pass --sandbox none")
    return "none", f"NO OS SANDBOX: {why}; submissions run with your user's access to this machine (install it with `{INSTALL_HINT}`)"
