"""The grading cluster runs work for the grader only (issue 26, item 1).

Every student has a unix account on the grading machine (The Littlest JupyterHub). A
Dask client runs any code on the workers, as the account they run as (root here). So a
real second account tries what a student would: read the scheduler's port from
/proc/net/tcp, connect a `distributed.Client` (plain tcp://, and tls:// with a
certificate of its own) and call `client.run` and `client.submit` to read /etc/shadow.
Against the grading cluster (`mle_grading.operations.parallel.dask_client`) that must
fail; against a cluster set up as before (no TLS) the same script succeeds, which
shows the attack is real and the test can fail.

The interpreter lives under /root, which other uids cannot enter: the student's
script starts as root, imports what it needs, makes its own certificate, then drops
to the student's uid and groups (setgroups, setgid, setuid) for good before it looks
for the port and connects. Given the cluster's own credential, the same script as the
student does connect (the refusal is the credential's doing, not an import's).
"""
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

import pytest

from mle_grading.operations import parallel

STUDENT = "mle_cluster_student"
STUDENT_UID = 47311

# What the student runs: every scheduler port listening on loopback, from /proc/net/tcp,
# then a client over tcp:// and over tls:// with a key and certificate of their own.
ATTACK = r"""
import json, os, sys
from distributed import Client
from distributed.security import Security
import distributed.comm.tcp, distributed.protocol.pickle, distributed.protocol.serialize, cloudpickle  # noqa

own = Security.temporary()   # a key and certificate of the student's own
credential = sys.argv[4:]    # given only to show the script works when the credential is held
held = Security(require_encryption=True, tls_ca_file=credential[0], tls_client_cert=credential[1],
                tls_client_key=credential[2]) if credential else None
os.setgroups([])
os.setgid(int(sys.argv[3]))
os.setuid(int(sys.argv[2]))
assert os.getuid() != 0 and os.geteuid() != 0

def listening_ports():
    ports = set()
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        local, state = fields[1], fields[3]
        host, port = local.split(":")
        if state == "0A" and host == "0100007F":   # LISTEN on 127.0.0.1
            ports.add(int(port, 16))
    return sorted(ports)

wanted = int(sys.argv[1])
ports = listening_ports()
outcome = {"port_seen": wanted in ports, "attempts": []}
attempts = [(f"tcp://127.0.0.1:{wanted}", None), (f"tls://127.0.0.1:{wanted}", own)]
if held:
    attempts = [(f"tls://127.0.0.1:{wanted}", held)]
for address, security in attempts:
    try:
        with Client(address, timeout="8s", security=security) as client:
            ran = client.run(lambda: __import__("os").getuid())
            shadow = client.submit(lambda: open("/etc/shadow").read()[:20], pure=False).result(timeout=30)
            outcome["attempts"].append({"address": address, "ran_as": sorted(set(ran.values())), "shadow": shadow})
    except Exception as exc:
        outcome["attempts"].append({"address": address, "refused": f"{type(exc).__name__}: {exc}"[:300]})
print(json.dumps(outcome))
"""


