"""Escape attempts against the DSL sandbox, by the routes CPython and the kernel offer.

The Python audit hook is only the second layer, and it can be disarmed from Python: the hook is a
closure that nothing references but the interpreter's hook list, yet ``gc.get_objects()`` still
finds the function, and writing its closure cells (``cell.cell_contents = ...``, which raises no
audit event) empties its blocklist and makes its path check say yes. :data:`DISARM` does that, and
:func:`test_the_audit_hook_alone_is_not_a_boundary` proves it works (``ctypes`` then loads). Every
attack below runs *after* DISARM, so what stops it is the operating system: the bubblewrap mount,
network and PID namespaces and the seccomp filters. Each attack fails, and nothing it could have
read (a secret planted in a data directory, key file, store, operational DB, environment variable,
``/dev/shm`` and an inherited file descriptor) appears in the IR, the error, or anything the child
wrote to stdout or stderr.
"""

from __future__ import annotations

import errno
import os
import platform
import secrets
import socket
import sqlite3
import sys
from pathlib import Path

import pytest

import phta
from phta.cdm.store import Store
from phta.execution import dsl_sandbox
from phta.execution.dsl_sandbox import DSLFileError, compile_dsl_source
from phta.execution.os_sandbox import interpreter_of
from tests.dsl_sandbox_support import DISARM, _dsl_sandbox_available  # noqa: F401 - autouse fixture

HEADER = "from phta.query.dsl import *\n"
POPULATION = "population = cohort(index_date=conditions.first_date(), rules={NAME: conditions.exists()})\n"
EPERM = "[Errno 1] Operation not permitted"
ENOENT = "[Errno 2] No such file or directory"


class Node:
    """A node's data directory with secrets in every place an attacker would look."""

    def __init__(self, root: Path, secret: str):
        self.secret = secret
        self.data_dir = root / "data"
        self.key = self.data_dir / "keys" / "linkage.key"
        self.key.parent.mkdir(parents=True)
        self.key.write_text(secret)
        self.store = Store.create(self.data_dir / "stores" / "n1", node_name="n1")
        self.operational_db = self.data_dir / "phta.db"
        with sqlite3.connect(self.operational_db) as db:
            db.execute("create table account (email text, password_hash text)")
            db.execute("insert into account values ('a@nhs.net', ?)", (secret,))
        db.close()
        self.shm = Path("/dev/shm") / f"phta-test-{secrets.token_hex(4)}"
        self.shm.write_text(secret)


@pytest.fixture
def node(tmp_path, monkeypatch):
    secret = "SECRET-" + secrets.token_hex(16)
    node = Node(tmp_path, secret)
    monkeypatch.setenv("PHTA_SECRET_KEY", secret)
    yield node
    node.shm.unlink()


@pytest.fixture
def child_output(monkeypatch):
    """Everything the child wrote to stdout and stderr, which the parent otherwise drops."""
    seen: list[bytes] = []
    real_run = dsl_sandbox._run

    def recording_run(*args, **kwargs):
        returncode, out, err = real_run(*args, **kwargs)
        seen.extend((out, err))
        return returncode, out, err

    monkeypatch.setattr(dsl_sandbox, "_run", recording_run)
    return seen


@pytest.fixture
def attempt(node, child_output, capfd, caplog):
    """Run ``code`` (after DISARM) and return what came back: the error message, or the rule name."""

    def run(code: str, *, disarm: bool = True) -> str:
        source = HEADER + (DISARM if disarm else "") + code + "\n"
        try:
            cohort = compile_dsl_source(source)
        except DSLFileError as e:
            outcome = str(e)
        else:
            outcome = cohort.rules[0].name if cohort.rules else repr(cohort)
        leaked = [node.secret in outcome, *(node.secret.encode() in raw for raw in child_output)]
        captured = capfd.readouterr()
        leaked += [node.secret in captured.out, node.secret in captured.err, node.secret in caplog.text]
        assert not any(leaked), f"the secret reached the output: {outcome!r}"
        return outcome

    return run


def test_the_audit_hook_alone_is_not_a_boundary(attempt):
    # Without DISARM the hook refuses ctypes; with it, ctypes loads: the layers below must hold alone.
    assert "not allowed in a query definition: ctypes" in attempt("import ctypes\nctypes.CDLL(None)", disarm=False)
    assert attempt("import ctypes\nNAME = str(ctypes.CDLL(None).getpid() > 0)\n" + POPULATION) == "True"


