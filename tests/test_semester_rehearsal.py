"""A semester rehearsal on a real JupyterHub, as The Littlest JupyterHub names its students.

jupyterhub/jupyterhub_config.py runs in its "rehearsal" profile on 127.0.0.1, over HTTPS
with a self-signed certificate this test makes (every client here verifies against it).
Each hub user is a real unix account, created here with useradd and removed after:
hub user alice is jupyter-alice, her server runs as that account in its own home.
The hub also runs the grading service (owner check on) and the shared formgrader.

The semester, in order (the tests share one hub and run in order):
1. four students' servers start, each as its own account;
2. the instructor releases (nbgrader in the course directory); each student fetches,
   works and submits through their own server's HTTP API (contents API, nbgrader's
   assignment-list endpoints): alice honest, bob with one known mistake, carol with a
   broken notebook;
3. the grading service returns feedback during the week: alice and bob fetch it;
4. the week ends (the due date is set to now); dave submits, late;
5. the instructor collects (owner check against jupyter-<name>) and grades; a teaching
   assistant, a hub user who is not the instructor, grades one answer through the
   shared formgrader; the instructor generates and releases feedback and exports for
   Canvas; every student fetches their own feedback through their own server;
6. nothing is lost, and nothing of one student is visible to another.
"""
import contextlib
import csv
import datetime
import glob
import json
import os
import pwd
import secrets
import shutil
import ssl
import subprocess
import sys
import sysconfig
import tempfile
import urllib.error
import urllib.parse
import urllib.request

import nbformat
import pytest

from course_copy import FIRST_ASSIGNMENT as ASSIGNMENT_ID
from course_copy import copy_course, nbgrader_env, scores_by_cell
from mle_grading.operations.demo_class import fill
from servers import free_port, server_process, tail
from test_exchange_workflow import MISTAKE, text_of, total_score
from test_grading_security_exchange import ok, steps
from test_jupyterhub import COURSE_ID, HUB_CONFIG, NODE_BIN, chp_available, load_hub_config, stop_by_pid
from test_jupyterhub_feedback import answers, descendants, journal, proc_stat, service_pids, stamp_of, wait_until

# Hub name -> uid of its unix account jupyter-<name> (high, unused uids; removed after the test).
STUDENTS = {"alice": 1_800_000_201, "bob": 1_800_000_202, "carol": 1_800_000_203, "dave": 1_800_000_204}
ON_TIME = ("alice", "bob", "carol")
TA = "ta"
BROKEN = "02_bernoulli_bce"          # carol's notebook, saved half-written
SPAWN_TIMEOUT = 240                  # s: a server's first start on a busy 2-core machine
GRADING_TIMEOUT = 900                # s: the service grades four notebooks per student
TA_COMMENT = "Checked by the TA: the mean, not the sum; well done."


def account(name):
    return f"jupyter-{name}"


# -- HTTPS with the test's own certificate ------------------------------------------------------

def make_certificate(folder):
    """A self-signed certificate for 127.0.0.1 and localhost, and its key (readable by root only)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress
    os.makedirs(folder, mode=0o700)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mle-losses rehearsal hub")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(folder, "hub.crt"), os.path.join(folder, "hub.key")
    with open(cert_path, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))
    return cert_path, key_path


def call(hub, path, token, method="GET", body=None, query=None, timeout=300):
    """(status, JSON or text) of an HTTPS request to the hub's origin, verified against the test's certificate."""
    # Paths name submissions by their timestamp, spaces included.
    url = hub["origin"] + urllib.parse.quote(path, safe="/%") + ("?" + urllib.parse.urlencode(query) if query else "")
    data = json.dumps(body).encode() if body is not None else (b"" if method in ("POST", "PUT") else None)
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=hub["tls"]) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode(errors="replace")
    try:
        return status, (json.loads(text) if text else None)
    except ValueError:
        return status, text


def ok_call(hub, path, token, method="GET", body=None, query=None, statuses=(200, 201)):
    status, answer = call(hub, path, token, method, body, query)
    assert status in statuses, f"{method} {path}: HTTP {status}: {str(answer)[:3000]}"
    return answer


# -- the students' unix accounts and the Python they can run -----------------------------------------

def run_as(name, cmd):
    """Run cmd as the student's unix account (no supplementary groups), as their server does."""
    info = pwd.getpwnam(account(name))
    return subprocess.run(cmd, user=info.pw_uid, group=info.pw_gid, extra_groups=[], capture_output=True,
                          text=True, cwd=info.pw_dir, env={"HOME": info.pw_dir, "PATH": "/usr/bin:/bin"},
                          timeout=120)


