"""Turn a DSL file (user code) into IR in a child process that the operating system confines.

The boundary is :mod:`phta.execution.os_sandbox` (bubblewrap namespaces: no network, no files but a
read-only Python and the query language's sources, no ``/proc``; seccomp: no new processes, no
``exec``, no sockets). Inside, :mod:`phta.execution.dsl_child` sets resource limits and a Python
audit hook as a second layer, runs the user's source (sent on stdin: the child opens no file of
ours) and prints one JSON object. The parent trusts only that object: the IR, which it validates
like any JSON query, or an error, which it rebuilds from the user's own source and caps in length.
The child's stderr (the user's prints, the interpreter's noise) never reaches the user.

Where the machine lacks what the boundary needs, DSL files are refused with the missing feature
named, unless the development setting ``PHTA_UNSAFE_DSL_WITHOUT_SANDBOX=1`` is set, which runs them
with the second layer alone and logs a warning every time.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import phta
from phta.execution import dsl_child
from phta.execution.os_sandbox import (
    PHTA_LIB,
    SANDBOX_ENV,
    Interpreter,
    SandboxUnavailable,
    bwrap_command,
    interpreter_of,
    missing_feature,
)
from phta.query import ir, serial

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 20.0
MESSAGE_CHARS = 500  # the cap on an error's message as the user sees it
RESULT_BYTES = 16 * 1024 * 1024  # a larger answer from the child is refused, not parsed
STDERR_BYTES = 64 * 1024  # the child's stderr is only ever logged (sandbox failures), never shown
UNSAFE_SETTING = "PHTA_UNSAFE_DSL_WITHOUT_SANDBOX"
_CHILD_SOURCE = Path(dsl_child.__file__).read_text(encoding="utf-8")
_NOT_PRINTABLE = re.compile(r"[^\t\n\x20-\x7e\u00a0-\ud7ff\ue000-\ufffd]")


class DSLFileError(Exception):
    """The DSL file failed to define a population; the message is about the user's own code."""


class DSLSandboxUnavailable(DSLFileError):
    """DSL files cannot run here: the operating-system sandbox is missing a feature (named)."""


def compile_dsl_file(path: str | Path, timeout: float = TIMEOUT_SECONDS) -> ir.Cohort:
    """Run a DSL file in the sandbox and return the validated Cohort it defines."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DSLFileError(f"cannot read {path}: {e}") from None
    return compile_dsl_source(source, path.name, timeout=timeout)


def compile_dsl_source(source: str, filename: str = "query.py", timeout: float = TIMEOUT_SECONDS, *,
                       interpreter: Interpreter | None = None, run_as: Sequence[str] = ()) -> ir.Cohort:
    """Run DSL source in the sandbox. ``interpreter`` and ``run_as`` (a command prefix such as
    ``setpriv --reuid=...``) let tests run the same boundary with another Python or as another user."""
    filename = _safe_filename(filename)
    try:
        source.encode("utf-8")
    except UnicodeEncodeError as e:
        raise DSLFileError(f"{filename}: the source is not valid text (character {e.start})") from None
    try:
        check_support()
    except DSLSandboxUnavailable as e:
        if not _unsafe_allowed():
            raise
        log.warning("%s=1: running the DSL file %s WITHOUT the operating-system sandbox (%s); "
                    "never do this beside patient data", UNSAFE_SETTING, filename, e)
        argv, payload, fds = _unprotected(filename, source)
    else:
        argv, payload, fds = _sandboxed(filename, source, interpreter or interpreter_of())
        argv = [*run_as, *argv]
    try:
        returncode, out, err = _run(argv, payload, fds, timeout, filename)
    finally:
        for fd in fds:
            os.close(fd)
    return _cohort_of(filename, source, returncode, out, err)


@functools.cache
def check_support() -> None:
    """Raise DSLSandboxUnavailable unless the boundary works here; succeeds once per process."""
    feature = missing_feature()
    if feature is not None:
        raise DSLSandboxUnavailable(f"DSL query files are disabled on this machine: {feature}. "
                                    "Send the query as JSON instead, or fix the machine.")
    try:
        argv, payload, fds = _sandboxed("probe.py", "", interpreter_of())
    except SandboxUnavailable as e:
        raise DSLSandboxUnavailable(f"DSL query files are disabled on this machine: {e}") from None
    try:
        returncode, out, err = _run(argv, payload, fds, TIMEOUT_SECONDS, "probe.py")
    finally:
        for fd in fds:
            os.close(fd)
    if _result(out) is None:
        # No user code ran: bwrap's own complaint (e.g. "No permissions to create new namespace")
        # is the most useful thing to show.
        said = err.decode("utf-8", "replace").strip().splitlines()
        reason = _clean(said[-1] if said else f"exit code {returncode}")
        raise DSLSandboxUnavailable(f"DSL query files are disabled on this machine: the sandbox does not "
                                    f"start ({reason[:MESSAGE_CHARS]}); see docs/security.md")


def _unsafe_allowed() -> bool:
    return os.environ.get(UNSAFE_SETTING, "").strip().lower() in ("1", "true", "yes")


def _safe_filename(filename: str) -> str:
    """The base name only, printable: it is shown back to the user and used as a code object's name."""
    name = _clean(os.path.basename(filename)).replace("\n", " ")[:100]
    return name or "query.py"


