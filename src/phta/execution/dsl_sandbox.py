"""Turn a DSL file (user code) into IR in a separate, locked-down process.

The child is ``python -I`` (no user site, no PYTHON* variables) started in an empty temporary
directory with a scrubbed environment (no PHTA_* settings, no secrets: only PATH and a locale),
CPU-seconds and address-space limits, and a timeout. Before the user's code runs, the child
installs a Python audit hook (which cannot be removed) refusing sockets, subprocesses, ctypes
and any file access outside the Python installation; the user's source arrives on stdin, so the
child needs no file of ours. Only the JSON IR of ``population`` comes back on stdout, and the
parent parses and validates it like any other JSON query. The child's stderr (the user's own
traceback, or a DSLError naming their line) is reported to them as :class:`DSLFileError`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from phta.query import ir, serial

CPU_SECONDS = 10
ADDRESS_SPACE_BYTES = 1024 * 1024 * 1024
TIMEOUT_SECONDS = 20.0


class DSLFileError(Exception):
    """The DSL file failed to define a population; the message is the user's own error."""


# Runs in the child. Imports what it needs first, then locks the process down, then runs the user's
# code. Paths the user's code may read: the Python installation (stdlib and site-packages) only.
_CHILD = r"""
import io, json, os, sys
from phta.query import dsl, serial
import traceback, datetime, math, collections, itertools, functools

_allowed = tuple(sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                                        sys.base_exec_prefix) if p}))
_dirs = tuple(os.path.realpath(os.path.dirname(m.__file__)) for m in (dsl,))

def _inside(path):
    try:
        real = os.path.realpath(os.fsdecode(path))
    except Exception:
        return False
    return any(real == a or real.startswith(a + os.sep) for a in _allowed + _dirs)

_BLOCKED = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
            "os.forkpty", "ctypes.", "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod",
            "os.chown", "os.truncate", "os.link", "os.symlink", "shutil.", "urllib.", "http.",
            "os.chdir", "sys.setrecursionlimit", "os.putenv", "os.unsetenv", "webbrowser.")

def _hook(event, args):
    if event.startswith(_BLOCKED):
        raise PermissionError(f"not allowed in a query definition: {event}")
    if event == "open":
        path, mode = args[0], args[1]
        if isinstance(path, int):
            return
        if (mode and any(c in str(mode) for c in "wax+")) or not _inside(path):
            raise PermissionError(f"not allowed in a query definition: opening {path!r}")
    if event in ("os.listdir", "os.scandir") and not _inside(args[0] if args[0] is not None else "."):
        raise PermissionError("not allowed in a query definition: listing a directory")

out = sys.stdout
source = sys.stdin.read()
filename = sys.argv[1]
import linecache
linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # tracebacks show lines
sys.stdout = sys.stderr  # the user's prints go to stderr; stdout carries only the IR
sys.addaudithook(_hook)
namespace = {"__name__": "__phta_query__", "__file__": filename}
try:
    exec(compile(source, filename, "exec"), namespace)
    population = dsl.population_of(namespace, filename)
except dsl.DSLError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
except BaseException:
    # The user's own traceback, trimmed to frames in their file and the error line.
    etype, value, tb = sys.exc_info()
    frames = [f for f in traceback.extract_tb(tb) if f.filename == filename]
    print("Traceback (most recent call last):", file=sys.stderr)
    print("".join(traceback.format_list(frames)), end="", file=sys.stderr)
    print("".join(traceback.format_exception_only(etype, value)), end="", file=sys.stderr)
    sys.exit(2)
out.write(serial.to_json(population))
out.flush()
"""


def _limit_resources() -> None:  # pragma: no cover - runs in the child before exec
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    os.setsid()


def compile_dsl_file(path: str | Path, timeout: float = TIMEOUT_SECONDS) -> ir.Cohort:
    """Run a DSL file in the sandbox and return the validated Cohort it defines."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DSLFileError(f"cannot read {path}: {e}") from None
    return compile_dsl_source(source, path.name, timeout=timeout)


def compile_dsl_source(source: str, filename: str = "query.py", timeout: float = TIMEOUT_SECONDS) -> ir.Cohort:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory(prefix="phta-dsl-") as empty:
        try:
            proc = subprocess.run(  # noqa: S603 - our own interpreter and fixed bootstrap code
                [sys.executable, "-I", "-c", _CHILD, filename],
                input=source, capture_output=True, text=True, cwd=empty, env=env,
                timeout=timeout, preexec_fn=_limit_resources, check=False,
            )
        except subprocess.TimeoutExpired:
            raise DSLFileError(f"{filename}: took longer than {timeout:g} seconds (an endless loop?)") from None
    if proc.returncode != 0:
        message = proc.stderr.strip() or f"the query process ended with code {proc.returncode}"
        if proc.returncode < 0:
            message = f"{filename}: stopped by the sandbox (signal {-proc.returncode}: too much CPU or memory)"
        raise DSLFileError(message)
    try:
        node = serial.from_json(proc.stdout)
    except ir.IRError as e:
        raise DSLFileError(f"{filename}: the query it produced is not valid: {e}") from None
    if not isinstance(node, ir.Cohort):
        raise DSLFileError(f"{filename}: expected a cohort, got {type(node).__name__}")
    return node