def can_run_servers(python, name):
    """Whether the account can run jupyterhub-singleuser and nbgrader with this Python."""
    try:
        probe = run_as(name, [python, "-c", "import jupyterhub.singleuser, nbgrader.server_extensions.assignment_list"])
    except PermissionError as exc:   # the account cannot even start it
        return False, str(exc)
    return probe.returncode == 0, probe.stderr[-1500:]


def students_python(base, name):
    """The students' Python: the hub's own when every account can run it (CI), else a bridge.

    Where the hub's interpreter lives in a folder other accounts cannot enter (here
    /root/.pyenv: /root is 0700), the students get a virtual environment of their own on
    the system's Python of the same version that imports the hub environment's packages
    (a .pth file): what a real hub provides as a world-readable user environment (TLJH's
    /opt/tljh/user)."""
    works, why = can_run_servers(sys.executable, name)
    if works:
        return sys.executable
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    base_python = next((p for p in (f"/usr/bin/python{version}", f"/usr/local/bin/python{version}")
                        if os.access(p, os.X_OK)), None)
    if base_python is None:
        pytest.fail(f"{account(name)} cannot run the hub's Python ({why.strip().splitlines()[-1:]}) and there is "
                    f"no /usr/bin/python{version} to give the students an environment of their own")
    env_dir = os.path.join(base, "students-env")
    subprocess.run([base_python, "-m", "venv", "--without-pip", env_dir], check=True, capture_output=True)
    (site_packages,) = glob.glob(os.path.join(env_dir, "lib", "python*", "site-packages"))
    with open(os.path.join(site_packages, "hub_environment.pth"), "w") as fh:
        fh.write(f"import site; site.addsitedir({os.path.realpath(sysconfig.get_path('purelib'))!r})\n")
    python = os.path.join(env_dir, "bin", "python")
    works, why = can_run_servers(python, name)
    assert works, f"the students' environment {env_dir} does not run jupyterhub-singleuser:\n{why}"
    return python


