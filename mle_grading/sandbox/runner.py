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
import signal
import subprocess
import time

from traitlets import Bool, Float, Integer
from traitlets.config import Configurable

from mle_grading.boundary.protocol import Outcome, Student, decode_outcome, inner_functions, trusted_inner_source
from mle_grading.inside_sandbox import wire
from mle_grading.sandbox import bwrap, seccomp, warm
# The names tests, the benchmark and nbgrader_integration import from here.
from mle_grading.sandbox.bwrap import SandboxUnavailable, check_uid_range, sandbox_command  # noqa: F401

MAX_REPLY = 64 * 1024 * 1024


class SandboxLimits(Configurable):
    """Every limit of grading one notebook, in one place: set them as c.SandboxLimits.* in course_config.py."""

    memory_bytes = Integer(3_000_000_000, help="Address-space limit of the sandbox (RLIMIT_AS), bytes.").tag(config=True)
    processes = Integer(64, help="Processes the sandbox's uid may hold (RLIMIT_NPROC).").tag(config=True)
    file_bytes = Integer(64 * 1024 * 1024, help="Largest file the sandbox may write (RLIMIT_FSIZE), bytes.").tag(config=True)
    open_files = Integer(256, help="Open files per sandbox process (RLIMIT_NOFILE).").tag(config=True)
    cpu_seconds = Integer(600, help="CPU seconds of the sandbox (RLIMIT_CPU).").tag(config=True)
    home_bytes = Integer(128 * 1024 * 1024, help="Size of the sandbox's private home (tmpfs), bytes.").tag(config=True)
    tmp_bytes = Integer(64 * 1024 * 1024, help="Size of the sandbox's private /tmp (tmpfs), bytes.").tag(config=True)
    cell_timeout = Float(30.0, help="Seconds one submission cell may run.").tag(config=True)
    call_timeout = Float(10.0, help="Seconds one call of a student function may run.").tag(config=True)
    notebook_timeout = Float(300.0, help="Seconds one notebook may spend in student code in all: every cell, "
                             "re-runs after a hang or crash, and every call of the checks.").tag(config=True)
    startup_timeout = Float(120.0, help="Seconds the sandbox's interpreter may take to start (imports).").tag(config=True)
    max_restarts = Integer(6, help="Times a notebook's process is restarted after a cell hangs or kills it.").tag(config=True)
    submission_files = Integer(200, help="Most files of a submission shown in the sandbox home.").tag(config=True)
    submission_file_bytes = Integer(16 * 1024 * 1024, help="Largest submission file shown in the sandbox home, bytes.").tag(config=True)
    # A submission's size, checked by lstat before anything of it is copied or parsed
    # (nbgrader_integration/submission_files.py): what is over is left out, with a note.
    submission_bytes = Integer(64 * 1024 * 1024, help="Apparent bytes (st_size: a sparse file counts in full) of "
                               "all of a submission's files copied and graded together.").tag(config=True)
    submission_file_count = Integer(500, help="Files of a submission copied and graded at most.").tag(config=True)
    notebook_bytes = Integer(16 * 1024 * 1024, help="Largest notebook file graded, bytes.").tag(config=True)
    notebook_cells = Integer(1000, help="Most cells of a notebook graded (checked before nbgrader reads it).").tag(config=True)
    reply_bytes = Integer(MAX_REPLY, help="Largest message the sandbox may send, bytes.").tag(config=True)
    cell_text_bytes = Integer(20_000, help="Printed text kept per cell (stdout, the error line), characters.").tag(config=True)
    cell_images = Integer(8, help="Figures kept per cell.").tag(config=True)
    image_bytes = Integer(1024 * 1024, help="Largest figure kept (PNG), bytes.").tag(config=True)
    notebook_output_bytes = Integer(8 * 1024 * 1024, help="All outputs kept for one notebook, bytes.").tag(config=True)
    uid_base = Integer(1_900_000_000, help="First uid of the sandbox's uid range (grading as root). Above every "
                       "range Debian, systemd (DynamicUser 61184-65519, nspawn up to 1879048191) and useradd "
                       "give out; checked against the password and group databases.").tag(config=True)
    uid_slots = Integer(4000, help="Size of the sandbox uid range: one uid per grading process (pid mod slots).").tag(config=True)
    seccomp = Bool(True, help="Apply the seccomp filter of inside_sandbox/syscall_filter.py (built by libseccomp).").tag(config=True)
    warm = Bool(True, help="Fork each notebook's sandbox from a parent that imported the course's libraries "
                "once per grading process (sandbox/zygote.py; grading as root). False, or grading without "
                "root: a fresh interpreter per notebook.").tag(config=True)


