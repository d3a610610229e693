"""The trusted side of warm sandboxes: one pre-imported parent per grading process.

`zygote.py` runs under bubblewrap like every sandbox and forks a fresh, fully
isolated child per notebook (see its docstring for what each child gets). Here
the grader starts it on first use, hands it each notebook's protocol pipes and
submission files as file descriptors over a Unix socket, and asks it to kill a
child or tell how it ended. The parent is started again if it dies; a child
whose parent dies is killed by the kernel (parent-death signals all the way down).
"""
import json
import os
import select
import socket
import stat
import subprocess
import tempfile
import threading

from mle_grading.sandbox import seccomp
from mle_grading.sandbox.bwrap import SandboxUnavailable, python_roots, sandbox_command, sandbox_environment, sandbox_uid

_PARENT = {}
_LOCK = threading.Lock()


def available(limits):
    """Warm sandboxes need root: the parent mounts each child's private filesystems."""
    return bool(limits.warm) and os.geteuid() == 0


def parent(limits):
    """This process's warm parent, started (again) if there is none alive."""
    with _LOCK:
        current = _PARENT.get("parent")
        if current is None or current.owner != os.getpid() or not current.alive():
            if current is not None and current.owner == os.getpid():
                current.close()
            _PARENT["parent"] = WarmParent(limits)
        return _PARENT["parent"]


class WarmParent:
    def __init__(self, limits):
        self.owner = os.getpid()
        self.lock = threading.Lock()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.errors = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                sandbox_command({}, limits, control_fd=theirs.fileno()), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=self.errors, close_fds=True, pass_fds=(theirs.fileno(),),
                start_new_session=True)
        finally:
            theirs.close()
        self.sock = ours
        try:
            self._receive(limits.startup_timeout)
        except SandboxUnavailable:
            self.close()
            raise

    broken = False

    def alive(self):
        return not self.broken and self.proc.poll() is None

    def _receive(self, timeout):
        ready, _, _ = select.select([self.sock], [], [], timeout)
        message = self.sock.recv(1 << 16) if ready else b""
        if not message:
            self.broken = True   # wedged or gone: the next notebook starts a new parent
            self.errors.seek(0)
            said = self.errors.read()[-2000:].decode("utf-8", "replace").strip()
            raise SandboxUnavailable("the warm sandboxes' parent did not answer"
                                     + (f": {said}" if said else "") +
                                     " (set c.SandboxLimits.warm = False to start a fresh sandbox per notebook)")
        return json.loads(message)

    def request(self, message, fds=(), timeout=60.0):
        with self.lock:
            if self.broken or self.owner != os.getpid():
                # A late reply would be read as the answer to another request: never ask again.
                raise SandboxUnavailable("the warm sandboxes' parent is no longer usable")
            try:
                socket.send_fds(self.sock, [json.dumps(message).encode()], list(fds))
                reply = self._receive(timeout)
            except (OSError, SandboxUnavailable) as exc:
                self.broken = True
                self._stop()   # a wedged parent dies, and its children with it (parent-death signals)
                raise SandboxUnavailable(f"the warm sandboxes' parent is gone ({exc})")
        if "error" in reply:
            raise SandboxUnavailable(f"the sandbox could not be made: {reply['error']}")
        return reply

    def spawn(self, files, limits):
        """A new sandboxed worker for one notebook; `files` maps names in its home to host paths."""
        stdin_r, stdin_w = os.pipe()
        stdout_r, stdout_w = os.pipe()
        passed = [stdin_r, stdout_w]
        names = []
        try:
            for name, path in sorted(files.items()):
                fd = _open_regular_file(path)
                if fd is not None:
                    passed.append(fd)
                    names.append(name)
            spec = {"op": "spawn", "uid": sandbox_uid(limits), "files": names,
                    "env": sandbox_environment(limits), "home_bytes": limits.home_bytes, "tmp_bytes": limits.tmp_bytes,
                    "tmp_dirs": ["/tmp/matplotlib"],
                    "keep_under_tmp": [r for r in python_roots() if r == "/tmp" or r.startswith("/tmp/")],
                    # One more process than cold: the namespace's init runs as the sandbox uid too.
                    "rlimits": {"memory_bytes": limits.memory_bytes, "processes": limits.processes + 1,
                                "file_bytes": limits.file_bytes, "cpu_seconds": limits.cpu_seconds,
                                "open_files": limits.open_files, "core": 0},
                    "seccomp": _seccomp_program(limits)}
            reply = self.request(spec, passed, timeout=limits.startup_timeout)
        except BaseException:
            os.close(stdin_w)
            os.close(stdout_r)
            raise
        finally:
            for fd in passed:
                os.close(fd)
        return WarmChild(self, int(reply["pid"]), os.fdopen(stdin_w, "wb"), os.fdopen(stdout_r, "rb"))

    def _stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:
                pass

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self._stop()
        self.proc.wait()
        self.errors.close()


def _seccomp_program(limits):
    if not limits.seccomp:
        return None
    try:
        seccomp.program()   # libseccomp is there: the parent builds the same filter for each child
        return True
    except seccomp.SeccompUnsupported as exc:
        raise SandboxUnavailable(str(exc))


def _open_regular_file(path):
    """An fd of a regular file of the submission, or None: never a link, FIFO or device (lstat decided, fstat checks)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
        os.close(fd)
        return None
    return fd


class WarmChild:
    """The Popen-like handle of one warm sandbox: its pipes, and kill/poll through the parent.

    `pid` is the parent's own child that holds the sandbox (never reused while it is ours).
    """

    def __init__(self, parent, pid, stdin, stdout):
        self.parent, self.pid, self.stdin, self.stdout = parent, pid, stdin, stdout
        self.returncode = None

    def poll(self, wait=0.0):
        if self.returncode is None:
            try:
                self.returncode = self.parent.request({"op": "status", "pid": self.pid, "wait": wait}).get("exit")
            except SandboxUnavailable:
                self.returncode = -9   # its parent is gone, and it with it
        return self.returncode

    def kill(self):
        try:   # always: an exit status seen earlier must never spare what is still running
            exit_code = self.parent.request({"op": "kill", "pid": self.pid}).get("exit")
        except SandboxUnavailable:
            exit_code = -9   # its parent is gone, and it with it
        if self.returncode is None:
            self.returncode = exit_code

    def wait(self, timeout=None):   # SandboxSession.kill waits on either kind of process
        return self.poll(wait=timeout or 0.0)
