"""The warm sandbox's parent: imports once, then forks one fresh sandbox per notebook.

Runs inside bubblewrap (the same read-only view of the Python installation as every
sandbox), as uid 0 with only the five capabilities it needs to build a child's
sandbox (namespaces and mounts, set uids and gids, empty the bounding set, bring the
loopback up: each justified in docs/sandbox.md). It
imports NumPy, SymPy, matplotlib and IPython once; each notebook then costs a fork.
It never runs student code and never reads anything a sandbox writes: its one input
is the control socket from the trusted grader, fd `argv[1]`.

For each `spawn` request (a JSON header with the submission's files passed as file
descriptors beside the child's protocol pipes) it forks a child that:

1. takes new mount, IPC, network (loopback up) and UTS namespaces, makes every
   mount private, mounts a fresh tmpfs on /tmp, /home/student and /dev/shm and a
   new devpts instance (so nothing a previous child wrote exists), copies the
   submission's files into the new home;
2. takes a new PID namespace and forks the sandbox proper, PID 1 there, which
   mounts its own /proc (it sees no other process; /proc/sys and the like read-only,
   as bubblewrap leaves them), applies the rlimits, empties the capability sets
   (python-prctl), changes to the unprivileged uid, sets no_new_privs, loads the
   seccomp filter (libseccomp, syscall_filter.py) and only then forks worker.py's
   loop, staying behind as the namespace's init.

Everything a child changes in memory (a patched module, matplotlib's rcParams) is
its copy-on-write copy; when its PID 1 dies the kernel kills every process it left.
"""
import ctypes
import json
import os
import resource
import signal
import re
import socket
import sys
import time

PARENT_LIBRARY_DIRECTORY = "/opt/grader-lib"   # pyseccomp and python-prctl, mounted for this parent only
if os.path.isdir(PARENT_LIBRARY_DIRECTORY):
    sys.path.append(PARENT_LIBRARY_DIRECTORY)
import prctl  # noqa: E402  (python-prctl: capabilities and prctl through libcap)

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
MS_RDONLY, MS_REMOUNT, MS_BIND = 0x1, 0x20, 0x1000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
# What bubblewrap's --proc leaves read-only, for the same view as a cold sandbox.
PROC_READ_ONLY = ("sys", "sysrq-trigger", "irq", "bus")
RLIMITS = {"memory_bytes": resource.RLIMIT_AS, "processes": resource.RLIMIT_NPROC,
           "file_bytes": resource.RLIMIT_FSIZE, "cpu_seconds": resource.RLIMIT_CPU,
           "open_files": resource.RLIMIT_NOFILE, "core": resource.RLIMIT_CORE}
CHILD_NAME = "mle-sandbox"
PARENT_ONLY_MODULES = ("prctl", "_prctl", "pyseccomp", "syscall_filter")

# mount(2) and unshare(2) are the two calls left to the C library: Python 3.11 has neither
# (os.unshare comes with 3.12, and is used when present), and no maintained binding of
# mount(2) exists. Capabilities, prctl and seccomp go through python-prctl and libseccomp.
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


def _mount(source, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    if _libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"mount {target}: {os.strerror(number)}")


def _unshare(flags):
    if hasattr(os, "unshare"):
        os.unshare(flags)
    elif _libc.unshare(flags) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"unshare: {os.strerror(number)}")


