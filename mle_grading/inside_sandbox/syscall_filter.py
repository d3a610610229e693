"""The sandbox's seccomp filter, built by libseccomp (through pyseccomp) from system call names.

A deny-list of the system calls a notebook never needs and that widen the kernel
surface a student could attack: new namespaces (unshare, setns, clone with a
CLONE_NEW* flag, clone3), ptrace and other processes' memory, the kernel keyring,
kernel modules, mounts, bpf, perf_event_open, io_uring, kexec, clocks, swap and
the like. A denied call fails with EPERM (clone3 with ENOSYS, so that the C library
falls back to clone, whose flags the filter can read). libseccomp resolves each name
for the machine's own architecture and kills a process that calls through another
ABI (x32, or 32-bit `int 0x80`).

One definition for both sandboxes: the trusted side exports it as BPF for
bubblewrap's `--seccomp FD` (a cold sandbox, `mle_grading.sandbox.seccomp`), and the
warm sandboxes' parent (zygote.py) loads it into each child it forks.
"""
import errno

DENIED = (
    "ptrace", "syslog", "uselib", "ustat", "sysfs", "vhangup", "modify_ldt", "pivot_root", "_sysctl",
    "adjtimex", "chroot", "acct", "settimeofday", "mount", "umount2", "swapon", "swapoff", "reboot",
    "sethostname", "setdomainname", "iopl", "ioperm", "create_module", "init_module", "delete_module",
    "get_kernel_syms", "query_module", "quotactl", "nfsservctl", "lookup_dcookie", "clock_settime",
    "kexec_load", "add_key", "request_key", "keyctl", "unshare", "perf_event_open", "fanotify_init",
    "name_to_handle_at", "open_by_handle_at", "clock_adjtime", "setns", "process_vm_readv",
    "process_vm_writev", "kcmp", "finit_module", "kexec_file_load", "bpf", "userfaultfd", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount",
    "fspick", "pidfd_getfd", "mount_setattr",
)
# CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET
CLONE_NEW_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)


def build():
    """The filter as a `pyseccomp.SyscallFilter`: everything allowed but the deny-list."""
    import pyseccomp
    native = pyseccomp.system_arch()
    syscall_filter = pyseccomp.SyscallFilter(defaction=pyseccomp.ALLOW)
    # A call through another ABI than the native one kills the whole process, not one thread.
    syscall_filter.set_attr(pyseccomp.Attr.ACT_BADARCH, pyseccomp.KILL_PROCESS)
    for name in DENIED:
        if pyseccomp.resolve_syscall(native, name) >= 0:   # some (uselib, _sysctl) are x86-only
            syscall_filter.add_rule(pyseccomp.ERRNO(errno.EPERM), name)
    syscall_filter.add_rule(pyseccomp.ERRNO(errno.ENOSYS), "clone3")
    for flag in CLONE_NEW_FLAGS:
        # clone's flags are its first argument on x86_64 and arm64 (libseccomp names the argument by position).
        syscall_filter.add_rule(pyseccomp.ERRNO(errno.EPERM), "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag))
    return syscall_filter
