"""The seccomp filters of the DSL sandbox, built with libseccomp (PyPI ``pyseccomp``, over Debian's
``libseccomp2``) rather than hand-written BPF.

Two filters, because bubblewrap must still ``execve`` the interpreter after it installs its filter:

* :func:`process_filter` goes to ``bwrap --seccomp FD`` and covers the child from its first
  instruction: no new processes or threads (``fork``, ``vfork``, ``clone``, ``clone3``), no sockets
  of any family, no ptrace or cross-process memory access, no namespaces, mounts, keyrings, BPF,
  perf, io_uring (whose operations seccomp cannot see) or kernel modules. ``execve`` stays allowed
  here, once, for bwrap to start Python.
* :func:`exec_filter` forbids ``execve``/``execveat``. The child installs it itself right after the
  interpreter starts and before any user code runs (seccomp filters stack and cannot be removed).

Denied calls fail with ``EPERM`` so the user gets a Python ``PermissionError`` instead of a dead
process. Calls of another ABI (i386 ``int 0x80``, x32) kill the process: libseccomp's default for a
foreign architecture, which closes the classic 32-bit bypass of a 64-bit filter.
"""

from __future__ import annotations

import errno
import functools
import os

# Everything a query definition could use to leave the sandbox or attack the kernel; none of it is
# needed to run Python and build a query. Names unknown to this libseccomp/arch are skipped.
DENIED_SYSCALLS = (
    # new processes and threads (the interpreter needs neither)
    "fork", "vfork", "clone", "clone3",
    # the network, and any other socket family (AF_UNIX, AF_NETLINK, AF_PACKET, ...)
    "socket", "socketpair",
    # other processes' memory, file descriptors and signals
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_open", "pidfd_getfd",
    "pidfd_send_signal", "kcmp", "process_madvise",
    # namespaces, mounts and the filesystem tree
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "open_by_handle_at",
    "name_to_handle_at",
    # kernel attack surface that a query never needs
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "keyctl", "add_key", "request_key", "init_module", "finit_module",
    "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct",
    "syslog", "iopl", "ioperm", "modify_ldt", "vhangup", "quotactl", "lookup_dcookie",
    "personality", "uselib", "nfsservctl", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex",
)
EXEC_SYSCALLS = ("execve", "execveat")
TIOCSTI = 0x5412  # pushing characters into a terminal's input: bwrap's --new-session also stops it


class SeccompUnavailable(RuntimeError):
    """libseccomp cannot be loaded or the kernel refuses seccomp filters; the message says which."""


def _library():
    try:
        import pyseccomp
    except (ImportError, RuntimeError, OSError) as e:  # RuntimeError: "Unable to find libseccomp"
        raise SeccompUnavailable(f"libseccomp cannot be loaded ({e}): install the Debian package "
                                 "libseccomp2 and the Python package pyseccomp") from None
    return pyseccomp


def _deny(library, rules: tuple[str, ...]):
    seccomp = library
    policy = seccomp.SyscallFilter(seccomp.ALLOW)
    denied = seccomp.ERRNO(errno.EPERM)
    for name in rules:
        if seccomp.resolve_syscall(seccomp.Arch.NATIVE, name) == -1:  # not a call of this arch
            continue
        policy.add_rule(denied, name)
    return policy


def _bpf(policy) -> bytes:
    read, write = os.pipe()
    try:
        with os.fdopen(write, "wb", closefd=True) as sink:
            policy.export_bpf(sink)
        chunks = []
        while chunk := os.read(read, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(read)


@functools.cache
def process_filter() -> bytes:
    """The BPF program (struct sock_filter array) for ``bwrap --seccomp``."""
    library = _library()
    policy = _deny(library, DENIED_SYSCALLS)
    policy.add_rule(library.ERRNO(errno.EPERM), "ioctl", library.Arg(1, library.MASKED_EQ, 0xFFFFFFFF, TIOCSTI))
    return _bpf(policy)


@functools.cache
def exec_filter() -> bytes:
    """The BPF program the child installs on itself before user code runs: no ``exec`` at all."""
    return _bpf(_deny(_library(), EXEC_SYSCALLS))
