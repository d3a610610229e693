"""The sandbox itself, attacked directly (no nbgrader run: each case is one sandbox).

Each attack here succeeded against the sandbox before it had an allow-list of
packages, a seccomp filter, a checked uid range and one time budget per notebook
(see the commit that added this file).
"""
import ctypes  # noqa: F401  (the cells below use it inside the sandbox)
import os
import site
import time

import pytest

from mle_grading.sandbox import packages, seccomp
from mle_grading.sandbox.runner import SandboxLimits, SandboxSession, SandboxStudent, SandboxUnavailable, check_uid_range, submission_files


def run(cells, **limits):
    session = SandboxSession(cells, limits=SandboxLimits(**limits))
    try:
        session.start()
    finally:
        session.close()
    return session


def printed(session, index):
    return "".join(o.get("text", "") for o in session.cell_reports[index]["outputs"])


def not_allowed_entries():
    """One importable top-level package per site folder that the allow-list leaves out."""
    allowed = {os.path.basename(e) for e in packages.allowed_site_entries()}
    found = {}
    for folder in packages.site_directories([os.path.realpath(p) for p in {os.sys.prefix, os.sys.base_prefix}]):
        for name in sorted(os.listdir(folder)):
            if name in allowed or not name.isidentifier() or name.startswith("_"):
                continue
            if os.path.isfile(os.path.join(folder, name, "__init__.py")):
                found[folder] = name
                break
    return found


def test_packages_outside_the_allow_list_are_absent_from_every_site_folder():
    targets = not_allowed_entries()
    assert targets, "no site folder holds a package outside the allow-list: nothing to try"
    base_site = os.path.join(os.sys.base_prefix, "lib", f"python{os.sys.version_info[0]}.{os.sys.version_info[1]}",
                             "site-packages")
    cell = ("import importlib, sys\n"
            f"sys.path[:0] = {sorted(targets)!r} + {site.getsitepackages()!r} + [{base_site!r}]\n"
            "for name in " + repr(sorted(set(targets.values()) | {"scipy", "torch", "sklearn", "pip"})) + ":\n"
            "    try:\n        importlib.import_module(name)\n        print('IMPORTED', name)\n"
            "    except Exception as exc:\n        print('absent', name)\n"
            "import numpy, matplotlib.pyplot, sympy, IPython\nprint('course libraries ok')\n")
    session = run([cell])
    text = printed(session, 0)
    assert "course libraries ok" in text, session.cell_reports[0]
    assert "IMPORTED" not in text, text
    assert text.count("absent") == len(set(targets.values()) | {"scipy", "torch", "sklearn", "pip"})


def test_the_allow_list_holds_the_course_libraries_and_none_with_ready_made_losses():
    names = {os.path.basename(e) for e in packages.allowed_site_entries()}
    assert {"numpy", "matplotlib", "sympy", "IPython"} <= names
    assert not names & {"torch", "scipy", "sklearn", "mle_grading", "nbgrader", "sqlalchemy", "jax"}


PROBED = {"unshare": ("unshare", 0x10000000), "unshare_net": ("unshare", 0x40000000), "setns": ("setns", 0, 0),
          "ptrace": ("ptrace", 0, 0, 0, 0), "keyctl": ("keyctl", 0, -3, 0), "add_key": ("add_key", 0, 0, 0, 0, 0),
          "init_module": ("init_module", 0, 0, 0), "mount": ("mount", 0, 0, 0, 0, 0), "bpf": ("bpf", 0, 0, 0),
          "perf_event_open": ("perf_event_open", 0, 0, -1, -1, 0)}
DENIED_PROBES = tuple(PROBED)