def processes_of(uids):
    """Ids of the running processes owned by these uids."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if os.stat(f"/proc/{entry}").st_uid in uids:
                found.append(int(entry))
    return found


@pytest.fixture(scope="module")
def accounts():
    """jupyter-alice ... jupyter-dave with homes under a fresh folder; removed, with their processes, after."""
    if os.geteuid() != 0:
        pytest.fail("the rehearsal creates unix accounts and runs servers as them: run it as root (CI does)")
    base = tempfile.mkdtemp(prefix="mle_rehearsal_")
    os.chmod(base, 0o755)   # the accounts must reach their homes and the exchange below it
    homes = os.path.join(base, "home")
    os.makedirs(homes, mode=0o755)
    created = []
    try:
        for name, uid in STUDENTS.items():
            remove_leftover_of_a_rehearsal(account(name), uid)
            subprocess.run(["useradd", "--uid", str(uid), "--user-group", "--create-home", "--shell", "/bin/bash",
                            "--home-dir", os.path.join(homes, account(name)), account(name)],
                           check=True, capture_output=True)
            created.append(name)
            os.chmod(os.path.join(homes, account(name)), 0o700)
        yield base
    finally:
        # Whatever still runs as a student this test created was started by it (servers, kernels).
        for pid in processes_of({STUDENTS[name] for name in created}):
            stop_by_pid(pid)
        for name in created:
            subprocess.run(["userdel", account(name)], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def remove_leftover_of_a_rehearsal(name, uid):
    """An account or group of this name left by an interrupted rehearsal (its uid, a home under the
    rehearsal's temporary folder) is removed; anyone else's (a real TLJH student's) stops the test."""
    import grp
    rehearsal_homes = os.path.join(tempfile.gettempdir(), "mle_rehearsal_")
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        entry = None
    if entry is not None:
        if entry.pw_uid != uid or not entry.pw_dir.startswith(rehearsal_homes):
            pytest.fail(f"the account {name} exists and is not a rehearsal's (uid {entry.pw_uid}, home "
                        f"{entry.pw_dir}): the rehearsal never touches a real account; run it where there is none")
        subprocess.run(["userdel", name], capture_output=True)
    try:
        group = grp.getgrnam(name)   # a group can outlive its user
    except KeyError:
        return
    if group.gr_gid != uid or group.gr_mem:
        pytest.fail(f"the group {name} exists and is not a rehearsal's (gid {group.gr_gid}): "
                    "the rehearsal never touches a real group")
    subprocess.run(["groupdel", name], capture_output=True)


# -- the hub -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hub(accounts):
    base = accounts
    if not chp_available():
        pytest.fail("configurable-http-proxy is missing: run scripts/setup_extras.sh")
    course = copy_course(os.path.join(base, "course"))
    os.chmod(course, 0o700)   # the instructor's: students never read the source or the gradebook
    os.symlink(sys.prefix, os.path.join(course, ".venv"))   # the course's own environment (./course setup)
    exchange, state = os.path.join(base, "exchange"), os.path.join(base, "state")
    os.makedirs(exchange)
    os.chmod(exchange, 0o1777)   # docs/exchange.md: writable by all, sticky
    os.makedirs(state, mode=0o700)
    cert, key = make_certificate(os.path.join(base, "tls"))
    python = students_python(base, "alice")
    port, hub_port, proxy_api_port, formgrader_port = free_port(), free_port(), free_port(), free_port()
    token = secrets.token_hex(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "IPYTHON", "MLE_"))}
    env.update(
        PATH=os.pathsep.join([os.path.dirname(sys.executable), NODE_BIN, env.get("PATH", "")]),
        MLE_HUB_PROFILE="rehearsal", MLE_HUB_BIND_URL=f"https://127.0.0.1:{port}",
        MLE_HUB_SSL_CERT=cert, MLE_HUB_SSL_KEY=key,
        MLE_HUB_HUB_PORT=str(hub_port), MLE_HUB_PROXY_API_PORT=str(proxy_api_port),
        MLE_HUB_STATE_DIR=state, MLE_EXCHANGE_ROOT=exchange, MLE_COURSE_ROOT=course,
        MLE_INSTRUCTORS="instructor", MLE_HUB_TEST_TOKEN=token, MLE_STUDENT_PYTHON=python,
        MLE_GRADING_SERVICE="1", MLE_FEEDBACK_PER_HOUR="3", MLE_FEEDBACK_BEFORE_DEADLINE="diagnostics",
        MLE_GRADERS=TA, MLE_FORMGRADER_PORT=str(formgrader_port))
    log = os.path.join(base, "jupyterhub.log")
    info = {"origin": f"https://127.0.0.1:{port}", "port": port, "token": token, "course": course,
            "exchange": exchange, "base": base, "log": log, "cert": cert, "python": python,
            "tls": ssl.create_default_context(cafile=cert), "tokens": {}}
    server_pids = []
    cmd = [os.path.join(os.path.dirname(sys.executable), "jupyterhub"), "-f", HUB_CONFIG]
    with server_process(cmd, env, state, log) as proc:
        try:
            def answers_over_https():
                if proc.poll() is not None:
                    raise AssertionError("JupyterHub stopped at start:\n" + tail(log))
                with contextlib.suppress(OSError):   # not listening yet
                    return call(info, "/hub/api", token, timeout=5)[0] == 200
                return False
            # The hub waits for the shared formgrader (its service) before it answers.
            wait_until(answers_over_https, 300, "the hub to answer over HTTPS")
            yield info
        finally:
            with contextlib.suppress(Exception):
                for user in call(info, "/hub/api/users", token, timeout=30)[1]:
                    for server in (user.get("servers") or {}).values():
                        if server.get("state", {}).get("pid"):
                            server_pids.append(server["state"]["pid"])
                    if user.get("servers"):
                        call(info, f"/hub/api/users/{user['name']}/server", token, "DELETE", timeout=60)
            with contextlib.suppress(OSError, ValueError):
                server_pids.append(int(open(os.path.join(state, "jupyterhub-proxy.pid")).read().strip()))
    for pid in server_pids:
        stop_by_pid(pid)
    for pid in service_pids(course):   # the hub stops its services; one it could not stop in time goes here
        for child in descendants(pid):
            stop_by_pid(child)
        stop_by_pid(pid)


def user_token(hub, name):
    """A token of the hub user, made with the test's service token (as an admin's script would)."""
    if name not in hub["tokens"]:
        status, _ = call(hub, f"/hub/api/users/{name}", hub["token"], "POST")
        assert status in (201, 409), f"creating hub user {name}: HTTP {status}"
        made = ok_call(hub, f"/hub/api/users/{name}/tokens", hub["token"], "POST", {"note": "semester rehearsal"})
        hub["tokens"][name] = made["token"]
    return hub["tokens"][name]


def server_pid(hub, name):
    return ok_call(hub, f"/hub/api/users/{name}", hub["token"])["servers"][""]["state"]["pid"]