@pytest.fixture(scope="module")
def student_account():
    if os.geteuid() != 0:
        pytest.skip("needs root to create a second unix account")
    subprocess.run(["userdel", STUDENT], capture_output=True)
    subprocess.run(["useradd", "--no-create-home", "--uid", str(STUDENT_UID), "--user-group", STUDENT], check=True)
    home = tempfile.mkdtemp(prefix="mle-cluster-student-")
    os.chown(home, STUDENT_UID, STUDENT_UID)
    try:
        yield pwd.getpwnam(STUDENT), home
    finally:
        subprocess.run(["userdel", STUDENT], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def attack_as_student(account, home, address, credential=()):
    port = address.rsplit(":", 1)[1]
    script = os.path.join(home, "attack.py")
    with open(script, "w") as fh:
        fh.write(ATTACK)
    os.chmod(script, 0o644)
    env = {"PATH": "/usr/bin:/bin", "HOME": home, "DASK_CONFIG": os.path.join(home, "dask")}
    proc = subprocess.run([sys.executable, script, port, str(account.pw_uid), str(account.pw_gid), *credential],
                          cwd=home, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def grading_cluster():
    with parallel.dask_client(workers=1) as client:
        yield client.scheduler.address


@pytest.fixture
def cluster_as_before_the_fix():
    """A local cluster started as parallel.dask_client did before: loopback, no TLS."""
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client.scheduler.address


def test_another_account_cannot_run_code_on_the_grading_cluster(student_account, grading_cluster):
    account, home = student_account
    outcome = attack_as_student(account, home, grading_cluster)
    assert outcome["port_seen"], "the student could not even find the port: the test shows nothing"
    assert len(outcome["attempts"]) == 2
    for attempt in outcome["attempts"]:
        assert "refused" in attempt, f"the student ran code on the grading cluster: {attempt}"


def test_the_same_attack_runs_code_as_root_on_a_cluster_without_tls(student_account, cluster_as_before_the_fix):
    account, home = student_account
    outcome = attack_as_student(account, home, cluster_as_before_the_fix)
    plain = outcome["attempts"][0]
    assert plain.get("ran_as") == [0], outcome
    assert plain["shadow"].startswith("root:"), outcome


def run_parallel(*args, env=None):
    return subprocess.run([sys.executable, "-m", "mle_grading.operations.parallel", *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300)


def test_a_tcp_scheduler_is_refused_with_one_line_unless_the_instructor_opts_out_by_name(tmp_path):
    proc = run_parallel("--scheduler", "tcp://127.0.0.1:1", "--course-root", str(tmp_path))
    assert proc.returncode == 2
    error = proc.stderr.strip().splitlines()[-1]
    assert "not a tls:// address" in error and "--insecure-scheduler" in error
    with pytest.raises(parallel.ClusterSecurityError, match="not a tls://"):
        parallel.scheduler_security("tcp://10.0.0.1:8786")
    assert parallel.scheduler_security("tcp://10.0.0.1:8786", insecure=True) is None


def test_a_tls_scheduler_needs_the_instructors_credential_and_a_private_key(tmp_path, monkeypatch):
    for name in parallel.TLS_ENVIRONMENT.values():
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(parallel.ClusterSecurityError, match="needs the instructor's credential"):
        parallel.scheduler_security("tls://10.0.0.1:8786")
    paths = parallel.make_credentials(str(tmp_path / "credential"))
    assert os.stat(tmp_path / "credential").st_mode & 0o777 == 0o700
    assert os.stat(paths["key"]).st_mode & 0o777 == 0o600
    security = parallel.scheduler_security("tls://10.0.0.1:8786", paths["ca"], paths["cert"], paths["key"])
    assert security.require_encryption and security.tls_client_key == paths["key"]
    monkeypatch.setenv(parallel.TLS_ENVIRONMENT["ca"], paths["ca"])
    monkeypatch.setenv(parallel.TLS_ENVIRONMENT["cert"], paths["cert"])
    monkeypatch.setenv(parallel.TLS_ENVIRONMENT["key"], paths["key"])
    assert parallel.scheduler_security("tls://10.0.0.1:8786").tls_client_cert == paths["cert"]
    os.chmod(paths["key"], 0o644)
    with pytest.raises(parallel.ClusterSecurityError, match="can be read by other accounts"):
        parallel.scheduler_security("tls://10.0.0.1:8786")


def test_a_cluster_started_by_hand_with_the_made_credential_grades_for_its_holder_only(tmp_path, student_account):
    """The recipe of docs/scale.md: `dask scheduler`/`dask worker` with --tls-* and the credential."""
    from distributed import Client
    paths = parallel.make_credentials(str(tmp_path / "credential"))
    dask = os.path.join(os.path.dirname(sys.executable), "dask")
    tls = ["--tls-ca-file", paths["ca"], "--tls-cert", paths["cert"], "--tls-key", paths["key"]]
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tls://127.0.0.1:{port}"
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", "127.0.0.1:0", *tls],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1",
                                       "--no-dashboard", *tls], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        security = parallel.scheduler_security(address, paths["ca"], paths["cert"], paths["key"])
        with Client(address, security=security, timeout="60s") as client:
            client.wait_for_workers(1, timeout=120)
            assert client.submit(lambda: 6 * 7).result() == 42
        account, home = student_account
        for attempt in attack_as_student(account, home, address)["attempts"]:
            assert "refused" in attempt, attempt
        # The same script, as the student, given a copy of the credential: it connects.
        leaked = []
        for path in (paths["ca"], paths["cert"], paths["key"]):
            leaked.append(os.path.join(home, "leaked-" + os.path.basename(path)))
            shutil.copy(path, leaked[-1])
            os.chmod(leaked[-1], 0o644)
        [attempt] = attack_as_student(account, home, address, leaked)["attempts"]
        assert attempt.get("ran_as") == [0], attempt
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
