"""The sandbox's seccomp filter: a classic BPF program for bubblewrap's `--seccomp FD`.

Written out by hand with `struct` (no libseccomp binding is needed inside the
virtual environment). The filter is a deny-list of the system calls a notebook
never needs and that widen the kernel surface a student could attack: new
namespaces (unshare, setns, clone with a CLONE_NEW* flag, clone3), ptrace and
other processes' memory, the kernel keyring, kernel modules, mounts, bpf,
perf_event_open, io_uring, kexec, clocks, swap and the like. A denied call fails
with EPERM (clone3 with ENOSYS, so that the C library falls back to clone, whose
flags the filter can read). A call made through another ABI (x32, or a 32-bit
`int 0x80` with another architecture tag) kills the process.

Only x86_64 is supported; `program()` refuses any other machine with a clear error.
"""
import errno
import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000

# Linux x86_64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl).
DENIED_X86_64 = {
    "ptrace": 101, "syslog": 103, "uselib": 134, "ustat": 136, "sysfs": 139, "vhangup": 153,
    "modify_ldt": 154, "pivot_root": 155, "_sysctl": 156, "adjtimex": 159, "chroot": 161, "acct": 163,
    "settimeofday": 164, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169,
    "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173, "create_module": 174,
    "init_module": 175, "delete_module": 176, "get_kernel_syms": 177, "query_module": 178,
    "quotactl": 179, "nfsservctl": 180, "lookup_dcookie": 212, "clock_settime": 227, "kexec_load": 246,
    "add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272, "perf_event_open": 298,
    "fanotify_init": 300, "name_to_handle_at": 303, "open_by_handle_at": 304, "clock_adjtime": 305,
    "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "finit_module": 313,
    "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425,
    "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "pidfd_getfd": 438,
    "mount_setattr": 442,
}
CLONE = 56
CLONE3 = 435
# CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
CLONE_NEW_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

# Classic BPF opcodes and seccomp return values (linux/filter.h, linux/seccomp.h).
LD_W_ABS = 0x20
JEQ_K = 0x15
JGE_K = 0x35
JSET_K = 0x45
RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
RET_KILL_PROCESS = 0x80000000
# Offsets in struct seccomp_data: nr, arch, instruction pointer, args[6] (little-endian).
OFFSET_NR, OFFSET_ARCH, OFFSET_ARG0_LOW = 0, 4, 16


class SeccompUnsupported(RuntimeError):
    """This machine's architecture has no filter here."""


def _insn(code, jt, jf, k):
    return struct.pack("=HBBI", code, jt, jf, k)


def program(machine=None):
    """The filter as bytes: an array of `struct sock_filter`, as bubblewrap reads it."""
    machine = machine or platform.machine()
    if machine not in ("x86_64", "AMD64"):
        raise SeccompUnsupported(
            f"the sandbox's seccomp filter is written for x86_64, not {machine}; set "
            "c.SandboxLimits.seccomp = False in course_config.py to grade without it")
    denied = sorted(set(DENIED_X86_64.values()))
    # Layout: [arch check][x32 check][one jeq per denied call][clone3][clone][allow][clone flags][allow][eperm][enosys][kill]
    head = 4
    n = len(denied)
    index_allow = head + n + 2
    index_flags = index_allow + 1
    index_eperm = index_flags + 3
    index_enosys = index_eperm + 1
    index_kill = index_enosys + 1

    def jump(frm, to):
        distance = to - frm - 1
        assert 0 <= distance < 256, distance
        return distance

    code = [
        _insn(LD_W_ABS, 0, 0, OFFSET_ARCH),
        _insn(JEQ_K, 0, jump(1, index_kill), AUDIT_ARCH_X86_64),
        _insn(LD_W_ABS, 0, 0, OFFSET_NR),
        _insn(JGE_K, jump(3, index_kill), 0, X32_SYSCALL_BIT),
    ]
    for number in denied:
        code.append(_insn(JEQ_K, jump(len(code), index_eperm), 0, number))
    code.append(_insn(JEQ_K, jump(len(code), index_enosys), 0, CLONE3))
    code.append(_insn(JEQ_K, jump(len(code), index_flags), 0, CLONE))
    assert len(code) == index_allow
    code.append(_insn(RET_K, 0, 0, RET_ALLOW))
    code.append(_insn(LD_W_ABS, 0, 0, OFFSET_ARG0_LOW))                       # clone's flags
    code.append(_insn(JSET_K, jump(len(code), index_eperm), 0, CLONE_NEW_FLAGS))
    code.append(_insn(RET_K, 0, 0, RET_ALLOW))
    assert len(code) == index_eperm
    code.append(_insn(RET_K, 0, 0, RET_ERRNO | errno.EPERM))
    code.append(_insn(RET_K, 0, 0, RET_ERRNO | errno.ENOSYS))
    code.append(_insn(RET_K, 0, 0, RET_KILL_PROCESS))
    return b"".join(code)
