"""Warm sandboxes: forked from one pre-imported parent, yet each as fresh as a new interpreter.

The parent (mle_grading/inside_sandbox/zygote.py) imports the course's libraries once per
grading process and forks one sandbox per notebook. These tests run one sandbox
that tampers with everything it can reach, then another in the same grading
process, and compare what the second sees with what a sandbox saw before any
tampering.
"""
import json
import os
import time

import pytest

from mle_grading.sandbox import warm
from mle_grading.sandbox.runner import SandboxLimits, SandboxSession, SandboxStudent, sandbox_uid

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="warm sandboxes are built when grading as root")

OBSERVE = r'''
import json, math, os, socket, sys
import numpy as np, matplotlib, sympy
x = sympy.Symbol("x")
def listing(folder):
    try:
        return sorted(os.listdir(folder))
    except OSError as exc:
        return type(exc).__name__
def reaches_abstract_socket():
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect("\0mle-grading-tamper")
        return True
    except OSError:
        return False
def reaches_loopback():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname(), timeout=2)
    client.close()
    server.close()
    return True
observed = {
    "numpy": [float(np.mean([1.0, 2.0])), float(np.log(np.e)), float(np.exp(0.0))],
    "sympy": str(sympy.simplify(sympy.sin(x) ** 2 + sympy.cos(x) ** 2)),
    "matplotlib": [list(matplotlib.rcParams["figure.figsize"]), matplotlib.rcParams["lines.linewidth"],
                   matplotlib.get_backend()],
    "math_module": math.log(math.e),
    "files": {d: listing(d) for d in ("/tmp", "/tmp/matplotlib", "/home/student", "/dev/shm")},
    "processes": sorted(p for p in os.listdir("/proc") if p.isdigit()),
    "sysv_shared_memory": open("/proc/sysvipc/shm").read().splitlines()[1:],
    "abstract_socket": reaches_abstract_socket(),
    "environment": sorted(os.environ.items()),
    "cwd": os.getcwd(), "umask": os.umask(0o022),
    "uid": os.getuid(),
    "mount_table": len(open("/proc/self/mountinfo").read().splitlines()),
    "loopback": reaches_loopback(),
}
print(json.dumps(observed))
'''

TAMPER = [
    # Other processes first: anything this sandbox can signal (only its own, in its PID namespace).
    "import os, signal\n"
    "try:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass\n",
    # The libraries in memory.
    "import numpy as np, sympy, matplotlib, json, sys\n"
    "np.mean = lambda *a, **k: 42.0\nnp.log = lambda v: v\nnp.exp = lambda v: -1.0\n"
    "sympy.simplify = lambda e, *a, **k: sympy.Integer(0)\n"
    "matplotlib.rcParams['figure.figsize'] = (1.0, 1.0)\nmatplotlib.rcParams['lines.linewidth'] = 9.0\n"
    "import math\nmath.log = lambda v: 0.0\nmatplotlib.use('pdf')\n",
    # Every writable place, and the matplotlib configuration and font cache.
    "for folder in ('/tmp', '/tmp/matplotlib', '/home/student', '/dev/shm', '/tmp/ipython'):\n"
    "    try:\n        os.makedirs(folder, exist_ok=True)\n"
    "        open(os.path.join(folder, 'tampered'), 'w').write('x')\n    except OSError:\n        pass\n"
    "open('/tmp/matplotlib/matplotlibrc', 'w').write('lines.linewidth: 9\\n')\n"
    "open('/tmp/matplotlib/fontlist-v390.json', 'w').write('{}')\n"
    "for target in ('/opt/grader/worker.py', np.__file__, '/usr/bin/python3', '/etc/fonts/fonts.conf'):\n"
    "    try:\n        open(target, 'a').write('#')\n    except OSError:\n        pass\n",
    # Shared memory, a listening abstract socket, the environment, cwd and umask.
    "import ctypes, socket\n"
    "libc = ctypes.CDLL(None)\nSEGMENT = libc.shmget(0x4d4c45, 4096, 0o1666)\n"
    "LISTENER = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
    "LISTENER.bind('\\0mle-grading-tamper')\nLISTENER.listen(1)\n"
    "os.environ['MPLBACKEND'] = 'pdf'\nos.environ['TAMPERED'] = '1'\nos.chdir('/tmp')\nos.umask(0)\n",
    # Processes that outlive the cell: a detached shell and a forked writer that keeps writing.
    "import subprocess, time\n"
    "subprocess.Popen(['/bin/sh', '-c', 'sleep 600'], start_new_session=True)\n"
    "if os.fork() == 0:\n    os.setsid()\n"
    "    for _ in range(6000):\n"
    "        try:\n            open('/tmp/late', 'a').write('x')\n        except OSError:\n            pass\n"
    "        time.sleep(0.05)\n    os._exit(0)\n",
]


