"""The exchange against a determined student, with real nbgrader commands and real owners.

Two unix accounts are created for the test (and removed after it): alice, honest,
and mallory, who attacks. nbgrader's commands run in one process per phase
(tests/nbgrader_steps.py). The interpreter lives under /root, which other uids cannot
enter, so a student's commands run as root with `--student`, and what they leave
in the exchange is then given to the student's uid (`chown`), exactly the owner a
real `nbgrader submit` by that user produces; collect and release see real owners.

mallory, in order:
1. creates the exchange's course folder before the instructor releases;
2. submits a folder named for alice, later than alice's, holding empty answers;
3. in her own submission, replaces a notebook by a symbolic link to alice's
   submitted notebook, adds a link to the gradebook and a hard link;
4. moves her submission's timestamp (folder name and timestamp.txt) two days back,
   before the due date, although she submitted after it.

Before this change, release took the course folder mallory made, collect took the
forgery as alice's later submission (with a warning), copied alice's notebook and
the gradebook into mallory's submission, and believed the backdated timestamp.
"""
import datetime
import glob
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile

import nbformat
import pytest

from course_copy import FIRST_ASSIGNMENT as ASSIGNMENT_ID
from mle_grading.operations.demo_class import fill, solutions

from course_copy import copy_course, nbgrader_env, scores_by_cell

COURSE_ID = "mle_losses_course"
STEPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nbgrader_steps.py")
NB1 = "01_gaussian_mse"
ACCOUNTS = {"mlesec_alice": 1_800_000_101, "mlesec_mallory": 1_800_000_102}
ALICE, MALLORY = sorted(ACCOUNTS)
# The Littlest JupyterHub's naming: hub user (nbgrader's student id) carol is unix account jupyter-carol.
CAROL = "mlesec_carol"
TLJH_ACCOUNTS = {f"jupyter-{CAROL}": 1_800_000_103}
TLJH_MAPPING = "--CourseExchangeCollect.unix_account=jupyter-{username}"
DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "exchange.md")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates unix accounts: needs root")


def steps(base, step_list):
    path = os.path.join(base, "steps.json")
    with open(path, "w") as fh:
        json.dump([{"cwd": cwd, "home": home, "args": list(args)} for cwd, home, args in step_list], fh)
    env = nbgrader_env()
    env["PYTHONWARNINGS"] = "ignore"
    proc = subprocess.run([sys.executable, STEPS, path], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ok(results):
    for r in results:
        assert r["code"] == 0, f"nbgrader {' '.join(r['args'])} failed:\n{r['log'][-4000:]}"
    return [r["log"] for r in results]


def chown_tree(path, uid):
    os.lchown(path, uid, uid)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, uid)


def inbound(exchange, student):
    return sorted(glob.glob(os.path.join(exchange, COURSE_ID, "inbound", f"{student}+{ASSIGNMENT_ID}+*")))


