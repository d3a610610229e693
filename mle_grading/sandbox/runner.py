"""The trusted side of the sandbox: start the worker, feed it cells, ask it calls.

Each submission notebook gets a fresh worker process under bubblewrap: its own
user, PID, network (none), IPC and mount namespaces; a read-only view of the
Python installation with torch and the grading library absent; a small private
tmpfs home holding a copy of the submission's own files; and rlimits on memory,
processes, file size, open files and CPU time. Wall-clock deadlines are enforced
here, by killing the worker.
"""
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import sysconfig
import time

from .. import wire
from ..protocol import Outcome, Student, decode_outcome

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "worker.py")
WIRE = os.path.join(os.path.dirname(HERE), "wire.py")
BLOCKED_PACKAGE = os.path.join(HERE, "blocked_package")

# Libraries the sandbox does not see: the answers must be NumPy's and the student's.
HIDDEN_PACKAGES = ("torch", "functorch", "torchgen", "scipy", "sklearn", "jax", "jaxlib",
                   "tensorflow", "mle_grading", "nbgrader", "sqlalchemy", "alembic")

MAX_REPLY = 64 * 1024 * 1024
MAX_FILES = 200
MAX_FILE_BYTES = 16 * 1024 * 1024


class SandboxUnavailable(RuntimeError):
    """The machine lacks what the sandbox needs (bubblewrap)."""


class Limits:
    def __init__(self, memory_bytes=3_000_000_000, processes=64, file_bytes=64 * 1024 * 1024,
                 cpu_seconds=600, home_bytes=128 * 1024 * 1024, cell_timeout=30.0, call_timeout=10.0,
                 max_restarts=6, startup_timeout=120.0):
        self.memory_bytes = memory_bytes
        self.processes = processes
        self.file_bytes = file_bytes
        self.cpu_seconds = cpu_seconds
        self.home_bytes = home_bytes
        self.cell_timeout = cell_timeout
        self.call_timeout = call_timeout
        self.max_restarts = max_restarts
        self.startup_timeout = startup_timeout


def _python_roots():
    roots = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    return sorted(r for r in roots if not r.startswith("/usr"))


def sandbox_command(files, limits):
    """The bwrap command line; `files` maps names in the home to host paths."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap (bwrap) is not installed: the grader runs every submission in it. "
            "Install it with `apt-get install bubblewrap` (the README's set-up does this).")
    as_root = os.geteuid() == 0
    cmd = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
           "--die-with-parent", "--new-session", "--hostname", "grading"]
    if not as_root:
        # Unprivileged: a user namespace, and the rlimits count the grader's own uid.
        cmd += ["--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL"]
    cmd += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{name}"):
            cmd += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
        elif os.path.isdir(f"/{name}"):
            cmd += ["--ro-bind", f"/{name}", f"/{name}"]
    for etc in ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts"):
        if os.path.exists(etc):
            cmd += ["--ro-bind", etc, etc]
    # /tmp first: the Python installation may itself live under /tmp (a CI clone),
    # and a later mount would hide it.
    cmd += ["--perms", "1777", "--size", str(64 * 1024 * 1024), "--tmpfs", "/tmp"]
    made = set()
    for root in _python_roots():
        # bwrap would create the parents of a mount point private (0700) to root.
        parts = root.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/" + "/".join(parts[:i])
            if parent not in made and parent not in ("/usr",):
                cmd += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        cmd += ["--ro-bind", root, root]
    for site in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        for pkg in HIDDEN_PACKAGES:
            if os.path.isdir(os.path.join(site, pkg)):
                cmd += ["--ro-bind", BLOCKED_PACKAGE, os.path.join(os.path.realpath(site), pkg)]
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", str(limits.home_bytes), "--tmpfs", "/home/student",
            "--dir", "/opt/grader",
            "--ro-bind", WORKER, "/opt/grader/worker.py",
            "--ro-bind", WIRE, "/opt/grader/wire.py"]
    for cache_file in _matplotlib_font_cache():
        # A writable config dir holding a read-only copy of the font cache: without
        # it matplotlib rebuilds the cache in every sandbox.
        cmd += ["--perms", "0777", "--dir", "/tmp/matplotlib",
                "--ro-bind", cache_file, f"/tmp/matplotlib/{os.path.basename(cache_file)}"]
    for name, host_path in sorted(files.items()):
        cmd += ["--ro-bind", host_path, f"/home/student/{name}"]
    cmd += ["--chdir", "/home/student", "--clearenv"]
    env = {"HOME": "/home/student", "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg",
           "MPLCONFIGDIR": "/tmp/matplotlib", "IPYTHONDIR": "/tmp/ipython",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8", "NBGRADER_EXECUTION": "autograde"}
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    cmd += ["--"]
    if as_root:
        # As root, bwrap needs no user namespace; the worker then drops to a real
        # unprivileged uid of its own, so that RLIMIT_NPROC applies (root is exempt).
        uid = str(sandbox_uid())
        cmd += [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}",
                "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]
    cmd += [os.path.join(sys.prefix, "bin", "python"), "-I", "/opt/grader/worker.py"]
    return cmd


_FONT_CACHE = []


def _matplotlib_font_cache():
    """Build matplotlib's font list once per grading process, outside the sandbox."""
    if not _FONT_CACHE:
        import glob
        import tempfile
        folder = os.path.join(sys.prefix, ".mle_grading_matplotlib")  # owned by the grader, not /tmp
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            folder = tempfile.mkdtemp(prefix="mle_grading_matplotlib_")
        env = dict(os.environ, MPLCONFIGDIR=folder, MPLBACKEND="Agg")
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        _FONT_CACHE.extend(sorted(glob.glob(os.path.join(folder, "fontlist-*.json")))[-1:])
    return _FONT_CACHE