def uids_of(pid):
    """(real, effective) uid of a process."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("Uid:"):
            real, effective = line.split()[1:3]
            return int(real), int(effective)
    raise AssertionError(f"no Uid line for process {pid}")


def environ_of(pid):
    raw = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


@pytest.fixture(scope="module")
def servers(hub):
    """Every student's server, started through the hub's API and running (all four started at once)."""
    for name in STUDENTS:
        user_token(hub, name)
        status, answer = call(hub, f"/hub/api/users/{name}/server", hub["token"], "POST")
        assert status in (201, 202), f"starting {name}'s server: HTTP {status}: {answer}\n" + tail(hub["log"])

    def all_ready():
        users = {u["name"]: u for u in call(hub, "/hub/api/users", hub["token"], timeout=30)[1]}
        for name in STUDENTS:
            server = (users.get(name, {}).get("servers") or {}).get("")
            if server is None:
                raise AssertionError(f"{name}'s server stopped while starting:\n" + tail(hub["log"], 6000))
            if not server.get("ready"):
                return False
        return True
    wait_until(all_ready, SPAWN_TIMEOUT, "every student's server to be ready")
    return hub


# -- a student at their own server ---------------------------------------------------------------

def student(hub, name, path, method="GET", body=None, query=None, statuses=(200, 201)):
    """A request to the student's own server, with the student's own token."""
    return ok_call(hub, f"/user/{name}{path}", user_token(hub, name), method, body, query, statuses)


def assignment_action(hub, name, action):
    """nbgrader's assignment-list endpoint (what the Assignments tab's buttons post)."""
    answer = student(hub, name, f"/assignments/{action}", "POST",
                     query={"course_id": COURSE_ID, "assignment_id": ASSIGNMENT_ID})
    assert answer.get("success"), f"{name}'s {action}: {str(answer.get('value'))[-3000:]}"
    return answer["value"]


def listed_submissions(hub, name):
    """{timestamp: submission} of the assignment, as the student's Assignments tab lists them."""
    answer = student(hub, name, "/assignments", query={"course_id": COURSE_ID})
    assert answer["success"], answer
    return {s["timestamp"]: s for a in answer["value"] if a["assignment_id"] == ASSIGNMENT_ID
            and a["status"] == "submitted" for s in a["submissions"]}


def notebook_names(hub, name):
    listing = student(hub, name, f"/api/contents/{ASSIGNMENT_ID}", query={"content": "1"})
    return sorted(item["name"][:-len(".ipynb")] for item in listing["content"] if item["name"].endswith(".ipynb"))