def _sandboxed(filename: str, source: str, interpreter: Interpreter) -> tuple[list[str], bytes, tuple[int, ...]]:
    from phta.execution.sandbox_filters import exec_filter, process_filter

    seccomp = os.memfd_create("phta-dsl-seccomp", 0)  # bwrap reads and closes its copy
    os.write(seccomp, process_filter())
    os.lseek(seccomp, 0, os.SEEK_SET)
    argv = [*bwrap_command(interpreter, seccomp), interpreter.executable, "-I", "-S", "-B", "-c",
            _CHILD_SOURCE, filename, PHTA_LIB, "seccomp"]
    return argv, exec_filter().hex().encode("ascii") + b"\n" + source.encode("utf-8"), (seccomp,)


def _unprotected(filename: str, source: str) -> tuple[list[str], bytes, tuple[int, ...]]:
    lib = str(Path(phta.__file__).resolve().parent.parent)
    return [sys.executable, "-I", "-S", "-B", "-c", _CHILD_SOURCE, filename, lib, "unprotected"], \
        b"\n" + source.encode("utf-8"), ()


def _run(argv: list[str], payload: bytes, fds: tuple[int, ...], timeout: float,
         filename: str) -> tuple[int, bytes, bytes]:
    proc = subprocess.Popen(  # noqa: S603 - fixed argv: bwrap, our interpreter, our child program
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=SANDBOX_ENV,
        cwd="/", close_fds=True, pass_fds=fds, start_new_session=True,
    )
    try:
        out, err = _exchange(proc, payload, time.monotonic() + timeout)
    except subprocess.TimeoutExpired:
        raise DSLFileError(f"{filename}: took longer than {timeout:g} seconds (an endless loop?)") from None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # bwrap's --die-with-parent then ends the sandbox
        proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            stream.close()
    return proc.returncode, out, err


def _exchange(proc: subprocess.Popen, payload: bytes, deadline: float) -> tuple[bytes, bytes]:
    """Like ``communicate``, but the parent keeps at most RESULT_BYTES + 1 of stdout and STDERR_BYTES
    of stderr: a child printing gigabytes cannot fill the server's memory."""
    keep = {proc.stdout: RESULT_BYTES + 1, proc.stderr: STDERR_BYTES}
    kept: dict = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    with selectors.DefaultSelector() as selector:
        if payload:
            selector.register(proc.stdin, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
        for stream in kept:
            selector.register(stream, selectors.EVENT_READ)
        sent = 0
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise subprocess.TimeoutExpired(proc.args, 0)
            for key, _ in selector.select(remaining):
                if key.fileobj is proc.stdin:
                    try:
                        sent += os.write(proc.stdin.fileno(), payload[sent:sent + 65536])
                    except BrokenPipeError:
                        sent = len(payload)
                    if sent >= len(payload):
                        selector.unregister(proc.stdin)
                        proc.stdin.close()
                    continue
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    continue
                buffer = kept[key.fileobj]
                buffer += chunk[:max(0, keep[key.fileobj] - len(buffer))]
    remaining = deadline - time.monotonic()
    try:
        proc.wait(timeout=max(remaining, 0.01))
    except subprocess.TimeoutExpired:
        raise subprocess.TimeoutExpired(proc.args, 0) from None
    return bytes(kept[proc.stdout]), bytes(kept[proc.stderr])


def _result(out: bytes) -> dict | None:
    if not out or len(out) > RESULT_BYTES:
        return None
    try:
        result = json.loads(out)
    except (ValueError, RecursionError):  # RecursionError: a forged answer nested 100k deep
        return None
    if isinstance(result, dict) and len(result) == 1 and ("ir" in result or isinstance(result.get("error"), dict)):
        return result
    return None


def _cohort_of(filename: str, source: str, returncode: int, out: bytes, err: bytes) -> ir.Cohort:
    result = _result(out)
    if result is None:
        if len(out) > RESULT_BYTES:
            raise DSLFileError(f"{filename}: the query it produced is larger than {RESULT_BYTES} bytes")
        if returncode < 0 or returncode > 128 or returncode == dsl_child.SANDBOX_FAILED:
            if returncode == dsl_child.SANDBOX_FAILED:
                log.error("DSL sandbox: the child could not lock itself down: %r", err[-MESSAGE_CHARS:])
            raise DSLFileError(f"{filename}: stopped by the sandbox (exit {returncode}: too much CPU or "
                               "memory, or a forbidden operation)")
        raise DSLFileError(f"{filename}: the query process ended without a result (exit {returncode})")
    if "error" in result:
        raise DSLFileError(_error_message(filename, source, result["error"]))
    try:
        node = serial.from_json(json.dumps(result["ir"]))
    except (ir.IRError, ValueError, TypeError, RecursionError) as e:
        raise DSLFileError(f"{filename}: the query it produced is not valid: {_clean(str(e))[:MESSAGE_CHARS]}") \
            from None
    if not isinstance(node, ir.Cohort):
        raise DSLFileError(f"{filename}: expected a cohort, got {type(node).__name__}")
    return node


def _clean(text: str) -> str:
    return _NOT_PRINTABLE.sub("?", text)


def _error_message(filename: str, source: str, error: dict) -> str:
    """Rebuild the user's error from data: the type, the message (capped, printable) and the line of
    their source as the parent holds it; nothing else the child printed or read comes back."""
    kind = error.get("type")
    kind = kind if isinstance(kind, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,79}", kind) else "Error"
    message = error.get("message")
    message = _clean(message if isinstance(message, str) else "")
    if len(message) > MESSAGE_CHARS:
        message = message[:MESSAGE_CHARS] + " [...]"
    if kind == "DSLError":
        return message
    line = error.get("line")
    lines = source.splitlines()
    if isinstance(line, int) and not isinstance(line, bool) and 1 <= line <= len(lines):
        code = _clean(lines[line - 1].strip())[:200]
        return f'File "{filename}", line {line}\n    {code}\n{kind}: {message}'
    return f'File "{filename}"\n{kind}: {message}'