def sandbox_uid():
    """An unprivileged uid with no account, one per grading process (parallel workers differ)."""
    return 61000 + os.getpid() % 4000


def submission_files(directory):
    """The submission's own regular files to show in the sandbox home (never links)."""
    files = {}
    if not directory or not os.path.isdir(directory):
        return files
    for name in sorted(os.listdir(directory))[:MAX_FILES]:
        path = os.path.join(directory, name)
        if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) <= MAX_FILE_BYTES:
            if "/" not in name and not name.startswith("."):
                files[name] = path
    return files


def _apply_limits(limits):
    def preexec():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return preexec


class _Dead(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


class SandboxSession:
    """One worker process, restarted (skipping the cell at fault) when it hangs or dies."""

    def __init__(self, cells, directory=None, limits=None):
        self.cells = list(cells)
        self.limits = limits or Limits()
        self.files = submission_files(directory)
        self.skip = {}           # cell index -> why it was skipped
        self.cell_reports = {}   # cell index -> {"stdout", "stderr", "error"}
        self.restarts = 0
        self.proc = None
        self._buffer = b""
        self.timings = {"start": 0.0, "cells": 0.0, "calls": 0.0}

    # -- process handling -------------------------------------------------------
    def start(self):
        while True:
            t0 = time.perf_counter()
            self._spawn()
            self.timings["start"] += time.perf_counter() - t0
            current = None
            t1 = time.perf_counter()
            try:
                self._send({"cells": self.cells, "skip": sorted(self.skip)})
                first = True
                while True:
                    # The worker's own start-up (imports) has a generous limit of its own.
                    event = self._receive(self.limits.startup_timeout if first else self.limits.cell_timeout)
                    first = False
                    kind = event.get("event") if isinstance(event, dict) else None
                    if kind == "cell_start":
                        current = event.get("index")
                    elif kind == "cell_done":
                        idx = event.get("index")
                        if isinstance(idx, int):
                            self.cell_reports[idx] = {k: str(event.get(k) or "")[:20_000]
                                                      for k in ("stdout", "stderr", "error")}
                        current = None
                    elif kind == "ready":
                        self.timings["cells"] += time.perf_counter() - t1
                        return
                    else:
                        raise _Dead("crashed", "the worker sent an unexpected message")
            except _Dead as dead:
                self.timings["cells"] += time.perf_counter() - t1
                self.kill()
                if not isinstance(current, int) or current in self.skip or self.restarts >= self.limits.max_restarts:
                    raise
                reason = ("did not finish within the time limit" if dead.kind == "timeout"
                          else f"stopped the notebook's process ({dead})")
                self.skip[current] = reason
                self.cell_reports[current] = {"stdout": "", "stderr": "", "error": f"This cell {reason}."}
                self.restarts += 1

    def _spawn(self):
        self._buffer = b""
        self.proc = subprocess.Popen(
            sandbox_command(self.files, self.limits), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, preexec_fn=_apply_limits(self.limits), close_fds=True)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for stream in (self.proc.stdin, self.proc.stdout):
                try:
                    stream.close()
                except Exception:
                    pass
        self.proc = None

    close = kill

    def _send(self, message):
        try:
            self.proc.stdin.write((wire.dumps(message) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            raise _Dead("crashed", "the worker is gone")

    def _receive(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _Dead("timeout", "timed out")
                if not sel.select(remaining):
                    continue
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    code = self.proc.poll()
                    raise _Dead("crashed", f"exit status {code}" if code is not None else "closed its output")
                self._buffer += chunk
                if len(self._buffer) > MAX_REPLY:
                    raise _Dead("crashed", "sent an oversized message")
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            return wire.loads(line.decode("utf-8", errors="replace"))
        except wire.WireError as exc:
            raise _Dead("crashed", str(exc))

    # -- requests -----------------------------------------------------------------
    _next_id = 0

    def request(self, message):
        """Send one call; return the worker's outcome dict or raise _Dead."""
        if self.proc is None:
            if self.restarts >= self.limits.max_restarts:
                raise _Dead("crashed", "too many restarts")
            self.restarts += 1
            self.start()
        self._next_id += 1
        message = dict(message, id=self._next_id)
        t0 = time.perf_counter()
        try:
            self._send(message)
            reply = self._receive(self.limits.call_timeout)
        except _Dead:
            self.kill()
            raise
        finally:
            self.timings["calls"] += time.perf_counter() - t0
        if not isinstance(reply, dict) or reply.get("id") != self._next_id or not isinstance(reply.get("outcome"), dict):
            self.kill()
            raise _Dead("crashed", "the worker's reply was malformed")
        return reply["outcome"]


class SandboxStudent(Student):
    """A `Student` whose functions run in a `SandboxSession`."""

    def __init__(self, session, budget_seconds=300.0):
        self.session = session
        self.hung = set()      # functions that timed out once: not waited for again
        self.deadline = time.monotonic() + budget_seconds

    def call(self, function, *args, return_args=False, **kwargs):
        return self._ask(function, {"function": function, "args": [wire.encode_arg(a) for a in args],
                                    "kwargs": {k: wire.encode_arg(v) for k, v in kwargs.items()},
                                    "return_args": bool(return_args)})

    def variable(self, name):
        return self._ask(name, {"variable": name})

    def _ask(self, name, message):
        if name in self.hung:
            return Outcome("timeout", message="did not return within the time limit earlier")
        if time.monotonic() > self.deadline:
            return Outcome("timeout", message="the notebook's grading time budget is used up")
        try:
            outcome = self.session.request(message)
        except _Dead as dead:
            if dead.kind == "timeout":
                self.hung.add(name)
                return Outcome("timeout", message="did not return within the time limit")
            return Outcome("crashed", message=str(dead))
        return decode_outcome(outcome)