Limits = SandboxLimits  # the name the benchmark and older code use


def configured_limits(course_root):
    """The limits as the course's configuration (nbgrader_config.py, course_config.py) sets them."""
    from traitlets.config.loader import PyFileConfigLoader
    config = PyFileConfigLoader("nbgrader_config.py", path=os.path.abspath(course_root)).load_config()
    return SandboxLimits(config=config)


def sandbox_uid(limits=None):
    """The sandbox uid of this grading process (see bwrap.sandbox_uid), under the default limits if none are given."""
    return bwrap.sandbox_uid(limits or SandboxLimits())


def submission_files(directory, limits=None):
    """The submission's own regular files to show in the sandbox home.

    Never a symbolic link, a hard link (a file with a second name may be someone
    else's), a device, a FIFO or a socket: lstat decides, so nothing is followed.
    """
    import stat
    limits = limits or SandboxLimits()
    files = {}
    if not directory or os.path.islink(directory) or not os.path.isdir(directory):
        return files
    for name in sorted(os.listdir(directory))[:limits.submission_files]:
        if "/" in name or name.startswith("."):
            continue
        path = os.path.join(directory, name)
        info = os.lstat(path)
        if stat.S_ISREG(info.st_mode) and info.st_nlink == 1 and info.st_size <= limits.submission_file_bytes:
            files[name] = path
    return files


def _apply_limits(limits):
    def preexec():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return preexec