def test_a_hook_whose_code_is_swapped_out_leaves_the_os_layer_standing(attempt, node):
    # A second way to remove the hook from Python: give the hook function an empty body (assigning
    # __code__ raises only "object.__setattr__"), then use ctypes to call libc directly.
    swap = ("import gc, types\nfor f in gc.get_objects():\n"
            "    if type(f) is types.FunctionType and f.__qualname__.endswith('<locals>.hook'):\n"
            "        names = ', '.join(f.__code__.co_freevars)\n"  # a body with the same closure size
            "        factory = {}\n"
            "        exec(f'def make({names}):\\n def hook(event, args):\\n  {names}\\n return hook', factory)\n"
            "        f.__code__ = factory['make'](*f.__code__.co_freevars).__code__\n")
    assert attempt(swap + "import ctypes\nNAME = str(ctypes.CDLL(None).getppid() >= 0)\n" + POPULATION,
                   disarm=False) == "True"
    assert ENOENT in attempt(swap + f"NAME = open({str(node.key)!r}).read()\n" + POPULATION, disarm=False)
    assert attempt(swap + "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                   "NAME = repr((libc.fork(), ctypes.get_errno()))\n" + POPULATION, disarm=False) == \
        repr((-1, errno.EPERM))


def test_the_reported_escape_is_closed(attempt, node):
    # The reviewer's escape, as it worked before: _posixsubprocess.fork_exec raises no audit event, so
    # the hook never saw it; cat wrote the key to stderr, and stderr came back in the error message.
    outcome = attempt("import os, _posixsubprocess\nr, w = os.pipe()\n"
                      f"_posixsubprocess.fork_exec([b'cat', b'{node.key}'], [b'/bin/cat'], True, (w,), None, None,"
                      " -1, -1, -1, 2, -1, -1, r, w, False, False, -1, None, None, None, -1, None, True)\n"
                      "1 / 0", disarm=False)
    assert EPERM in outcome


@pytest.mark.parametrize("code", [
    "import os, sys\nos.posix_spawn(sys.executable, [sys.executable, '-c', 'pass'], {})",
    "import os\nos.fork()",
    "import os, sys\nos.execv(sys.executable, [sys.executable, '-c', 'pass'])",
    "import os, sys\nos.execve(sys.executable, [sys.executable], {})",
    "import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'pass'])",
    "import os, sys, _posixsubprocess\nr, w = os.pipe()\n"
    "_posixsubprocess.fork_exec([b'x'], [sys.executable.encode()], True, (w,), None, None, -1, -1, -1, -1,"
    " -1, -1, r, w, False, False, -1, None, None, None, -1, None, True)",
    "import pty, sys\npty.spawn([sys.executable, '-c', 'pass'])",
    "import multiprocessing\nmultiprocessing.get_context('fork').Process(target=print).start()",
    "import asyncio, sys\nasyncio.run(asyncio.create_subprocess_exec(sys.executable, '-c', 'pass'))",
], ids=["posix_spawn", "fork", "execv", "execve", "subprocess", "_posixsubprocess", "pty", "multiprocessing",
        "asyncio"])
def test_no_process_can_be_started_through_the_standard_library(attempt, code):
    assert EPERM in attempt(code)


def test_os_system_and_libc_cannot_start_a_process(attempt, node):
    outcome = attempt(f"import ctypes, os, sys\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                      f"r = [os.system('cat {node.key}'), libc.fork(), ctypes.get_errno(), libc.system(b'id'),\n"
                      f"     libc.execve(sys.executable.encode(), None, None), ctypes.get_errno()]\n"
                      f"NAME = repr(r)\n" + POPULATION)
    # system(3) reports "the shell could not run" (127 << 8); fork and execve fail with EPERM.
    assert outcome == repr([127 << 8, -1, errno.EPERM, 127 << 8, -1, errno.EPERM])


def test_threads_cannot_be_created_either(attempt):
    assert "can't start new thread" in attempt("import threading\nthreading.Thread(target=print).start()")


X86_64 = pytest.mark.skipif(platform.machine() != "x86_64", reason="system call numbers and machine code of x86-64")


@X86_64
def test_raw_system_calls_through_ctypes_are_refused_by_seccomp(attempt):
    # x86-64 numbers: fork, vfork, clone, clone3, execve, execveat, socket(AF_INET), ptrace(TRACEME),
    # process_vm_readv, unshare(CLONE_NEWUSER), mount, bpf, io_uring_setup, pidfd_getfd, userfaultfd
    calls = "[(57,), (58,), (56, 17, 0, 0, 0, 0), (435, 0, 0), (59, 0, 0, 0), (322, 0, 0, 0, 0, 0), (41, 2, 1, 0)," \
            " (101, 0, 0, 0, 0), (310, 1, 0, 0, 0, 0, 0), (272, 0x10000000), (165, 0, 0, 0, 0, 0), (321, 0, 0, 0)," \
            " (425, 8, 0), (438, 0, 3, 0), (323, 0)]"
    outcome = attempt("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nr = []\n"
                      f"for call in {calls}:\n    ctypes.set_errno(0)\n"
                      "    r.append((libc.syscall(*call), ctypes.get_errno()))\n"
                      "NAME = repr(r)\n" + POPULATION)
    assert outcome == repr([(-1, errno.EPERM)] * 15)


@X86_64
def test_a_system_call_issued_by_machine_code_in_an_mmap_page_is_refused(attempt):
    # mov eax, 57 (fork); syscall; ret: no libc, no Python API, straight to the kernel.
    outcome = attempt("import ctypes, mmap\n"
                      "page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
                      "page.write(bytes.fromhex('b8390000000f05c3'))\n"
                      "address = ctypes.addressof(ctypes.c_char.from_buffer(page))\n"
                      "NAME = str(ctypes.CFUNCTYPE(ctypes.c_long)(address)())\n" + POPULATION)
    assert outcome == str(-errno.EPERM)


@X86_64
def test_the_32_bit_system_call_table_is_not_a_way_around_the_filter(attempt):
    # int 0x80 with eax=2 is fork in the i386 table, which a 64-bit filter would not list by name;
    # libseccomp's filter kills a process that calls in through a foreign architecture.
    outcome = attempt("import ctypes, mmap\n"
                      "page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
                      "page.write(bytes.fromhex('b802000000cd80c3'))\n"
                      "address = ctypes.addressof(ctypes.c_char.from_buffer(page))\n"
                      "NAME = str(ctypes.CFUNCTYPE(ctypes.c_long)(address)())\n" + POPULATION)
    assert "stopped by the sandbox" in outcome


@pytest.mark.parametrize("path", ["/proc/self/environ", "/proc/1/environ", "/proc/self/mem", "/proc/self/maps",
                                  "/sys/kernel/notes", "/etc/passwd", "/etc/shadow", "/root/.bash_history"])
def test_proc_sys_and_the_hosts_etc_are_not_there(attempt, path):
    assert ENOENT in attempt(f"NAME = open({path!r}, 'rb').read().decode('latin-1')\n" + POPULATION)


def test_writing_to_proc_self_mem_is_impossible(attempt):
    assert ENOENT in attempt("import os\nfd = os.open('/proc/self/mem', os.O_RDWR)\nos.pwrite(fd, b'x', 0)")


def test_no_file_descriptor_is_inherited_from_the_parent(attempt, node):
    inheritable = os.open(node.key, os.O_RDONLY)
    os.set_inheritable(inheritable, True)
    try:
        outcome = attempt("import os\nopen_fds = []\nfor fd in range(3, 65):\n    try:\n"
                          "        os.read(fd, 4096)\n        open_fds.append(fd)\n    except OSError:\n"
                          "        pass\nNAME = 'open:' + repr(open_fds)\n" + POPULATION)
    finally:
        os.close(inheritable)
    assert outcome == "open:[]"


def test_the_nodes_keys_store_and_operational_db_cannot_be_read_by_path(attempt, node):
    for path in (node.key, node.store.db_path, node.operational_db, node.shm):
        assert ENOENT in attempt(f"NAME = open({str(path)!r}, 'rb').read().decode('latin-1')\n" + POPULATION)
    assert ENOENT in attempt(f"import os\nNAME = repr(os.listdir({str(node.data_dir)!r}))\n" + POPULATION)
    assert "unable to open database" in attempt(
        f"import sqlite3\nNAME = repr(sqlite3.connect('file:{node.operational_db}?mode=ro', uri=True)"
        ".execute('select * from account').fetchall())\n" + POPULATION)


def test_only_a_read_only_python_and_the_query_language_are_visible(attempt):
    package = Path(phta.__file__).resolve().parent
    for path in (package / "config.py", package.parent.parent / "pyproject.toml", Path(sys.prefix) / "pyvenv.cfg"):
        assert ENOENT in attempt(f"NAME = open({str(path)!r}).read()\n" + POPULATION)
    listing = attempt("import os\nNAME = repr(sorted(os.listdir('/')) + sorted(os.listdir('/opt/phta/phta')))\n"
                      + POPULATION)
    assert "'work'" not in listing and "'home'" not in listing and "'proc'" not in listing
    assert listing.endswith("'__init__.py', 'query']")
    hidden = [p for p in interpreter_of().site_packages if p.startswith(interpreter_of().stdlib)]
    assert attempt(f"import os\nNAME = repr([os.listdir(p) for p in {hidden!r}])\n" + POPULATION) == \
        repr([[] for _ in hidden])


def test_the_environment_is_scrubbed(attempt):
    assert attempt("import os\nNAME = ','.join(sorted(os.environ))\n" + POPULATION) == "LANG,PATH,PWD,PYTHONHASHSEED"


@pytest.fixture
def listener():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    yield server
    server.close()


def test_no_socket_of_any_family_can_be_opened(attempt, listener, tmp_path):
    port = listener.getsockname()[1]
    unix_path = tmp_path / "s.sock"
    unix_server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix_server.bind(str(unix_path))
    unix_server.listen(1)
    try:
        for code in (f"socket.create_connection(('127.0.0.1', {port}), timeout=2)",
                     "socket.create_connection(('127.0.0.1', 5432), timeout=2)",
                     f"s = socket.socket(socket.AF_UNIX)\ns.connect({str(unix_path)!r})",
                     "socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)",
                     "socket.socket(socket.AF_PACKET, socket.SOCK_RAW)",
                     "socket.socketpair()"):
            assert EPERM in attempt("import socket\n" + code)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever connected
    finally:
        unix_server.close()


@pytest.mark.parametrize(("path", "error"), [
    ("/opt/phta/phta/query/planted.py", "Read-only file system"),
    (phta.__file__, ENOENT),  # the host's copy is not mounted (the parent dir does not exist)
    ("/usr/lib/planted", "Read-only file system"),
    ("/tmp/planted", "File too large"),  # the sandbox's own tmpfs: RLIMIT_FSIZE is 0
])
def test_no_file_can_be_written(attempt, path, error):
    host = Path(path)
    existed = host.exists()
    outcome = attempt(f"import os\nfd = os.open({path!r}, os.O_WRONLY | os.O_CREAT, 0o600)\nos.write(fd, b'x')")
    assert error in outcome
    assert host.exists() == existed


def test_writing_into_the_data_directory_is_impossible(attempt, node):
    planted = node.data_dir / "keys" / "planted.key"
    assert ENOENT in attempt(f"import os\nos.open({str(planted)!r}, os.O_WRONLY | os.O_CREAT)")
    assert not planted.exists()


def test_the_error_message_is_rebuilt_capped_and_carries_no_output_of_the_child(attempt):
    outcome = attempt("import sys\nprint('PRINTED-BY-THE-USER')\nsys.stderr.write('WRITTEN-TO-STDERR')\n"
                      "raise ValueError('x' * 5000 + '\\x1b[2J')")
    assert "PRINTED-BY-THE-USER" not in outcome and "WRITTEN-TO-STDERR" not in outcome
    assert "\x1b" not in outcome
    assert len(outcome) < 800 and outcome.endswith("x [...]")
    assert "ValueError: xxx" in outcome


def test_a_forged_result_on_stdout_is_validated_like_any_query(attempt):
    # The user owns stdout's file descriptor; a forged "result" is still only a query, checked as such.
    outcome = attempt("import os\nos.write(1, b'{\"ir\": {\"type\": \"NotANode\"}}')\nos._exit(0)")
    assert "the query it produced is not valid" in outcome
    assert "ended without a result" in attempt("import os\nos.write(1, b'[' * 200000)\nos._exit(0)")


def test_control_a_normal_file_still_gives_its_ir(attempt):
    assert attempt("NAME = 'diabetes'\n" + POPULATION, disarm=False) == "diabetes"


def test_control_a_syntax_error_names_file_line_and_message(attempt):
    outcome = attempt("x = 1\nif x\n    pass", disarm=False)
    assert outcome.startswith('File "query.py", line 3\n    if x\nSyntaxError: ') and "expected ':'" in outcome


def test_a_flood_on_stdout_or_stderr_is_bounded_in_the_parent(attempt):
    assert "larger than" in attempt("import os\nfor _ in range(640):\n    os.write(1, b'{' * 65536)\nos._exit(0)")
    assert attempt("import sys\nsys.stderr.write('y' * (40 * 1024 * 1024))\nNAME = 'after-flood'\n"
                   + POPULATION) == "after-flood"