def syscall_probe(names=DENIED_PROBES, start_a_process=True):
    """A cell calling each system call through ctypes, by this machine's own numbers (libseccomp resolves them)."""
    import pyseccomp
    lines = ["import ctypes, errno", "libc = ctypes.CDLL(None, use_errno=True)", "libc.syscall.restype = ctypes.c_long",
             "def probe(name, nr, *args):",
             "    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])",
             "    print(name, 'ok' if r >= 0 else errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()))"]
    for name in names:
        call, *args = PROBED[name]
        number = pyseccomp.resolve_syscall(pyseccomp.system_arch(), call)
        lines.append(f"probe({name!r}, {number}, *{tuple(args)!r})")
    if start_a_process:   # not after an allowed PTRACE_TRACEME: the exec would stop at a trap
        lines += ["import subprocess", "print('child process', subprocess.run(['/bin/true']).returncode)"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_seccomp_refuses_namespaces_ptrace_keyring_modules_mount_bpf_and_perf(warm):
    text = printed(run([syscall_probe()], warm=warm), 0)
    results = dict(line.rsplit(" ", 1) for line in text.strip().splitlines())
    assert results.pop("child process") == "0"   # processes still start (clone3 falls back to clone)
    assert results == {name: "EPERM" for name in DENIED_PROBES}, results


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_without_the_filter_the_same_probe_reaches_the_kernel(warm):
    """The probe can fail: with the filter off, ptrace and the keyring answer (the harmless probes only)."""
    text = printed(run([syscall_probe(("ptrace", "keyctl"), start_a_process=False)], seccomp=False, warm=warm), 0)
    results = dict(line.rsplit(" ", 1) for line in text.strip().splitlines())
    assert results["ptrace"] == "ok", results


def test_the_filter_is_libseccomps_compilation_of_the_deny_list_by_name():
    import tempfile

    import pyseccomp
    from mle_grading.inside_sandbox import syscall_filter
    reference = pyseccomp.SyscallFilter(defaction=pyseccomp.ALLOW)
    reference.set_attr(pyseccomp.Attr.ACT_BADARCH, pyseccomp.KILL_PROCESS)
    native = pyseccomp.system_arch()
    for name in syscall_filter.DENIED:
        if pyseccomp.resolve_syscall(native, name) >= 0:
            reference.add_rule(pyseccomp.ERRNO(1), name)
    reference.add_rule(pyseccomp.ERRNO(38), "clone3")
    for flag in syscall_filter.CLONE_NEW_FLAGS:
        reference.add_rule(pyseccomp.ERRNO(1), "clone", pyseccomp.Arg(0, pyseccomp.MASKED_EQ, flag, flag))
    with tempfile.TemporaryFile() as out:
        reference.export_bpf(out)
        out.seek(0)
        assert seccomp.program() == out.read()
    assert {"unshare", "setns", "mount", "ptrace", "bpf", "keyctl", "io_uring_setup"} <= set(syscall_filter.DENIED)


def test_a_missing_libseccomp_is_one_clear_error(monkeypatch):
    from mle_grading.inside_sandbox import syscall_filter

    def missing():
        raise RuntimeError("Unable to find libseccomp")
    monkeypatch.setattr(syscall_filter, "build", missing)
    seccomp.program.cache_clear()
    try:
        with pytest.raises(seccomp.SeccompUnsupported, match="libseccomp2"):
            seccomp.program()
    finally:
        seccomp.program.cache_clear()


def test_a_sandbox_uid_range_holding_a_real_account_is_refused(monkeypatch):
    import pwd
    with pytest.raises(SandboxUnavailable, match="65536"):
        check_uid_range(SandboxLimits(uid_base=1000))
    base = SandboxLimits().uid_base
    fake = pwd.struct_passwd(("intruder", "x", base + 7, base + 7, "", "/home/intruder", "/bin/sh"))
    monkeypatch.setattr(pwd, "getpwall", lambda: [fake])
    with pytest.raises(SandboxUnavailable, match="real accounts"):
        check_uid_range(SandboxLimits(uid_base=base, uid_slots=10))


def test_the_sandbox_runs_as_a_uid_of_the_checked_range():
    limits = SandboxLimits()
    text = printed(run(["import os\nprint(os.getuid(), os.getgid())\n"]), 0)
    uid, gid = map(int, text.split())
    if os.geteuid() == 0:
        assert limits.uid_base <= uid < limits.uid_base + limits.uid_slots and gid == uid
    else:
        assert uid == 65534


def test_many_slow_cells_share_one_notebook_budget():
    # Each cell stays under the cell limit; before the shared budget, 12 such cells cost 12 s.
    cells = ["import time\n"] + ["time.sleep(1)\n"] * 12
    t0 = time.monotonic()
    session = SandboxSession(cells, limits=SandboxLimits(cell_timeout=5, notebook_timeout=3))
    with pytest.raises(Exception, match="budget"):
        session.start()
    student = SandboxStudent(session)
    outcome = student.call("anything")
    elapsed = time.monotonic() - t0
    session.close()
    assert session.out_of_time and outcome.kind == "timeout"
    assert elapsed < 8, elapsed
    not_run = [i for i, why in session.skip.items() if "budget" in why]
    assert len(not_run) >= 8, session.skip


def test_calls_of_the_checks_draw_on_the_same_budget():
    cells = ["import time\ndef slow(x):\n    time.sleep(1.0)\n    return x\n"]
    session = SandboxSession(cells, limits=SandboxLimits(call_timeout=5, notebook_timeout=2.5))
    session.start()
    student = SandboxStudent(session)
    t0 = time.monotonic()
    kinds = [student.call("slow", float(i)).kind for i in range(6)]
    elapsed = time.monotonic() - t0
    session.close()
    assert kinds[:2] == ["returned", "returned"] and kinds[-1] == "timeout", kinds
    assert elapsed < 4.5, elapsed


def test_only_regular_files_with_one_name_enter_the_sandbox_home(tmp_path):
    own = tmp_path / "data.csv"
    own.write_text("1,2\n")
    secret = tmp_path.parent / f"{tmp_path.name}-secret.txt"
    secret.write_text("the gradebook")
    (tmp_path / "link.txt").symlink_to(secret)
    os.link(secret, tmp_path / "hardlink.txt")
    os.mkfifo(tmp_path / "pipe")
    assert sorted(submission_files(str(tmp_path))) == ["data.csv"]
    session = SandboxSession(["import os\nprint(sorted(os.listdir('.')))\n"], directory=str(tmp_path))
    try:
        session.start()
    finally:
        session.close()
    assert printed(session, 0).strip() == "['data.csv']"


STEAL_TRUSTED_INNER = """
import glob, sys
found = [m for m in sys.modules.values() if hasattr(m, 'TRUSTED_INNER') or hasattr(m, '_trusted_log_softmax')]
texts = [open(p).read() for p in glob.glob('/opt/grader/*.py')]
print(len(found), sum('_trusted_log_softmax' in t for t in texts))
def outer(z):
    return len([k for k, v in globals().items() if getattr(v, '__name__', '').startswith('_trusted')])
def log_softmax(z):
    return 0.0
"""


def test_the_trusted_inner_functions_are_nowhere_in_the_sandbox_but_inside_the_one_call_that_needs_them():
    session = SandboxSession([STEAL_TRUSTED_INNER], limits=SandboxLimits())
    try:
        session.start()
        assert printed(session, 0).split() == ["0", "0"]   # no module holds them, no file has their source
        student = SandboxStudent(session)
        # A call with no inner binding sees no trusted function; one with the binding sees it, then not again.
        assert float(student.call("outer", [0.0], trusted_inner=()).value) == 0
        assert float(student.call("outer", [0.0], trusted_inner=("log_softmax",)).value) == 1
        assert float(student.call("outer", [0.0], trusted_inner=()).value) == 0
    finally:
        session.close()