class _Dead(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


class SandboxSession:
    """One worker process, restarted (skipping the cell at fault) when it hangs or dies.

    All time spent in student code (every cell, every re-run after a restart, and
    every call) draws on one budget, `limits.notebook_timeout`: once it is spent,
    no cell or call runs any more, however many cells the notebook has.
    """

    def __init__(self, cells, directory=None, limits=None):
        self.cells = list(cells)
        self.limits = limits or SandboxLimits()
        self.files = submission_files(directory, self.limits)
        self.skip = {}           # cell index -> why it was skipped
        self.cell_reports = {}   # cell index -> {"stdout", "stderr", "error", "outputs"}
        self.restarts = 0
        self.proc = None
        self._buffer = b""
        self.timings = {"start": 0.0, "cells": 0.0, "calls": 0.0}
        self.student_seconds = 0.0   # wall time spent in student code, against notebook_timeout
        self.out_of_time = False
        self.output_bytes = 0        # figures and text kept, against notebook_output_bytes

    def _cell_report(self, event):
        """One cell's printed text and display outputs, validated: plain text and PNG images only."""
        import base64
        import binascii
        caps = self.limits
        report = {k: str(event.get(k) or "")[:caps.cell_text_bytes] for k in ("stdout", "stderr", "error")}
        outputs = []
        raw = event.get("outputs")
        for item in (raw if isinstance(raw, list) else [])[:4 * caps.cell_images]:
            if not isinstance(item, dict):
                continue
            kind = item.get("type")
            if kind == "image/png" and isinstance(item.get("data"), str):
                if sum(o["type"] == "image/png" for o in outputs) >= caps.cell_images:
                    continue
                try:
                    data = base64.b64decode(item["data"], validate=True)
                except (binascii.Error, ValueError):
                    continue
                if not data.startswith(b"\x89PNG\r\n\x1a\n") or len(data) > caps.image_bytes:
                    continue
                if self.output_bytes + len(item["data"]) > caps.notebook_output_bytes:
                    continue
                self.output_bytes += len(item["data"])
                outputs.append({"type": "image/png", "data": base64.b64encode(data).decode("ascii")})
            elif kind in ("stream", "text/plain") and isinstance(item.get("text"), str):
                text = item["text"][:caps.cell_text_bytes]
                if self.output_bytes + len(text) > caps.notebook_output_bytes:
                    continue
                self.output_bytes += len(text)
                outputs.append({"type": kind, "text": text})
        report["outputs"] = outputs
        return report

    def budget_left(self):
        return self.limits.notebook_timeout - self.student_seconds

    def _in_student_code(self, timeout):
        """The wait for one reply, bounded by the notebook's remaining budget as well."""
        left = self.budget_left()
        if left <= 0:
            self.out_of_time = True
            raise _Dead("budget", "the notebook's time budget for student code is used up")
        return min(timeout, left)

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
                    wait = self.limits.startup_timeout if first else self._in_student_code(self.limits.cell_timeout)
                    waited = time.perf_counter()
                    try:
                        event = self._receive(wait)
                    finally:
                        if not first:
                            self.student_seconds += time.perf_counter() - waited
                    first = False
                    kind = event.get("event") if isinstance(event, dict) else None
                    if kind == "cell_start":
                        current = event.get("index")
                    elif kind == "cell_done":
                        idx = event.get("index")
                        if isinstance(idx, int):
                            self.cell_reports[idx] = self._cell_report(event)
                        current = None
                    elif kind == "ready":
                        self.timings["cells"] += time.perf_counter() - t1
                        return
                    else:
                        raise _Dead("crashed", "the worker sent an unexpected message")
            except _Dead as dead:
                self.timings["cells"] += time.perf_counter() - t1
                self.kill()
                if dead.kind == "timeout" and self.budget_left() <= 0:
                    dead, self.out_of_time = _Dead("budget", "the notebook's time budget for student code is used up"), True
                if dead.kind == "budget":
                    for index in range(len(self.cells)):
                        if index not in self.cell_reports and index not in self.skip:
                            self.skip[index] = "was not run: the notebook's time budget for student code was used up"
                    raise dead
                if not isinstance(current, int) or current in self.skip or self.restarts >= self.limits.max_restarts:
                    raise
                reason = ("did not finish within the time limit" if dead.kind == "timeout"
                          else f"stopped the notebook's process ({dead})")
                self.skip[current] = reason
                self.cell_reports[current] = {"stdout": "", "stderr": "", "error": f"This cell {reason}.",
                                              "outputs": []}
                self.restarts += 1

    def _spawn(self):
        self._buffer = b""
        if warm.available(self.limits):
            self.proc = warm.parent(self.limits).spawn(self.files, self.limits)
            return
        read_end = None
        if self.limits.seccomp:
            try:
                program = seccomp.program()
            except seccomp.SeccompUnsupported as exc:
                raise SandboxUnavailable(str(exc))
            read_end, write_end = os.pipe()
            os.write(write_end, program)   # a few hundred bytes: fits the pipe's buffer
            os.close(write_end)
        try:
            self.proc = subprocess.Popen(
                sandbox_command(self.files, self.limits, read_end), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, preexec_fn=_apply_limits(self.limits), close_fds=True,
                pass_fds=(read_end,) if read_end is not None else ())
        finally:
            if read_end is not None:
                os.close(read_end)

    def kill(self):
        if self.proc is not None and not isinstance(self.proc, subprocess.Popen):
            self.proc.kill()   # a warm sandbox: its parent kills it, and its PID namespace with it
        elif self.proc and self.proc.poll() is None:
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
                    code = self.proc.poll() if isinstance(self.proc, subprocess.Popen) else self.proc.poll(wait=0.5)
                    raise _Dead("crashed", f"exit status {code}" if code is not None else "closed its output")
                self._buffer += chunk
                if len(self._buffer) > self.limits.reply_bytes:
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
        if self.out_of_time or self.budget_left() <= 0:
            self.out_of_time = True
            raise _Dead("budget", "the notebook's time budget for student code is used up")
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
            reply = self._receive(self._in_student_code(self.limits.call_timeout))
        except _Dead:
            self.kill()
            raise
        finally:
            self.timings["calls"] += time.perf_counter() - t0
            self.student_seconds += time.perf_counter() - t0
        if not isinstance(reply, dict) or reply.get("id") != self._next_id or not isinstance(reply.get("outcome"), dict):
            self.kill()
            raise _Dead("crashed", "the worker's reply was malformed")
        return reply["outcome"]


class SandboxStudent(Student):
    """A `Student` whose functions run in a `SandboxSession`."""

    def __init__(self, session):
        self.session = session
        self.hung = set()      # functions that timed out once: not waited for again

    def call(self, function, *args, return_args=False, trusted_inner=None, **kwargs):
        inner = list(inner_functions(function, trusted_inner))
        request = {"function": function, "args": [wire.encode_arg(a) for a in args],
                   "kwargs": {k: wire.encode_arg(v) for k, v in kwargs.items()},
                   "return_args": bool(return_args), "trusted_inner": inner}
        if inner:   # the trusted versions exist in the sandbox only during this call
            request["trusted_source"] = trusted_inner_source(inner)
        return self._ask(function, request)

    def variable(self, name):
        return self._ask(name, {"variable": name})

    def _ask(self, name, message):
        if name in self.hung:
            return Outcome("timeout", message="did not return within the time limit earlier")
        if self.session.out_of_time:
            return Outcome("timeout", message="the notebook's grading time budget is used up")
        try:
            outcome = self.session.request(message)
        except _Dead as dead:
            if dead.kind == "budget":
                return Outcome("timeout", message="the notebook's grading time budget is used up")
            if dead.kind == "timeout":
                self.hung.add(name)
                return Outcome("timeout", message="did not return within the time limit")
            return Outcome("crashed", message=str(dead))
        return decode_outcome(outcome)
