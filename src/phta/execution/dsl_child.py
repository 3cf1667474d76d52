"""The program the DSL sandbox's child runs (``python -I -S -B -c <this file's text>``).

Never imported by PHTA: :mod:`phta.execution.dsl_sandbox` reads this file and passes its text to a
bare interpreter inside bubblewrap. Arguments: the user's file name, the directory holding the
read-only ``phta`` package, and ``seccomp`` or ``unprotected``. Standard input: one line with the
hex of the exec-denying seccomp filter (empty when unprotected), then the user's source.

Order matters: import what the query language needs, read the input, set the resource limits,
install the seccomp filter, add the audit hook, and only then run the user's code. Standard output
carries one JSON object, ``{"ir": ...}`` or ``{"error": {...}}``; the parent trusts nothing else
(the user's prints go to stderr, which the parent drops).
"""

import ctypes
import json
import os
import resource
import sys
import traceback

CPU_SECONDS = 10
ADDRESS_SPACE_BYTES = 1024 * 1024 * 1024
OPEN_FILES = 16
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SANDBOX_FAILED = 3  # exit code: the child could not lock itself down; no user code ran


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _deny_exec(program: bytes) -> None:
    """Install the exec-denying filter on this process (seccomp filters cannot be removed)."""
    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        sys.stderr.write(f"seccomp: {os.strerror(ctypes.get_errno())}\n")
        sys.exit(SANDBOX_FAILED)


def _limit_resources() -> None:
    for limit, value in ((resource.RLIMIT_CPU, CPU_SECONDS), (resource.RLIMIT_AS, ADDRESS_SPACE_BYTES),
                         (resource.RLIMIT_FSIZE, 0), (resource.RLIMIT_NOFILE, OPEN_FILES),
                         (resource.RLIMIT_NPROC, 0), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))


def _audit_hook(allowed: tuple[str, ...]):
    """The second layer: refuse, in Python, what the operating system already forbids."""
    blocked = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
               "os.forkpty", "ctypes.", "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod",
               "os.chown", "os.truncate", "os.link", "os.symlink", "shutil.", "urllib.", "http.",
               "os.chdir", "sys.setrecursionlimit", "os.putenv", "os.unsetenv", "webbrowser.", "mmap.",
               "os.kill", "os.killpg", "pty.spawn")

    def inside(path) -> bool:
        try:
            real = os.path.realpath(os.fsdecode(path))
        except Exception:
            return False
        return any(real == a or real.startswith(a + os.sep) for a in allowed)

    def hook(event, args):
        if event.startswith(blocked):
            raise PermissionError(f"not allowed in a query definition: {event}")
        if event == "open":
            path, mode = args[0], args[1]
            if isinstance(path, int):
                raise PermissionError("not allowed in a query definition: opening a file descriptor")
            if (mode and any(c in str(mode) for c in "wax+")) or not inside(path):
                raise PermissionError(f"not allowed in a query definition: opening {path!r}")
        if event in ("os.listdir", "os.scandir") and not inside(args[0] if args[0] is not None else "."):
            raise PermissionError("not allowed in a query definition: listing a directory")

    return hook


def _error_of(filename: str, etype, value, tb) -> dict:
    """Line, type and message of the user's error: only the frame in their own file is kept."""
    line = None
    if isinstance(value, SyntaxError) and value.filename == filename:
        line, message = value.lineno, value.msg
    else:
        frames = [f for f in traceback.extract_tb(tb) if f.filename == filename]
        line = frames[-1].lineno if frames else None
        try:
            message = str(value)
        except BaseException:
            message = "(the error's message could not be shown)"
    return {"type": etype.__name__, "line": line, "message": message[:2000]}


def main() -> None:
    filename, lib, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(0, lib)
    from phta.query import dsl, serial

    data = sys.stdin.buffer.read()
    header, _, body = data.partition(b"\n")
    source = body.decode("utf-8")
    out = sys.stdout
    sys.stdout = sys.stderr  # the user's prints go to stderr; stdout carries only the result
    allowed = tuple(sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, lib) if p}))
    _limit_resources()
    if mode == "seccomp":
        _deny_exec(bytes.fromhex(header.decode("ascii")))
    sys.addaudithook(_audit_hook(allowed))
    namespace = {"__name__": "__phta_query__", "__file__": filename}
    try:
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - the sandboxed user code
        result = {"ir": json.loads(serial.to_json(dsl.population_of(namespace, filename)))}
    except dsl.DSLError as e:
        result = {"error": {"type": "DSLError", "line": None, "message": str(e)[:2000]}}
    except BaseException:
        result = {"error": _error_of(filename, *sys.exc_info())}
    out.write(json.dumps(result))
    out.flush()


if __name__ == "__main__":
    main()