def observe(limits, cells=(), files_directory=None):
    session = SandboxSession(list(cells) + [OBSERVE], files_directory, limits)
    try:
        session.start()
        assert isinstance(session.proc, warm.WarmChild), "the sandbox was not forked from the warm parent"
        parent = session.proc.parent
    finally:
        session.close()
    assert not session.skip, session.skip
    report = session.cell_reports[len(cells)]
    assert not report["error"], report
    return json.loads(report["stdout"]), parent


def processes_of_uid(uid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as status:
                    line = next(l for l in status if l.startswith("Uid:"))
            except (OSError, StopIteration):
                continue
            if int(line.split()[1]) == uid:
                found.append(int(entry))
    return found


@pytest.fixture(scope="module")
def tampered_then_observed(tmp_path_factory):
    limits = SandboxLimits(warm=True)
    files = tmp_path_factory.mktemp("submission")
    (files / "data.csv").write_text("1,2\n")
    before, parent_before = observe(limits, files_directory=str(files))
    # The tampering sandbox's own view, seen after its cells ran, shows that each attack took effect.
    tampered, parent_tampered = observe(limits, TAMPER, str(files))
    time.sleep(0.5)   # the forked writer would be writing now, were it alive
    leftovers = processes_of_uid(sandbox_uid(limits))
    after, parent_after = observe(limits, files_directory=str(files))
    return {"before": before, "tampered": tampered, "after": after, "leftovers": leftovers,
            "parents": {id(parent_before), id(parent_tampered), id(parent_after)}}


def test_all_three_sandboxes_were_forked_from_one_parent(tampered_then_observed):
    assert len(tampered_then_observed["parents"]) == 1


def test_each_attack_took_effect_inside_the_tampering_sandbox(tampered_then_observed):
    before, tampered = tampered_then_observed["before"], tampered_then_observed["tampered"]
    for key in ("numpy", "sympy", "matplotlib", "math_module", "files", "processes", "sysv_shared_memory",
                "abstract_socket", "environment", "cwd", "umask"):
        assert tampered[key] != before[key], key
    assert "tampered" in tampered["files"]["/dev/shm"] and "tampered" in tampered["files"]["/home/student"]


def test_a_tampering_submission_changes_nothing_for_the_next_one_in_the_same_worker(tampered_then_observed):
    before, after = tampered_then_observed["before"], tampered_then_observed["after"]
    for key in before:
        assert after[key] == before[key], key
    assert before["files"]["/home/student"] == ["data.csv"] and len(before["processes"]) == 2


def test_two_sandboxes_alive_at_once_have_namespaces_of_their_own_and_not_their_parents():
    # (Namespace numbers are reused once freed, so only sandboxes alive together can be compared.)
    cell = ("import os\nprint({k: os.readlink(f'/proc/self/ns/{k}') for k in "
            "('mnt', 'net', 'ipc', 'uts', 'pid')})\n")
    limits = SandboxLimits(warm=True)
    sessions = [SandboxSession([cell], limits=limits) for _ in range(2)]
    try:
        for session in sessions:
            session.start()
        parent = sessions[0].proc.parent.proc.pid   # its bubblewrap; the parent itself is its child
        parents = [{k: os.readlink(f"/proc/{pid}/ns/{k}") for k in ("mnt", "net", "ipc", "uts", "pid")}
                   for pid in [parent] + children_of(parent)]
        seen = [eval(s.cell_reports[0]["stdout"]) for s in sessions]   # noqa: S307  (our own printout)
    finally:
        for session in sessions:
            session.close()
    for kind in seen[0]:
        assert seen[0][kind] != seen[1][kind], kind
        assert all(ns[kind] not in {p[kind] for p in parents} for ns in seen), kind


def children_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
        except OSError:
            pass
    return found


def test_no_process_of_a_closed_sandbox_survives_on_the_machine(tampered_then_observed):
    assert tampered_then_observed["leftovers"] == []


CREDENTIALS = ("import os, re\nstatus = dict(l.split(':', 1) for l in open('/proc/self/status') if ':' in l)\n"
               "print({k: status[k].strip() for k in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', "
               "'NoNewPrivs', 'Seccomp')})\n"
               "print([os.getresuid(), os.getresgid(), os.getgroups()])\n"
               # What each open descriptor is, inode numbers left out: the same kinds as a cold sandbox's.
               "print(sorted(re.sub(r'[0-9]+', 'N', os.readlink('/proc/self/fd/' + f)) "
               "for f in os.listdir('/proc/self/fd') if os.path.exists('/proc/self/fd/' + f)))\n")


def credentials(is_warm):
    session = SandboxSession([CREDENTIALS], limits=SandboxLimits(warm=is_warm))
    session.start()
    session.close()
    return [eval(line) for line in session.cell_reports[0]["stdout"].splitlines()]   # noqa: S307  (our own printout)


def test_a_warm_sandbox_holds_no_capability_filter_free_call_group_or_descriptor_a_cold_one_lacks():
    status, (uids, gids, groups), descriptors = credentials(True)
    uid = sandbox_uid(SandboxLimits())
    assert all(int(status[k], 16) == 0 for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")), status
    assert status["NoNewPrivs"] == "1" and status["Seccomp"] == "2", status
    assert list(uids) == list(gids) == [uid] * 3 and groups == []
    # Its protocol pipes, /dev/null and IPython's own files, as a cold sandbox has: never the parent's socket.
    assert descriptors == credentials(False)[2]
    assert not [d for d in descriptors if d.startswith("socket:")], descriptors


def justified_capabilities():
    """The capabilities docs/sandbox.md justifies, one `- `CAP_...`:` item each."""
    import re
    from course_copy import ROOT
    text = open(os.path.join(ROOT, "docs", "sandbox.md")).read()
    section = text.split("## The warm parent's capabilities", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^- `(CAP_[A-Z_]+)`:", section, re.M))


def the_parents_process(parent):
    """zygote.py's own process: bwrap's (and its PID namespace's init's) descendant."""
    def command_of(pid):
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().split(b"\0")
    todo = [parent.proc.pid]
    while todo:
        pid = todo.pop()
        command = command_of(pid)
        if os.path.basename(command[0]) != b"bwrap" and b"/opt/grader/zygote.py" in command:
            return pid
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            todo += [int(child) for child in children.read().split()]
    raise AssertionError("the warm parent's process was not found")


def test_the_warm_parent_holds_exactly_the_capabilities_its_design_document_justifies():
    import prctl
    from mle_grading.sandbox import bwrap
    justified = justified_capabilities()
    assert justified == set(bwrap.ZYGOTE_CAPABILITIES) and len(justified) == 5, justified
    parent = warm.parent(SandboxLimits(warm=True))
    with open(f"/proc/{the_parents_process(parent)}/status") as status:
        fields = {key: value.strip() for key, value in (line.split(":", 1) for line in status if ":" in line)}
    mask = sum(1 << getattr(prctl, name) for name in justified)
    held = {key: int(fields[key], 16) for key in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb")}
    assert held == {"CapEff": mask, "CapPrm": mask, "CapBnd": mask, "CapInh": 0, "CapAmb": 0}, \
        {key: hex(value) for key, value in held.items()}
    assert fields["NoNewPrivs"] == "1"


def test_the_parents_own_libraries_are_no_more_importable_in_a_warm_sandbox_than_in_a_cold_one():
    cell = ("import importlib\nfor name in ('prctl', 'pyseccomp'):\n    try:\n"
            "        importlib.import_module(name)\n        print(name, 'imported')\n"
            "    except ImportError:\n        print(name, 'absent')\n")
    seen = {}
    for is_warm in (False, True):
        session = SandboxSession([cell], limits=SandboxLimits(warm=is_warm))
        try:
            session.start()
        finally:
            session.close()
        seen[is_warm] = session.cell_reports[0]["stdout"]
    assert seen[True] == seen[False] == "prctl absent\npyseccomp absent\n", seen


def test_random_generators_differ_from_one_warm_sandbox_to_the_next():
    cell = "import numpy as np, random, sympy.core.random as sr\nprint(np.random.random(), random.random(), sr.random())\n"
    printed = []
    for _ in range(2):
        session = SandboxSession([cell], limits=SandboxLimits(warm=True))
        session.start()
        session.close()
        printed.append(session.cell_reports[0]["stdout"].split())
    assert all(a != b for a, b in zip(*printed)), printed


def test_warm_and_cold_sandboxes_give_the_same_answers():
    cells = ["import numpy as np\ndef nll(y, p):\n    return float(-np.mean(y * np.log(p)))\n",
             "def broken(x):\n    raise KeyError(x)\n", "print(sorted(__import__('os').listdir('.')))\n"]
    results = []
    for is_warm in (False, True):
        session = SandboxSession(cells, limits=SandboxLimits(warm=is_warm))
        session.start()
        student = SandboxStudent(session)
        results.append((student.call("nll", [1.0, 0.0], [0.5, 0.5]), student.call("broken", 1.0),
                        student.call("absent"), session.cell_reports[2]["stdout"]))
        assert isinstance(session.proc, warm.WarmChild) == is_warm
        session.close()
    assert repr(results[0]) == repr(results[1])


def test_a_cell_that_kills_its_warm_sandbox_is_skipped_and_the_rest_still_run():
    cells = ["x = 1\n", "import ctypes\nctypes.string_at(0)\n", "y = x + 1\n"]
    session = SandboxSession(cells, limits=SandboxLimits(warm=True))
    session.start()
    outcome = SandboxStudent(session).variable("y")
    session.close()
    assert 1 in session.skip and "stopped" in session.skip[1]
    assert outcome.kind == "returned" and float(outcome.value) == 2.0


def test_grading_many_notebooks_leaves_no_descriptor_open_in_the_grading_process():
    limits = SandboxLimits(warm=True)
    observe(limits)   # the parent started, its socket and error file open
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        session = SandboxSession(["x = 1\n"], limits=limits)
        session.start()
        session.close()
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_dead_parent_is_replaced_by_a_new_one():
    limits = SandboxLimits(warm=True)
    first, parent = observe(limits)
    os.killpg(parent.proc.pid, 9)
    parent.proc.wait(timeout=10)
    second, replacement = observe(limits)
    assert replacement is not parent and second == first


# -- the same, through nbgrader: one grading process, a tamperer graded just before an honest student --

GRADE_IN_ONE_PROCESS = r'''
import json, os, sys
from mle_grading.nbgrader_integration import run as nbgrader_run
from mle_grading.sandbox import warm
course, students = sys.argv[1], sys.argv[2:]
grader = nbgrader_run.WarmAutograder(course, f"sqlite:///{course}/gradebook.db?timeout=60")
parents = []
for student in students:
    result = grader.grade("mle_losses", student)
    assert result.graded, result.why
    parents.append(warm._PARENT["parent"].proc.pid)
print(json.dumps(parents))
'''


def graded_view(course, student):
    """Everything grading gave one student: scores, the reports' verdicts, every output of every cell."""
    import nbformat
    from course_copy import scores_by_cell
    from mle_grading.nbgrader_integration import run as nbgrader_run
    reports = nbgrader_run.grading_reports(course, "mle_losses", student)
    folder = os.path.join(course, "autograded", student, "mle_losses")
    outputs = {name: [c.get("outputs", []) for c in nbformat.read(os.path.join(folder, name), 4).cells]
               for name in sorted(os.listdir(folder)) if name.endswith(".ipynb")}
    return {"scores": scores_by_cell(course, student),
            "reports": {nb: (r["checks"], r["problems"]) for nb, r in reports.items()},
            "outputs": outputs}


def test_an_honest_student_graded_right_after_a_tamperer_in_one_process_gets_what_a_fresh_process_gives(
        tmp_path):
    import subprocess
    import sys
    import nbformat
    from course_copy import copy_course, nbgrader_env, run_nbgrader
    from mle_grading.operations.demo_class import build_demo_class
    course = copy_course(str(tmp_path / "course"), with_release=True)
    run_nbgrader(course, "generate_assignment", "mle_losses", "--force")
    build_demo_class(course, "mle_losses")
    submitted = os.path.join(course, "submitted")
    for student in os.listdir(submitted):
        if student != "reference":
            subprocess.run(["rm", "-r", os.path.join(submitted, student)], check=True)
    tamperer = os.path.join(submitted, "a-tamperer", "mle_losses")
    os.makedirs(tamperer)
    for name in os.listdir(os.path.join(submitted, "reference", "mle_losses")):
        if not name.endswith(".ipynb"):
            continue
        nb = nbformat.read(os.path.join(submitted, "reference", "mle_losses", name), 4)
        nb.cells[1:1] = [nbformat.v4.new_code_cell(cell) for cell in TAMPER]
        nbformat.write(nb, os.path.join(tamperer, name))

    def grade(*students):
        done = subprocess.run([sys.executable, "-c", GRADE_IN_ONE_PROCESS, course, *students], env=nbgrader_env(),
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    grade("reference")
    fresh = graded_view(course, "reference")
    parents = grade("a-tamperer", "reference")
    after_tamperer = graded_view(course, "reference")
    # Its patched NumPy cost the tamperer points of its own: the tampering ran while it was graded.
    assert graded_view(course, "a-tamperer")["scores"] != fresh["scores"]
    assert parents[0] == parents[1], "the two students were not graded by one warm parent"
    assert sum(s for s, _ in fresh["scores"].values()) == sum(m for _, m in fresh["scores"].values())
    assert after_tamperer == fresh