def _fresh_filesystems(spec, files):
    """A private copy of the mount table with new, empty writable places."""
    _unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    socket.sethostname("grading")
    _loopback_up()
    # The Python installation may itself live under /tmp (a CI clone): keep hold of it,
    # cover /tmp, and bind it back where it was (a recursive bind keeps its read-only mounts).
    kept = [(root, os.open(root, os.O_PATH | os.O_DIRECTORY)) for root in spec.get("keep_under_tmp", ())]
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={spec['tmp_bytes']},mode=1777")
    for root, fd in kept:
        os.makedirs(root, 0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", root, None, MS_BIND | MS_REC)
        _mount(None, root, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    home_size = spec["home_bytes"] + sum(os.fstat(fd).st_size for _, fd in files)
    _mount("tmpfs", "/home/student", "tmpfs", MS_NOSUID | MS_NODEV, f"size={home_size},mode=1777")
    if os.path.isdir("/dev/shm"):
        _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size={spec['tmp_bytes']},mode=1777")
    if os.path.isdir("/dev/pts"):   # terminals of its own, none of another sandbox's
        _mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620")
    if os.path.isdir(PARENT_LIBRARY_DIRECTORY):   # the parent's own libraries: not the sandbox's
        _mount("tmpfs", PARENT_LIBRARY_DIRECTORY, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k,mode=0755")
    for name, fd in files:
        # Root-owned and read-only, as the cold sandbox's read-only binds are.
        out = os.open(os.path.join("/home/student", name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                      0o644)
        try:
            while os.sendfile(out, fd, None, 1 << 24):
                pass
        finally:
            os.close(out)
            os.close(fd)
    for folder in spec.get("tmp_dirs", ()):
        os.mkdir(folder, 0o777)
        os.chmod(folder, 0o777)


def _loopback_up():
    """A new network namespace has its loopback down; bubblewrap brings it up, and so does this."""
    import fcntl
    import struct
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(probe, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(probe, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | IFF_UP, b""))


def _proc_read_only():
    for name in PROC_READ_ONLY:
        path = os.path.join("/proc", name)
        if os.path.exists(path):
            _mount(path, path, None, MS_BIND | MS_REC)
            _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)


def _drop_privileges(spec):
    for name, value in spec["rlimits"].items():
        resource.setrlimit(RLIMITS[name], (value, value))
    prctl.capbset.limit()          # the bounding set emptied (needs CAP_SETPCAP)
    prctl.cap_inheritable.limit()  # bubblewrap's --cap-add also sets them inheritable; a uid change leaves that set
    uid = int(spec["uid"])
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)    # from root to a uid of its own: permitted and effective sets emptied
    prctl.set_no_new_privs(True)
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    held = [key for key in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb") if int(fields[key], 16)]
    securebits = prctl.get_securebits()
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (uid, uid, uid) or os.getgroups() or held \
            or securebits != 0:
        raise OSError(f"privileges were not dropped (uids {os.getresuid()}, gids {os.getresgid()}, "
                      f"capabilities {held}, securebits {securebits})")
    prctl.set_dumpable(False)   # no core, and /proc of this init stays root's


def _become_sandbox(spec, stdin_fd, stdout_fd, ready_fd):
    """PID 1 of a new PID namespace: the notebook's own process."""
    prctl.set_pdeathsig(signal.SIGKILL)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _proc_read_only()
    os.setsid()
    os.dup2(stdin_fd, 0)
    os.dup2(stdout_fd, 1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.closerange(3, ready_fd)
    os.closerange(ready_fd + 1, 1 << 16)
    os.chdir("/home/student")
    os.environ.clear()
    os.environ.update(spec["env"], PWD="/home/student")
    _drop_privileges(spec)
    prctl.set_pdeathsig(signal.SIGKILL)   # cleared by the uid change
    prctl.set_name(CHILD_NAME)
    if spec.get("seccomp"):
        SECCOMP_FILTER.load()   # built by libseccomp before the fork, from syscall_filter.py's deny-list
    os.write(ready_fd, b"R")
    os.close(ready_fd)
    worker_pid = os.fork()
    if worker_pid == 0:
        _run_worker()
        os._exit(0)
    # With no handler, a signal sent to a namespace's init from inside it is dropped.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    # PID 1 stays a plain init, as bubblewrap's is for a cold sandbox: the worker is an
    # ordinary process (signals reach it), and every orphan of student code is reaped here.
    while True:
        pid, status = os.wait()
        if pid == worker_pid:
            code = os.waitstatus_to_exitcode(status)
            os._exit(128 - code if code < 0 else code)


def _run_worker():
    import numpy
    import sympy.core.random
    numpy.random.seed()   # the parent's generator states would otherwise be every child's
    sympy.core.random.seed()
    sys.stdin = open(0, "r", encoding="utf-8", closefd=False)
    sys.stdout = sys.__stdout__ = open(1, "w", encoding="utf-8", closefd=False)
    sys.stderr = sys.__stderr__ = open(2, "w", encoding="utf-8", closefd=False)
    for name in PARENT_ONLY_MODULES:   # importable in the parent only, as in no cold sandbox
        sys.modules.pop(name, None)
    if PARENT_LIBRARY_DIRECTORY in sys.path:
        sys.path.remove(PARENT_LIBRARY_DIRECTORY)
    import worker
    worker.main()


def _spawn(control, spec, fds):
    """Fork the child of one notebook; return the pid of its middle process, which names it from now on.

    The middle is our own child, so its pid cannot be reused before we reap it;
    killing it kills the sandbox's PID 1 (parent-death signal) and with it the namespace.
    """
    stdin_fd, stdout_fd, file_fds = fds[0], fds[1], fds[2:]
    names = [str(n) for n in spec.get("files", ())]
    if len(names) != len(file_fds) or any("/" in n or n.startswith(".") for n in names):
        for fd in fds:
            os.close(fd)
        raise ValueError("the files of the request do not match its descriptors")
    report_r, report_w = os.pipe()
    middle = os.fork()
    if middle == 0:
        code = 70
        try:
            control.close()      # a sandbox must never hold the control socket
            os.close(report_r)
            CHILDREN.clear()     # nor know of its siblings
            EXITED.clear()
            prctl.set_pdeathsig(signal.SIGKILL)
            _fresh_filesystems(spec, list(zip(names, file_fds)))
            _unshare(CLONE_NEWPID)
            sandbox = os.fork()
            if sandbox == 0:
                try:
                    _become_sandbox(spec, stdin_fd, stdout_fd, report_w)
                    code = 0
                except BaseException as exc:
                    _report(report_w, exc)
                os._exit(code)
            os.write(report_w, f"P{sandbox}\n".encode())
            os.close(report_w)
            os.close(stdin_fd)
            os.close(stdout_fd)
            _, status = os.waitpid(sandbox, 0)
            code = os.waitstatus_to_exitcode(status)
            code = 128 - code if code < 0 else code   # a signal N as 128 + N, as a shell reports it
        except BaseException as exc:
            _report(report_w, exc)
        os._exit(code)
    os.close(report_w)
    for fd in fds:
        os.close(fd)
    text = b""
    while True:
        chunk = os.read(report_r, 4096)
        if not chunk:
            break
        text += chunk
    os.close(report_r)
    text = text.decode("utf-8", "replace")
    found = re.search(r"P(\d+)\n", text)
    if "\nE" in text or "R" not in text or not found:
        os.waitpid(middle, 0)   # it exits at once when its sandbox could not start
        raise RuntimeError(text.split("\nE", 1)[1] if "\nE" in text else "the sandbox did not start")
    CHILDREN.add(middle)
    return middle


def _report(fd, exc):
    try:
        os.write(fd, f"\nE{type(exc).__name__}: {exc}"[:2000].encode())
    except OSError:
        pass


CHILDREN = set()   # middle processes running (ours to reap)
EXITED = {}        # middle process -> exit code, until reported


def _reap(until_gone=None, block_for=0.0):
    """Collect exited children; wait up to `block_for` seconds for `until_gone` to exit."""
    deadline = time.monotonic() + block_for
    while True:
        for middle in list(CHILDREN):
            try:
                pid, status = os.waitpid(middle, os.WNOHANG)
            except ChildProcessError:
                pid, status = middle, 0
            if pid:
                code = os.waitstatus_to_exitcode(status)
                EXITED[middle] = 128 - code if code > 128 else code   # back to Popen's -N for a signal
                CHILDREN.discard(middle)
        if until_gone not in CHILDREN or time.monotonic() >= deadline:
            return
        time.sleep(0.005)


def serve(control):
    while True:
        message, fds, _, _ = socket.recv_fds(control, 1 << 16, 250)
        if not message:
            return   # the grader is gone
        try:
            request = json.loads(message)
            op = request["op"]
            if op == "spawn":
                reply = {"pid": _spawn(control, request, list(fds))}
            elif op == "kill":
                pid = int(request["pid"])
                if pid in CHILDREN:
                    os.kill(pid, signal.SIGKILL)   # its PID 1 follows, and every process of the namespace
                    _reap(pid, 2.0)
                reply = {"exit": EXITED.pop(pid, None)}
            elif op == "status":
                pid = int(request["pid"])
                _reap(pid, min(float(request.get("wait", 0.0)), 2.0))
                reply = {"exit": EXITED.pop(pid, None)}
            else:
                raise ValueError(f"unknown request {op!r}")
        except Exception as exc:
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass
            reply = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
        _reap()
        control.send(json.dumps(reply).encode())


def _warm_up():
    """Pay once what each notebook's first figure and first SymPy calls would pay again (lazy imports, parsers).

    Public APIs only: a figure drawn and printed as a cell's would be, a SymPy derivation.
    """
    import gc
    import io
    import sympy
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=(2, 2))   # not pyplot: no figure is left registered anywhere
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.plot([1, 2], [1, 10], label=r"$\sigma^2 = \frac{1}{n}$")
    axes.set(xlabel="x", ylabel="y", title="t", yscale="log")
    axes.legend()
    figure.savefig(io.BytesIO(), format="png")
    x = sympy.Symbol("x", positive=True)
    sympy.latex(sympy.simplify(sympy.solve(sympy.diff(sympy.log(x) - x ** 2 / 2, x), x)[0]))
    # SymPy's results are not kept: each child starts with its cache empty. (matplotlib
    # empties its cache of open fonts itself in a forked child.)
    sympy.core.cache.clear_cache()
    del figure, axes
    gc.collect()


SECCOMP_FILTER = None


def _keep_only_the_given_capabilities():
    """bubblewrap gave the few capabilities of docs/sandbox.md; the bounding set shrinks to them, none inheritable."""
    held = [cap for cap, name in zip(prctl.ALL_CAPS, prctl.ALL_CAP_NAMES) if getattr(prctl.cap_effective, name)]
    prctl.capbset.limit(*held)
    prctl.cap_inheritable.limit()


def main():
    global SECCOMP_FILTER
    _keep_only_the_given_capabilities()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import syscall_filter
    SECCOMP_FILTER = syscall_filter.build()
    control = socket.socket(fileno=int(sys.argv[1]))
    import worker
    worker._preload()
    try:
        _warm_up()
    except Exception:   # only a head start: a child pays it itself
        pass
    control.send(json.dumps({"ready": True}).encode())
    serve(control)


if __name__ == "__main__":
    main()