def work_on(hub, name, answers_by_notebook, broken=None):
    """What the student types into each fetched notebook, saved through their server's contents API."""
    for nb_id in notebook_names(hub, name):
        path = f"/api/contents/{ASSIGNMENT_ID}/{nb_id}.ipynb"
        model = student(hub, name, path, query={"content": "1"})
        filled = fill(model["content"], answers_by_notebook.get(nb_id, {}))
        if nb_id == broken:   # a save cut off half-way: not a notebook any more
            text = json.dumps(filled)
            student(hub, name, path, "PUT", {"type": "file", "format": "text", "content": text[:len(text) // 2]})
        else:
            student(hub, name, path, "PUT", {"type": "notebook", "format": "json", "content": filled})


def submit(hub, name):
    """Submit from the student's server; return the new inbound folder's name."""
    before = set(inbound(hub, name))
    assignment_action(hub, name, "submit")
    new = sorted(set(inbound(hub, name)) - before)
    assert len(new) == 1, f"{name}'s submit made {new} in the exchange"
    return new[0]


def inbound(hub, name=None):
    folders = sorted(os.listdir(os.path.join(hub["exchange"], COURSE_ID, "inbound")))
    return [f for f in folders if name is None or f.startswith(f"{name}+")]


def feedback_page(hub, name, stamp, nb_id):
    """The feedback page fetched into the student's home, read through their own server."""
    model = student(hub, name, f"/api/contents/{ASSIGNMENT_ID}/feedback/{stamp}/{nb_id}.html",
                    query={"type": "file", "format": "text", "content": "1"})
    return model["content"]


def fetch_feedback_when_offered(hub, name, stamp, timeout):
    """Wait until the student's Assignments list offers feedback for that submission, then fetch it."""
    def offered():
        sub = listed_submissions(hub, name).get(stamp)
        return sub and sub["notebooks"] and all(nb["has_exchange_feedback"] for nb in sub["notebooks"])
    wait_until(offered, timeout, f"{name}'s feedback on the submission of {stamp}")
    assignment_action(hub, name, "fetch_feedback")
    sub = listed_submissions(hub, name)[stamp]
    assert all(nb["has_local_feedback"] and not nb["feedback_updated"] for nb in sub["notebooks"]), sub
    return {nb["notebook_id"]: feedback_page(hub, name, stamp, nb["notebook_id"]) for nb in sub["notebooks"]}


# -- the instructor, in the course directory ----------------------------------------------------------

def instructor(hub, *args):
    home = os.path.join(hub["base"], "instructor")
    os.makedirs(home, exist_ok=True)
    flags = (f"--Exchange.root={hub['exchange']}", f"--CourseDirectory.course_id={COURSE_ID}")
    return (hub["course"], home, (*args, *flags))


def gradebook_submissions(course):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{os.path.join(course, 'gradebook.db')}") as gb:
        return {s.student.id: {"score": s.score, "max_score": s.max_score, "late": s.total_seconds_late,
                               "timestamp": s.timestamp}
                for s in gb.find_assignment(ASSIGNMENT_ID).submissions}


def service_settled(course, folders):
    """The journal once the service has seen every folder and grades none of them, else None."""
    subs, _ = journal(course)
    if all(f in subs and subs[f]["state"] not in ("queued", "grading") for f in folders):
        return subs
    return None


@pytest.fixture(scope="module")
def facts():
    """What one test found that a later one checks (the tests run in order)."""
    return {}


# == 1. the hub, over HTTPS, with TLJH's accounts ======================================================

def test_the_rehearsal_profile_maps_each_hub_user_to_tljhs_account_and_names_a_missing_one(tmp_path):
    from types import SimpleNamespace
    c = load_hub_config(MLE_HUB_PROFILE="rehearsal", MLE_COURSE_ROOT="/home/prof/course",
                        MLE_HUB_STATE_DIR=str(tmp_path), MLE_STUDENT_PYTHON="/opt/students/bin/python")
    spawner = c.JupyterHub.spawner_class(user=SimpleNamespace(name="mle-no-such-student"))
    with pytest.raises(RuntimeError, match="hub user mle-no-such-student has no unix account "
                                           "jupyter-mle-no-such-student"):
        spawner.user_env({})
    assert c.Spawner.cmd == ["/opt/students/bin/python", "-m", "jupyterhub.singleuser"]
    assert c.JupyterHub.authenticator_class == "dummy" and c.JupyterHub.hub_ip == "127.0.0.1"
    # Production keeps JupyterHub's own spawner unless the accounts are named otherwise.
    assert load_hub_config(MLE_HUB_STATE_DIR=str(tmp_path)).JupyterHub.spawner_class == "localprocess"
    tljh_named = load_hub_config(MLE_HUB_STATE_DIR=str(tmp_path),
                                 MLE_UNIX_ACCOUNT="jupyter-{username}").JupyterHub.spawner_class
    assert tljh_named.__name__ == "UnixAccountSpawner"


def test_the_hub_answers_over_https_with_the_tests_certificate_and_unverified_clients_are_refused(hub):
    assert call(hub, "/hub/api", hub["token"])[0] == 200
    served = ssl.get_server_certificate(("127.0.0.1", hub["port"]))
    assert ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(open(hub["cert"]).read())
    # A client that trusts only the system's authorities refuses it: the test never turns verification off.
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"{hub['origin']}/hub/api", timeout=30, context=ssl.create_default_context())


def test_each_students_server_runs_as_their_own_jupyter_account_in_their_own_home(servers):
    for name, uid in STUDENTS.items():
        pid = server_pid(servers, name)
        assert uids_of(pid) == (uid, uid), f"{name}'s server runs as uids {uids_of(pid)}, not {account(name)}"
        env = environ_of(pid)
        home = pwd.getpwnam(account(name)).pw_dir
        assert (env["USER"], env["HOME"], env["JUPYTERHUB_USER"]) == (account(name), home, name)
        assert os.readlink(f"/proc/{pid}/cwd") == home
        # What the server writes belongs to the account.
        student(servers, name, "/api/contents/hello.txt", "PUT", {"type": "file", "format": "text", "content": "hi"})
        assert os.stat(os.path.join(home, "hello.txt")).st_uid == uid
        student(servers, name, "/api/contents/hello.txt", "DELETE", statuses=(204,))


def test_a_student_cannot_reach_another_students_server(servers):
    status, _ = call(servers, "/user/alice/api/contents", user_token(servers, "bob"))
    assert status in (403, 404), f"bob's token reached alice's server: HTTP {status}"


# == 2. release; each student fetches, works and submits from their own server ==========================

def test_the_instructor_releases_and_each_student_fetches_it_into_their_own_home(servers, facts):
    week_ends = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=7)
    ok(steps(servers["base"], [
        instructor(servers, "generate_assignment", ASSIGNMENT_ID, "--force"),
        instructor(servers, "db", "assignment", "add", ASSIGNMENT_ID,
                   f"--duedate={week_ends.strftime('%Y-%m-%d %H:%M:%S UTC')}"),
        instructor(servers, "release_assignment", ASSIGNMENT_ID)]))
    released = sorted(p[:-len(".ipynb")] for p in os.listdir(os.path.join(servers["course"], "release", ASSIGNMENT_ID))
                      if p.endswith(".ipynb"))
    facts["notebooks"] = released
    for name, uid in STUDENTS.items():
        assignment_action(servers, name, "fetch")
        assert notebook_names(servers, name) == released, name
        fetched = os.path.join(pwd.getpwnam(account(name)).pw_dir, ASSIGNMENT_ID)
        assert os.stat(fetched).st_uid == uid   # fetched by the student's own server, as the student


def test_alice_bob_and_carol_work_and_submit_from_their_own_servers_as_their_own_accounts(servers, facts):
    course = servers["course"]
    work_on(servers, "alice", answers(course, with_mistake=False))
    work_on(servers, "bob", answers(course, with_mistake=True))
    work_on(servers, "carol", answers(course, with_mistake=False), broken=BROKEN)
    facts["submitted"] = {}
    for name in ON_TIME:
        folder = submit(servers, name)
        facts["submitted"][name] = folder
        path = os.path.join(servers["exchange"], COURSE_ID, "inbound", folder)
        # The exchange holds it under the student's hub name, owned by their unix account.
        assert folder.startswith(f"{name}+{ASSIGNMENT_ID}+")
        owners = {os.lstat(os.path.join(d, f)).st_uid for d, _, files in os.walk(path) for f in files}
        assert owners == {STUDENTS[name]}, (name, owners)
        assert stamp_of(folder) in listed_submissions(servers, name)
    broken = os.path.join(servers["exchange"], COURSE_ID, "inbound", facts["submitted"]["carol"], f"{BROKEN}.ipynb")
    with pytest.raises(Exception):
        nbformat.read(broken, as_version=4)


# == 3. the grading service's feedback during the week ==================================================

def test_the_grading_service_returns_feedback_during_the_week(servers, facts):
    course = servers["course"]
    found = service_pids(course)
    pids = [p for p in found if (proc_stat(p) or (None, None))[1] not in found]   # not its own workers
    assert len(pids) == 1, f"grading services running for the course: {pids}"
    argv = open(f"/proc/{pids[0]}/cmdline", "rb").read().decode().split("\0")
    # The accounts are real: the service checks that each folder is owned by jupyter-<name>.
    assert "--no-check-owner" not in argv and argv[argv.index("--unix-account") + 1] == "jupyter-{username}"
    pages = {name: fetch_feedback_when_offered(servers, name, stamp_of(facts["submitted"][name]), GRADING_TIMEOUT)
             for name in ("alice", "bob")}
    for name, by_notebook in pages.items():
        assert sorted(by_notebook) == facts["notebooks"], name
        for nb_id, page in by_notebook.items():
            text = text_of(page)
            assert "Score" not in text, (name, nb_id)   # diagnostics before the deadline: no points
            mistaken = name == "bob" and nb_id == MISTAKE.notebook
            assert ("not yet" in text) == mistaken, (name, nb_id)
    # The service releases feedback a moment before it records the grading in its journal.
    folders = {facts["submitted"][name] for name in ("alice", "bob")}
    gradings = wait_until(lambda: [g for g in journal(course)[1] if g["folder"] in folders] if folders <= {
        g["folder"] for g in journal(course)[1]} else None, 60, "the journal to record both gradings")
    due = gradebook_due(course)
    assert len(gradings) == 2, gradings   # each graded once
    for graded in gradings:
        assert graded["visibility"] == "diagnostics" and graded["finished"] < due.timestamp(), graded


def gradebook_due(course):
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{os.path.join(course, 'gradebook.db')}") as gb:
        return gb.find_assignment(ASSIGNMENT_ID).duedate.replace(tzinfo=datetime.timezone.utc)


# == 4. the week ends; dave submits late ============================================================

def test_the_week_ends_and_dave_submits_after_the_deadline(servers, facts):
    now = datetime.datetime.now(datetime.timezone.utc)
    # The rehearsal's week ends now: the instructor moves the due date to this moment.
    ok(steps(servers["base"], [instructor(servers, "db", "assignment", "add", ASSIGNMENT_ID,
                                          f"--duedate={now.strftime('%Y-%m-%d %H:%M:%S UTC')}")]))
    due = gradebook_due(servers["course"])
    assert abs((due - now).total_seconds()) < 1
    wait_until(lambda: datetime.datetime.now(datetime.timezone.utc) > due + datetime.timedelta(seconds=1), 10,
               "the deadline to pass")
    work_on(servers, "dave", answers(servers["course"], with_mistake=False))
    facts["submitted"]["dave"] = submit(servers, "dave")
    # The service sees every submission and finishes with each before the instructor grades.
    settled = wait_until(lambda: service_settled(servers["course"], facts["submitted"].values()), GRADING_TIMEOUT,
                         "the grading service to finish with every submission")
    assert sorted(settled) == sorted(inbound(servers)), "a submission the service never saw"


# == 5. after the deadline: collect, grade, a TA, feedback, Canvas; students fetch feedback ===============

def test_collect_refuses_jupyter_accounts_without_the_mapping_and_takes_everyone_with_it(servers):
    base = servers["base"]
    (unmapped,) = steps(base, [instructor(servers, "collect", ASSIGNMENT_ID)])
    assert unmapped["code"] != 0, "collect took folders that no account named alice ... owns"
    assert "claims to be submitted by alice (unix account alice, which does not exist)" in unmapped["log"]
    (mapped,) = steps(base, [instructor(servers, "collect", ASSIGNMENT_ID, "--update",
                                        "--CourseExchangeCollect.unix_account=jupyter-{username}")])
    assert mapped["code"] == 0, mapped["log"][-4000:]
    for name in STUDENTS:
        assert os.path.isdir(os.path.join(servers["course"], "submitted", name, ASSIGNMENT_ID)), name


def test_the_instructor_grades_everyone_nothing_is_lost_and_each_outcome_is_the_expected_one(servers, facts):
    course = servers["course"]
    # As docs/jupyterhub.md says the instructor grades: nbgrader's autograder on Dask, as root (the sandbox).
    done = subprocess.run([sys.executable, "-m", "mle_grading.operations.parallel", ASSIGNMENT_ID, "--force",
                           "--workers", "2", "--course-root", course], cwd=course, env=nbgrader_env(),
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"grading failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert f"graded {len(STUDENTS)}/{len(STUDENTS)}" in done.stdout, done.stdout[-3000:]
    graded = gradebook_submissions(course)
    assert sorted(graded) == sorted(STUDENTS), "a submission is missing from the gradebook"
    full = {name: scores_by_cell(course, name) for name in STUDENTS}
    # Every answer of every notebook of every student has a score (the broken notebook's too: 0).
    assert all(set(cells) == set(full["alice"]) for cells in full.values()), {n: len(c) for n, c in full.items()}
    assert {nb for nb, _ in full["alice"]} == set(facts["notebooks"])
    lost = {name: {key for key, (score, top) in cells.items() if score != top} for name, cells in full.items()}
    assert lost["alice"] == set() and lost["dave"] == set()
    assert lost["bob"] == {(MISTAKE.notebook, cell) for cell in MISTAKE.fails}
    assert lost["carol"] == {key for key in full["carol"] if key[0] == BROKEN}
    assert graded["alice"]["score"] == graded["alice"]["max_score"] > 0
    assert graded["dave"]["late"] > 0, "dave's late submission is not marked late"
    assert all(graded[name]["late"] == 0 for name in ON_TIME), graded
    # carol's broken notebook is listed as not gradable, with why (the class report's table).
    from mle_grading.operations.class_report import read_class
    data = read_class(ASSIGNMENT_ID, f"sqlite:///{os.path.join(course, 'gradebook.db')}", course,
                      os.path.join(course, "grading_reports"))
    ungraded = [(who, nb) for who, nb, why in data.ungraded if "not a valid notebook" in why]
    assert ungraded == [("carol", BROKEN)], data.ungraded
    facts["max_score"] = graded["alice"]["max_score"]
    facts["points"] = {key: top for key, (_, top) in full["alice"].items()}


def test_a_teaching_assistant_grades_one_answer_through_the_shared_formgrader(servers, facts):
    ta = user_token(servers, TA)
    api = f"/services/{COURSE_ID}/formgrader/api"
    # The service imports nbgrader and the course's configuration before it answers.
    wait_until(lambda: call(servers, f"{api}/assignments", ta, timeout=30)[0] == 200, 300, "the shared formgrader")
    assert call(servers, f"{api}/assignments", user_token(servers, "bob"))[0] == 403   # a student is refused
    notebooks = ok_call(servers, f"{api}/submitted_notebooks/{ASSIGNMENT_ID}/{MISTAKE.notebook}", ta)
    (alices,) = [nb for nb in notebooks if nb["student"] == "alice"]
    grades = ok_call(servers, f"{api}/grades", ta, query={"submission_id": alices["id"]})
    comments = ok_call(servers, f"{api}/comments", ta, query={"submission_id": alices["id"]})
    grade = next(g for g in grades if g["name"] in MISTAKE.fails)
    comment = comments[0]
    ok_call(servers, f"{api}/grade/{grade['id']}", ta, "PUT", {"manual_score": grade["max_score"]})
    ok_call(servers, f"{api}/comment/{comment['id']}", ta, "PUT", {"manual_comment": TA_COMMENT})
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{os.path.join(servers['course'], 'gradebook.db')}") as gb:
        stored = gb.find_grade_by_id(grade["id"])
        assert (stored.student.id, stored.manual_score, stored.needs_manual_grade) == ("alice", grade["max_score"], False)
        assert gb.find_comment_by_id(comment["id"]).manual_comment == TA_COMMENT


def test_the_instructor_releases_feedback_and_exports_grades_for_canvas(servers, facts):
    base, course = servers["base"], servers["course"]
    roster = os.path.join(base, "canvas_roster.csv")
    with open(roster, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["nbgrader_id", "name", "canvas_id", "sis_user_id", "sis_login_id", "section"])
        for i, name in enumerate(STUDENTS):
            writer.writerow([name, f"{name.title()}, Student", str(9000 + i), f"S{i:04d}", name, "Rehearsal"])
    canvas = os.path.join(base, "canvas.csv")
    ok(steps(base, [instructor(servers, "generate_feedback", ASSIGNMENT_ID, "--force"),
                    instructor(servers, "release_feedback", ASSIGNMENT_ID),
                    instructor(servers, "export", "--LmsExport.lms=canvas", f"--LmsExport.roster={roster}",
                               f"--to={canvas}")]))
    rows = list(csv.reader(open(canvas, newline="")))
    assert rows[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"] and rows[0][5] == ASSIGNMENT_ID
    assert rows[1][0] == "Points Possible" and float(rows[1][5]) == facts["max_score"]
    exported = {row[3]: float(row[5]) for row in rows[2:]}
    top = facts["max_score"]
    mistake = sum(facts["points"][(MISTAKE.notebook, cell)] for cell in MISTAKE.fails)
    broken = sum(points for (nb, _), points in facts["points"].items() if nb == BROKEN)
    assert exported == {"alice": top, "bob": top - mistake, "carol": top - broken, "dave": top}, exported
    assert not os.path.exists(f"{canvas}.problems.txt"), open(f"{canvas}.problems.txt").read()


def test_every_student_fetches_their_own_feedback_through_their_own_server(servers, facts):
    pages = {}
    for name in STUDENTS:
        stamp = stamp_of(facts["submitted"][name])
        assignment_action(servers, name, "fetch_feedback")
        sub = listed_submissions(servers, name)[stamp]
        assert all(nb["has_local_feedback"] and not nb["feedback_updated"] for nb in sub["notebooks"]), (name, sub)
        pages[name] = {nb: feedback_page(servers, name, stamp, nb) for nb in facts["notebooks"]}
        owner = os.stat(os.path.join(pwd.getpwnam(account(name)).pw_dir, ASSIGNMENT_ID, "feedback", stamp)).st_uid
        assert owner == STUDENTS[name]
    facts["feedback"] = pages
    # The final, full feedback replaced the week's diagnostics: points now, and each student's own.
    got, out_of = total_score(pages["alice"][MISTAKE.notebook])
    assert got == out_of > 0
    assert total_score(pages["bob"][MISTAKE.notebook])[0] < out_of
    assert "np.sum((np.asarray(y_pred)" in text_of(pages["bob"][MISTAKE.notebook])
    assert "np.sum((np.asarray(y_pred)" not in text_of(pages["alice"][MISTAKE.notebook])
    assert "could not be read when it was graded" in text_of(pages["carol"][BROKEN])
    assert TA_COMMENT in text_of(pages["alice"][MISTAKE.notebook])
    assert not any(TA_COMMENT in text_of(p) for name in ("bob", "carol", "dave") for p in pages[name].values())


# == 6. nothing of one student is visible to another ===============================================

def test_bobs_account_cannot_read_alices_home_her_feedback_or_the_exchanges_feedback_folder(servers, facts):
    alice_home = pwd.getpwnam(account("alice")).pw_dir
    stamp = stamp_of(facts["submitted"]["alice"])
    her_feedback = os.path.join(alice_home, ASSIGNMENT_ID, "feedback", stamp, f"{MISTAKE.notebook}.html")
    assert os.path.isfile(her_feedback)
    for cmd in (["ls", alice_home], ["cat", her_feedback],
                ["ls", os.path.join(servers["exchange"], COURSE_ID, "feedback")],
                ["ls", os.path.join(servers["exchange"], COURSE_ID, "inbound")],
                ["ls", servers["course"]]):
        done = run_as("bob", cmd)
        assert done.returncode != 0 and "Permission denied" in done.stderr, (cmd, done.returncode, done.stdout)
    # His own server serves his home only: the folder of the homes, which his account may list, is
    # refused through it, while his home is served.
    assert os.stat(os.path.dirname(alice_home)).st_mode & 0o005 == 0o005
    status, _ = call(servers, "/user/bob/api/contents/", user_token(servers, "bob"))
    assert status == 200, status
    status, _ = call(servers, "/user/bob/api/contents/..%2F", user_token(servers, "bob"))
    assert status in (403, 404), status
    # What he fetched is his own feedback only.
    bob_feedback = glob.glob(os.path.join(pwd.getpwnam(account("bob")).pw_dir, ASSIGNMENT_ID, "feedback", "*"))
    assert [os.path.basename(p) for p in bob_feedback] == [stamp_of(facts["submitted"]["bob"])]


def test_released_feedback_is_named_by_secret_hashes_only(servers, facts):
    released = os.listdir(os.path.join(servers["exchange"], COURSE_ID, "feedback"))
    assert len(released) >= len(STUDENTS) * len(facts["notebooks"])
    assert not [n for n in released if any(name in n for name in STUDENTS)], released
