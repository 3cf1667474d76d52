"""The operating-system boundary around a DSL file's child process: bubblewrap plus seccomp.

The child sees a new, empty root: a read-only Python (the interpreter, its standard library and the
shared libraries it links; installed packages hidden), the ``phta`` package's ``__init__`` and ``query`` sources (read-only, at
:data:`PHTA_LIB`), a private ``/dev``, an empty tmpfs ``/tmp``, and nothing else: no ``/proc``, no
``/home``, ``/root``, ``/etc`` (but the loader's cache), data directory, keys, stores or sockets. It
runs in new user, PID, IPC, UTS, network and cgroup namespaces (no network at all, not even the
host's loopback where PostgreSQL listens), with every capability dropped, in a new session (no
terminal to inject into), killed when its parent dies, and under the seccomp filters of
:mod:`phta.execution.sandbox_filters`.

:func:`check_support` says, once per process, whether this machine can do all of that, and if not,
which feature is missing and what to install.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import phta

BWRAP = "bwrap"
PHTA_LIB = "/opt/phta"  # where the read-only phta sources appear inside the sandbox
_SYSTEM_LIBRARY_DIRS = ("/usr/lib", "/usr/lib64", "/usr/lib32")
SANDBOX_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
_LAYOUT_PROBE = ("import json, os, site, sys, sysconfig\n"
                 "v = sysconfig.get_config_vars()\n"
                 "lib = os.path.join(v.get('LIBDIR') or '', v.get('LDLIBRARY') or '')\n"
                 "paths = sysconfig.get_paths()\n"
                 "print(json.dumps({'executable': os.path.realpath(sys.executable),\n"
                 "  'stdlib': sorted({os.path.realpath(paths[k]) for k in ('stdlib', 'platstdlib')}),\n"
                 "  'libpython': os.path.realpath(lib) if v.get('Py_ENABLE_SHARED') and os.path.isfile(lib) else '',\n"
                 "  'site_packages': sorted({os.path.realpath(p) for p in [*site.getsitepackages(), paths['purelib'],\n"
                 "                           paths['platlib']] if os.path.isdir(p)})}))\n")


class SandboxUnavailable(RuntimeError):
    """This machine cannot confine a DSL file; the message names the missing feature and the fix."""


@dataclass(frozen=True)
class Interpreter:
    """The files of a Python installation the child needs, by their real paths on the host."""

    executable: str
    stdlib: tuple[str, ...]
    libpython: str = ""
    #: installed packages beside the standard library: hidden under an empty tmpfs (the child runs
    #: with -S and needs none of them)
    site_packages: tuple[str, ...] = ()


@functools.cache
def interpreter_of(executable: str | None = None) -> Interpreter:
    """The layout of ``executable`` (default: the base interpreter under our virtualenv, if any).

    The child runs the base interpreter with ``-I -S``: it needs only the standard library, so no
    virtualenv and no site-packages are mounted."""
    executable = executable or getattr(sys, "_base_executable", None) or sys.executable
    try:
        out = subprocess.run([executable, "-I", "-S", "-c", _LAYOUT_PROBE], capture_output=True,  # noqa: S603
                             text=True, timeout=30, check=True, env=SANDBOX_ENV).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise SandboxUnavailable(f"cannot inspect the Python interpreter {executable}: {e}") from None
    layout = json.loads(out)
    return Interpreter(layout["executable"], tuple(layout["stdlib"]), layout["libpython"],
                       tuple(layout["site_packages"]))


def _system_libraries() -> list[str]:
    """Read-only mounts for the shared libraries (merged-/usr symlinks are recreated as symlinks)."""
    args: list[str] = []
    for lib in _SYSTEM_LIBRARY_DIRS:
        if os.path.isdir(lib):
            args += ["--ro-bind", lib, lib]
    for top in ("/lib", "/lib64", "/lib32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    if os.path.isfile("/etc/ld.so.cache"):
        args += ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    return args


def _phta_sources() -> list[str]:
    """Only what ``phta.query`` imports: the package marker and the query language's sources."""
    package = Path(phta.__file__).resolve().parent
    return ["--ro-bind", str(package / "__init__.py"), f"{PHTA_LIB}/phta/__init__.py",
            "--ro-bind", str(package / "query"), f"{PHTA_LIB}/phta/query"]


@functools.cache
def _no_nested_userns() -> tuple[str, ...]:
    """``--disable-userns`` where bwrap has it (0.8+); seccomp forbids ``unshare``/``clone`` anyway,
    so an older bwrap still gives a sandbox rather than a refusal."""
    try:
        usage = subprocess.run([BWRAP, "--help"], capture_output=True, text=True, timeout=10,  # noqa: S603
                               check=False, env=SANDBOX_ENV)
    except (OSError, subprocess.SubprocessError):
        return ()
    return ("--disable-userns",) if "--disable-userns" in usage.stdout + usage.stderr else ()


def bwrap_command(interpreter: Interpreter, seccomp_fd: int) -> list[str]:
    """``bwrap ... --`` with every option of the boundary; the interpreter's argv follows."""
    mounts = _system_libraries()
    for path in (*interpreter.stdlib, interpreter.executable, interpreter.libpython):
        if path and not path.startswith(tuple(d + "/" for d in _SYSTEM_LIBRARY_DIRS)):
            mounts += ["--ro-bind", path, path]
    for packages in interpreter.site_packages:
        if any(packages.startswith(visible + "/") for visible in (*interpreter.stdlib, *_SYSTEM_LIBRARY_DIRS)):
            mounts += ["--tmpfs", packages]
    env: list[str] = ["--clearenv"]
    for name, value in SANDBOX_ENV.items():
        env += ["--setenv", name, value]
    return [
        BWRAP,
        "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net",
        "--unshare-cgroup-try", *_no_nested_userns(), "--uid", "65534", "--gid", "65534",
        "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "sandbox",
        *env, *mounts, *_phta_sources(),
        # the sandbox's own empty tmpfs, not the host's /tmp
        "--dev", "/dev", "--tmpfs", "/tmp", "--chdir", "/tmp",  # noqa: S108
        "--seccomp", str(seccomp_fd),
        "--",
    ]


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def missing_feature() -> str | None:
    """The first kernel or package feature the boundary needs that this machine lacks, or None."""
    if shutil.which(BWRAP) is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    if _read_int("/proc/sys/user/max_user_namespaces") == 0:
        return "user namespaces are disabled (sysctl user.max_user_namespaces=0; set it above 0)"
    if os.geteuid() != 0 and _read_int("/proc/sys/kernel/unprivileged_userns_clone") == 0:
        return ("unprivileged user namespaces are disabled "
                "(sysctl kernel.unprivileged_userns_clone=1, or run bwrap setuid)")
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        status = ""
    if "Seccomp:" not in status:
        return "the kernel has no seccomp filter support (CONFIG_SECCOMP_FILTER)"
    from phta.execution.sandbox_filters import SeccompUnavailable, process_filter
    try:
        process_filter()
    except SeccompUnavailable as e:
        return str(e)
    return None