@pytest.fixture(scope="module")
def semester():
    base = tempfile.mkdtemp(prefix="mle_exchange_security_")
    os.chmod(base, 0o755)
    for name, uid in {**ACCOUNTS, **TLJH_ACCOUNTS}.items():
        subprocess.run(["userdel", name], capture_output=True)
        subprocess.run(["useradd", "--no-create-home", "--uid", str(uid), "--user-group", name], check=True)
    try:
        yield run_semester(base)
    finally:
        for name in {**ACCOUNTS, **TLJH_ACCOUNTS}:
            subprocess.run(["userdel", name], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def run_semester(base):
    course = copy_course(os.path.join(base, "course"))
    os.chmod(course, 0o700)   # the instructor's: students cannot read the source or the gradebook
    exchange = os.path.join(base, "exchange")
    os.makedirs(exchange)
    os.chmod(exchange, 0o1777)  # docs/exchange.md: writable by all, sticky
    home = os.path.join(base, "home")
    with open(os.path.join(course, "nbgrader_config.py"), "a") as fh:
        fh.write(f"c.Exchange.root = {exchange!r}\n")
    homes = {}
    for name in ["instructor", *ACCOUNTS, CAROL]:
        homes[name] = os.path.join(home, name)
        os.makedirs(os.path.join(homes[name], ".jupyter"))
        with open(os.path.join(homes[name], ".jupyter", "nbgrader_config.py"), "w") as fh:
            fh.write(f"c = get_config()\nc.Exchange.root = {exchange!r}\nc.CourseDirectory.course_id = {COURSE_ID!r}\n")

    def instructor(*args):
        return (course, homes["instructor"], args)

    def student(name, *args):
        return (homes[name], homes[name], (*args, "--student", name))

    due = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    due_text = due.strftime("%Y-%m-%d %H:%M:%S UTC")
    ok(steps(base, [instructor("generate_assignment", ASSIGNMENT_ID, "--force"),
                    instructor("db", "assignment", "add", ASSIGNMENT_ID, f"--duedate={due_text}")]))

    # 1. mallory claims the course folder first.
    claimed = os.path.join(exchange, COURSE_ID)
    os.makedirs(os.path.join(claimed, "outbound"))
    chown_tree(claimed, ACCOUNTS[MALLORY])
    refused_release = steps(base, [instructor("release_assignment", ASSIGNMENT_ID)])[0]
    shutil.rmtree(claimed)   # the instructor removes it, as the error says, and releases
    ok(steps(base, [instructor("release_assignment", ASSIGNMENT_ID),
                    student(ALICE, "fetch_assignment", ASSIGNMENT_ID),
                    student(MALLORY, "fetch_assignment", ASSIGNMENT_ID),
                    student(CAROL, "fetch_assignment", ASSIGNMENT_ID)]))
    source_dir = os.path.join(course, "source", ASSIGNMENT_ID)
    for name in [*ACCOUNTS, CAROL]:
        for path in glob.glob(os.path.join(homes[name], ASSIGNMENT_ID, "*.ipynb")):
            nb_id = os.path.basename(path)[:-6]
            nbformat.write(fill(nbformat.read(path, as_version=4), solutions(source_dir, nb_id)), path)
    ok(steps(base, [student(ALICE, "submit", ASSIGNMENT_ID)]))
    chown_tree(inbound(exchange, ALICE)[0], ACCOUNTS[ALICE])
    ok(steps(base, [student(CAROL, "submit", ASSIGNMENT_ID)]))
    chown_tree(inbound(exchange, CAROL)[0], TLJH_ACCOUNTS[f"jupyter-{CAROL}"])   # what TLJH's server leaves
    ok(steps(base, [student(MALLORY, "submit", ASSIGNMENT_ID)]))
    mine = inbound(exchange, MALLORY)[0]
    alice_real = inbound(exchange, ALICE)[0]

    # 2. a later "alice" submission, made and owned by mallory, with empty answers.
    release_dir = os.path.join(course, "release", ASSIGNMENT_ID)
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=1))
    forged = os.path.join(exchange, COURSE_ID, "inbound",
                          f"{ALICE}+{ASSIGNMENT_ID}+{later.strftime('%Y-%m-%d %H:%M:%S.%f UTC')}+forged")
    os.makedirs(forged)
    for path in glob.glob(os.path.join(release_dir, "*.ipynb")):
        shutil.copy(path, forged)
    with open(os.path.join(forged, "timestamp.txt"), "w") as fh:
        fh.write(later.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    chown_tree(forged, ACCOUNTS[MALLORY])

    # 3. links in her own submission: alice's notebook, the gradebook; a hard link.
    os.remove(os.path.join(mine, f"{NB1}.ipynb"))
    os.symlink(os.path.join(alice_real, f"{NB1}.ipynb"), os.path.join(mine, f"{NB1}.ipynb"))
    os.symlink(os.path.join(course, "gradebook.db"), os.path.join(mine, "gradebook.html"))
    os.link(os.path.join(alice_real, "timestamp.txt"), os.path.join(mine, "alice_timestamp.txt"))
    # 4. backdated two days, before the due date.
    back = due - datetime.timedelta(days=2)
    back_text = back.strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    with open(os.path.join(mine, "timestamp.txt"), "w") as fh:
        fh.write(back_text)
    backdated = os.path.join(os.path.dirname(mine), f"{MALLORY}+{ASSIGNMENT_ID}+{back_text}+x")
    os.rename(mine, backdated)
    chown_tree(backdated, ACCOUNTS[MALLORY])
    os.lchown(os.path.join(backdated, "alice_timestamp.txt"), ACCOUNTS[ALICE], ACCOUNTS[ALICE])

    # Collect takes everything acceptable, then fails: the forgery, mallory's links, and carol
    # (no mapping to TLJH's account names yet) are refused.
    collect = steps(base, [instructor("collect", ASSIGNMENT_ID)])[0]
    ok(steps(base, [instructor("autograde", ASSIGNMENT_ID, "--force"),
                    instructor("generate_feedback", ASSIGNMENT_ID, "--force"),
                    instructor("release_feedback", ASSIGNMENT_ID)]))
    # With TLJH's mapping, carol's own submission is hers.
    tljh_collect = steps(base, [instructor("collect", ASSIGNMENT_ID, "--student", CAROL, TLJH_MAPPING)])[0]
    return {"course": course, "exchange": exchange, "refused_release": refused_release, "collect": collect,
            "collect_log": collect["log"], "tljh_collect": tljh_collect,
            "due": due, "back": back, "release_dir": release_dir}


def test_release_refuses_a_course_folder_a_student_created_first(semester):
    result = semester["refused_release"]
    assert result["code"] != 0
    assert "not by the instructor" in result["log"]


def test_a_folder_posing_as_another_students_later_submission_is_refused(semester):
    assert "refused, not collected" in semester["collect_log"]
    scores = scores_by_cell(semester["course"], ALICE)
    assert scores and all(s == m for s, m in scores.values()), "alice's own submission was not the one graded"


def test_collect_exits_non_zero_when_it_refuses_anything_and_still_collects_the_rest(semester):
    assert semester["collect"]["code"] != 0
    assert "were refused and not collected" in semester["collect_log"]
    for student in (ALICE, MALLORY):
        assert os.path.isdir(os.path.join(semester["course"], "submitted", student, ASSIGNMENT_ID)), student


def test_without_the_mapping_a_tljh_account_is_refused_as_someone_else(semester):
    assert f"claims to be submitted by {CAROL} (unix account {CAROL}, which does not exist)" in semester["collect_log"]


def test_collect_with_tljh_account_names_takes_jupyter_carols_submission_as_carols(semester):
    result = semester["tljh_collect"]
    assert result["code"] == 0, result["log"][-3000:]
    folder = os.path.join(semester["course"], "submitted", CAROL, ASSIGNMENT_ID)
    assert sorted(f for f in os.listdir(folder) if f.endswith(".ipynb")) == sorted(
        os.listdir(semester["release_dir"]))


def test_an_account_mapping_with_another_field_is_one_clear_error():
    from traitlets import TraitError
    from mle_grading.nbgrader_integration.exchange import CourseExchangeCollect
    with pytest.raises(TraitError, match="must name only {username}"):
        CourseExchangeCollect(unix_account="jupyter-{user}")


def test_nothing_linked_from_a_submission_is_collected(semester):
    folder = os.path.join(semester["course"], "submitted", MALLORY, ASSIGNMENT_ID)
    names = set(os.listdir(folder))
    assert f"{NB1}.ipynb" not in names and "gradebook.html" not in names and "alice_timestamp.txt" not in names
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            assert not os.path.islink(os.path.join(dirpath, name))
    nb1 = [s for (nb, _), (s, _m) in scores_by_cell(semester["course"], MALLORY).items() if nb == NB1]
    assert nb1 and all(s == 0 for s in nb1), "mallory was graded on alice's notebook"


def test_a_backdated_submission_keeps_the_time_the_kernel_recorded(semester):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{os.path.join(semester['course'], 'gradebook.db')}") as gb:
        submission = gb.find_submission(ASSIGNMENT_ID, MALLORY)
        stamp = submission.timestamp.replace(tzinfo=datetime.timezone.utc)
        late = submission.total_seconds_late
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - stamp).total_seconds()) < 3600, stamp
    assert late > 0
    claimed = open(os.path.join(semester["course"], "submitted", MALLORY, ASSIGNMENT_ID,
                                "timestamp_claimed.txt")).read()
    assert str(semester["back"].year) in claimed


