"""The DSL sandbox's boundary: each OS layer holds on its own, it works for an unprivileged user,
and where the machine lacks it DSL files are refused (or, under the development setting, run with a
warning every time)."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess

import pytest

from phta.execution import dsl_sandbox, os_sandbox
from phta.execution.dsl_sandbox import DSLSandboxUnavailable, check_support, compile_dsl_source
from phta.execution.os_sandbox import bwrap_command, interpreter_of
from phta.query import ir
from tests.components import require
from tests.dsl_sandbox_support import DISARM, _dsl_sandbox_available  # noqa: F401 - autouse fixture

SOURCE = ("from phta.query.dsl import *\n"
          "population = cohort(index_date=conditions.first_date(), rules={NAME: conditions.exists()})\n")
UNPRIVILEGED = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def fresh_support_check():
    check_support.cache_clear()
    yield
    check_support.cache_clear()


def _allow_everything() -> bytes:
    import pyseccomp

    policy = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    read, write = os.pipe()
    with os.fdopen(write, "wb") as sink:
        policy.export_bpf(sink)
    with os.fdopen(read, "rb") as source:
        return source.read()


def _in_namespaces_only(code: str) -> subprocess.CompletedProcess:
    """Run ``code`` under the sandbox's bwrap options with a seccomp filter that allows everything,
    so what stops it is the namespaces alone."""
    fd = os.memfd_create("allow-all", 0)
    os.write(fd, _allow_everything())
    os.lseek(fd, 0, os.SEEK_SET)
    python = interpreter_of()
    try:
        return subprocess.run([*bwrap_command(python, fd), python.executable, "-I", "-S", "-c", code],
                              capture_output=True, text=True, pass_fds=(fd,), timeout=30, check=False)
    finally:
        os.close(fd)


def test_the_network_namespace_alone_stops_connections_to_the_hosts_loopback():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    try:
        port = server.getsockname()[1]
        proc = _in_namespaces_only(
            "import socket\nprint(sorted(n for _, n in socket.if_nameindex()))\n"
            f"for port in ({port}, 5432):\n"
            "    try:\n        socket.create_connection(('127.0.0.1', port), timeout=2)\n"
            "        print('connected')\n    except OSError as e:\n        print(type(e).__name__)\n")
        assert proc.returncode == 0, proc.stderr
        # only a loopback of its own, where nothing listens: the host's 127.0.0.1 services are not there
        assert proc.stdout.split("\n")[:3] == ["['lo']", "ConnectionRefusedError", "ConnectionRefusedError"]
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()


def test_the_mount_namespace_alone_hides_the_host(tmp_path):
    secret = tmp_path / "secret.key"
    secret.write_text(secrets.token_hex(8))
    proc = _in_namespaces_only(f"import os\nprint(os.path.exists({str(secret)!r}), sorted(os.listdir('/')))\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("False ") and "'work'" not in proc.stdout and "'proc'" not in proc.stdout


def test_the_sandbox_works_for_an_unprivileged_user(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("already unprivileged: every other sandbox test runs as this user")
    # this interpreter may live where uid 65534 cannot reach (/root/.pyenv): use Debian's
    require("setpriv and a system Python", shutil.which("setpriv") is not None and
            os.access("/usr/bin/python3", os.X_OK), "apt-get install util-linux python3")
    system_python = interpreter_of(os.path.realpath("/usr/bin/python3"))
    cohort = compile_dsl_source(SOURCE.replace("NAME", "'ok-' + str(__import__('os').getuid())"),
                                interpreter=system_python, run_as=UNPRIVILEGED)
    assert isinstance(cohort, ir.Cohort) and cohort.rules[0].name.startswith("ok-")
    secret = tmp_path / "secret.key"
    secret.write_text("SECRET-" + secrets.token_hex(8))
    with pytest.raises(dsl_sandbox.DSLFileError, match="No such file or directory") as caught:
        compile_dsl_source(SOURCE.replace("NAME", "'x'") + DISARM + f"open({str(secret)!r}).read()\n",
                           interpreter=system_python, run_as=UNPRIVILEGED)
    assert "SECRET-" not in str(caught.value)
    with pytest.raises(dsl_sandbox.DSLFileError, match=r"Operation not permitted"):
        compile_dsl_source(SOURCE.replace("NAME", "'x'") + DISARM + "import os\nos.fork()\n",
                           interpreter=system_python, run_as=UNPRIVILEGED)


def test_without_bubblewrap_dsl_files_are_refused_naming_what_to_install(fresh_support_check, monkeypatch):
    monkeypatch.setattr(os_sandbox, "BWRAP", "bwrap-is-not-installed-here")
    monkeypatch.delenv(dsl_sandbox.UNSAFE_SETTING, raising=False)
    with pytest.raises(DSLSandboxUnavailable, match=r"bubblewrap is not installed \(.*apt-get install bubblewrap"):
        compile_dsl_source(SOURCE.replace("NAME", "'x'"))


def test_a_sandbox_that_does_not_start_refuses_dsl_files(fresh_support_check, monkeypatch):
    monkeypatch.setattr(os_sandbox, "BWRAP", shutil.which("false"))
    with pytest.raises(DSLSandboxUnavailable, match="the sandbox does not start"):
        compile_dsl_source(SOURCE.replace("NAME", "'x'"))


def test_the_development_override_runs_unprotected_and_warns_every_time(fresh_support_check, monkeypatch,
                                                                         caplog):
    monkeypatch.setattr(os_sandbox, "BWRAP", "bwrap-is-not-installed-here")
    monkeypatch.setenv(dsl_sandbox.UNSAFE_SETTING, "1")
    with caplog.at_level(logging.WARNING, logger=dsl_sandbox.__name__):
        for _ in range(2):
            assert compile_dsl_source(SOURCE.replace("NAME", "'x'")).rules[0].name == "x"
    warnings = [r for r in caplog.records if "WITHOUT the operating-system sandbox" in r.getMessage()]
    assert len(warnings) == 2 and all(r.levelno == logging.WARNING for r in warnings)
    # the second layer still refuses what it knows
    with pytest.raises(dsl_sandbox.DSLFileError, match=r"not allowed in a query definition: os\.fork"):
        compile_dsl_source(SOURCE.replace("NAME", "'x'") + "import os\nos.fork()\n")


def test_the_override_does_not_weaken_a_machine_that_has_the_sandbox(fresh_support_check, monkeypatch, caplog):
    monkeypatch.setenv(dsl_sandbox.UNSAFE_SETTING, "1")
    with caplog.at_level(logging.WARNING, logger=dsl_sandbox.__name__):
        assert compile_dsl_source(SOURCE.replace("NAME", "__import__('os').getcwd()")).rules[0].name == "/tmp"
    assert "WITHOUT" not in caplog.text