def documented_modes():
    """{exchange path pattern: octal mode} from the table in docs/exchange.md."""
    modes = {}
    for line in open(DOCS):
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[1].isdigit() and cells[0].startswith("exchange"):
            modes[cells[0]] = int(cells[1], 8)
    return modes


def test_the_exchange_has_the_permissions_the_documentation_gives(semester):
    modes = documented_modes()
    assert {"exchange", "exchange/<course>", "exchange/<course>/inbound", "exchange/<course>/outbound",
            "exchange/<course>/feedback"} <= set(modes)
    for pattern, mode in modes.items():
        path = semester["exchange"] + pattern[len("exchange"):].replace("<course>", COURSE_ID)
        info = os.lstat(path)
        assert stat.S_IMODE(info.st_mode) == mode, (pattern, oct(stat.S_IMODE(info.st_mode)), oct(mode))
        if pattern != "exchange":
            assert info.st_uid == os.geteuid() and pwd.getpwuid(info.st_uid)


def test_every_document_gives_the_exchange_the_one_documented_mode():
    """One exchange-permission rule: each `chmod MODE .../exchange` in the docs and README is the table's."""
    import re
    root = os.path.dirname(DOCS)
    documents = [os.path.join(root, f) for f in os.listdir(root) if f.endswith(".md")]
    documents.append(os.path.join(os.path.dirname(root), "README.md"))
    found = {}
    for path in documents:
        for mode in re.findall(r"chmod\s+(\S+)\s+\S*exchange\b", open(path).read()):
            found.setdefault(mode, []).append(os.path.basename(path))
    assert found and set(found) == {f"{documented_modes()['exchange']:o}"}, found


def test_the_grading_service_takes_jupyter_carols_submission_as_carols_with_tljhs_mapping(semester):
    from mle_grading.operations.grading_service import GradingService
    folder = inbound(semester["exchange"], CAROL)[0]

    def service(**kwargs):
        return GradingService(semester["course"], semester["exchange"], COURSE_ID, [ASSIGNMENT_ID], None,
                              state=os.path.join(tempfile.mkdtemp(), "journal.sqlite"), **kwargs)
    assert "no account 'mlesec_carol'" in service().why_refused(folder, CAROL)
    assert service(unix_account="jupyter-{username}").why_refused(folder, CAROL) is None
    assert "owned by uid" in service(unix_account="jupyter-{username}").why_refused(
        inbound(semester["exchange"], ALICE)[0], CAROL)
