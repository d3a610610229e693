"""JupyterHub configuration for the mle_losses course.

    jupyterhub -f jupyterhub/jupyterhub_config.py

Students get JupyterLab with nbgrader's Assignments tab and Validate button; the
instructor's own server is the formgrader, working in the course directory (a
clone of this repository). Assignments travel through nbgrader's exchange
directory. docs/jupyterhub.md walks through a semester.

Profiles, chosen by MLE_HUB_PROFILE:

- "production" (default): one machine, unix accounts and PAM, LocalProcessSpawner.
  The commented sections show the OAuth/LTI authenticators and DockerSpawner to
  use instead (Kubernetes: Zero to JupyterHub, see docs/jupyterhub.md).
- "tljh": only the course's part, loaded into The Littlest JupyterHub from
  /opt/tljh/config/jupyterhub_config.d/ (TLJH owns login, spawner, limits, culling).
- "local-test": what tests/test_jupyterhub.py runs. Loopback only, any user name
  logs in (DummyAuthenticator), servers run as the hub's own user with a home
  under MLE_HUB_HOMES (SimpleLocalProcessSpawner). Never expose it to a network.
- "rehearsal": what tests/test_semester_rehearsal.py runs. Loopback only and any user
  name logs in, as local-test; but each server runs as its own unix account, named
  as TLJH names it (hub user carol: jupyter-carol, MLE_UNIX_ACCOUNT), with that
  account's home (UnixAccountSpawner below), and the grading service checks owners.

Settings read from the environment (defaults in brackets):
  MLE_HUB_PROFILE     production | tljh | local-test | rehearsal   [production]
  MLE_HUB_BIND_URL    where the proxy listens                      [http://:8000]
  MLE_HUB_STATE_DIR   hub database, cookie secret, proxy pid       [/srv/jupyterhub]
  MLE_EXCHANGE_ROOT   nbgrader exchange (writable by all)          [/srv/nbgrader/exchange]
  MLE_COURSE_ROOT     the instructor's course directory            [this repository]
  MLE_INSTRUCTORS     comma-separated hub user names               [instructor]
  MLE_STUDENTS        comma-separated roster ("" = anyone the authenticator accepts)
  MLE_HUB_ROLE_CONFIG per-role Jupyter configuration              [jupyterhub/config]
  MLE_MEM_LIMIT       per-student memory limit                     [2G]
  MLE_CPU_LIMIT       per-student CPU limit, in cores              [1.0]
  MLE_HUB_SSL_CERT, MLE_HUB_SSL_KEY   HTTPS served by the hub itself (production; or a TLS proxy in front)
  MLE_HUB_AUTHENTICATOR  production's login: pam | github | generic-oauth | lti13 | ...   [pam]
  MLE_GRADERS         teaching assistants: hub user names who grade through the shared formgrader
  MLE_GRADER_ACCOUNT  the unix account the shared formgrader runs as (owns the course directory)
  MLE_COURSE_PYTHON   the course's Python, with mle_grading        [MLE_COURSE_ROOT/.venv/bin/python]
  MLE_UNIX_ACCOUNT    a student's unix account from their hub name [tljh, rehearsal: jupyter-{username}; else {username}]
  MLE_STUDENT_PYTHON  the students' Python (jupyterhub, nbgrader; no mle_grading), readable by every account
                      [the hub's: its jupyterhub-singleuser]
"""
import importlib.util
import os
import pwd
import sys

from jupyterhub.spawner import LocalProcessSpawner

c = get_config()  # noqa: F821

HERE = os.path.dirname(os.path.abspath(__file__))
PROFILE = os.environ.get("MLE_HUB_PROFILE", "production")
if PROFILE not in ("production", "tljh", "local-test", "rehearsal"):
    raise ValueError(f"MLE_HUB_PROFILE must be production, tljh, local-test or rehearsal, not {PROFILE!r}")
# The test hubs: loopback only, any name logs in, ports and a token for the test-suite.
ON_LOOPBACK_FOR_TESTS = PROFILE in ("local-test", "rehearsal")
STATE_DIR = os.environ.get("MLE_HUB_STATE_DIR", "/srv/jupyterhub")
COURSE_ROOT = os.environ.get("MLE_COURSE_ROOT", os.path.dirname(HERE))
EXCHANGE_ROOT = os.environ.get("MLE_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
INSTRUCTORS = {u.strip() for u in os.environ.get("MLE_INSTRUCTORS", "instructor").split(",") if u.strip()}
GRADERS = {u.strip() for u in os.environ.get("MLE_GRADERS", "").split(",") if u.strip()}
COURSE_ID = os.environ.get("MLE_COURSE_ID", "mle_losses_course")
# Who owns a student's submissions in the exchange: TLJH's hub user carol is unix account jupyter-carol.
UNIX_ACCOUNT = os.environ.get("MLE_UNIX_ACCOUNT",
                              "jupyter-{username}" if PROFILE in ("tljh", "rehearsal") else "{username}")
# The course's own environment (`./course setup` makes it): it has the grading library, which
# the hub's (and the students') environment must not have. Grading runs there, never on the hub's Python.
COURSE_PYTHON = os.environ.get("MLE_COURSE_PYTHON") or os.path.join(COURSE_ROOT, ".venv", "bin", "python")
STUDENTS = {u.strip() for u in os.environ.get("MLE_STUDENTS", "").split(",") if u.strip()}
# Per-role Jupyter configuration (nbgrader, extensions, JupyterLab defaults). Every user's
# server reads it: with unix accounts, copy jupyterhub/ somewhere world-readable and keep
# the course repository (solutions in source/, the gradebook) private to the instructor.
CONFIG_DIRS = os.environ.get("MLE_HUB_ROLE_CONFIG", os.path.join(HERE, "config"))
BIN = os.path.dirname(sys.executable)   # the environment JupyterHub runs in

services, roles = [], []

# --- the hub and its proxy (TLJH runs its own) ------------------------------------
if PROFILE != "tljh":
    c.JupyterHub.bind_url = os.environ.get("MLE_HUB_BIND_URL", "http://:8000")
    # The hub's state folder (its database, cookie secret, proxy pid): made here, private to the
    # hub, so that a missing /srv/jupyterhub is never a traceback at start.
    try:
        os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise SystemExit(f"cannot create the hub's state folder {STATE_DIR} ({exc.strerror}): "
                         "create it as root, or set MLE_HUB_STATE_DIR")
    c.JupyterHub.db_url = f"sqlite:///{os.path.join(STATE_DIR, 'jupyterhub.sqlite')}"
    c.JupyterHub.cookie_secret_file = os.path.join(STATE_DIR, "jupyterhub_cookie_secret")
    c.ConfigurableHTTPProxy.pid_file = os.path.join(STATE_DIR, "jupyterhub-proxy.pid")
    # configurable-http-proxy comes from npm; scripts/setup_extras.sh installs it in .node/.
    _chp = os.path.join(os.path.dirname(HERE), ".node", "node_modules", ".bin", "configurable-http-proxy")
    if os.path.exists(_chp):
        c.ConfigurableHTTPProxy.command = [_chp]
    # HTTPS served by the hub (e.g. Let's Encrypt's fullchain.pem and privkey.pem), or a
    # TLS-terminating reverse proxy in front of an http bind_url on 127.0.0.1.
    SSL_CERT, SSL_KEY = os.environ.get("MLE_HUB_SSL_CERT"), os.environ.get("MLE_HUB_SSL_KEY")
    if bool(SSL_CERT) != bool(SSL_KEY):
        raise SystemExit("set both MLE_HUB_SSL_CERT and MLE_HUB_SSL_KEY, or neither")
    if SSL_CERT:
        for path in (SSL_CERT, SSL_KEY):
            if not os.path.isfile(path):
                raise SystemExit(f"no TLS file at {path} (MLE_HUB_SSL_CERT / MLE_HUB_SSL_KEY)")
        c.JupyterHub.ssl_cert, c.JupyterHub.ssl_key = SSL_CERT, SSL_KEY
        if c.JupyterHub.bind_url.startswith("http://"):
            c.JupyterHub.bind_url = "https://" + c.JupyterHub.bind_url[len("http://"):]
    elif PROFILE == "production" and c.JupyterHub.bind_url.startswith("https://"):
        raise SystemExit("MLE_HUB_BIND_URL is https:// but MLE_HUB_SSL_CERT and MLE_HUB_SSL_KEY are not set")

# --- who may log in (TLJH: `tljh-config add-item users.admin ...`) ------------------
if PROFILE != "tljh":
    c.Authenticator.admin_users = set(INSTRUCTORS)
    if STUDENTS:
        c.Authenticator.allowed_users = STUDENTS | INSTRUCTORS
    else:
        c.Authenticator.allow_all = True   # everyone the authenticator accepts
    if ON_LOOPBACK_FOR_TESTS:
        c.JupyterHub.authenticator_class = "dummy"   # any name, any password: loopback tests only
    else:
        # The machine's unix accounts (pam), or the university's login (pip install oauthenticator;
        # its client id and secret in the authenticator's own settings, e.g. c.GitHubOAuthenticator).
        c.JupyterHub.authenticator_class = os.environ.get("MLE_HUB_AUTHENTICATOR", "pam")
        # For example:
        # c.JupyterHub.authenticator_class = "generic-oauth"
        # c.GenericOAuthenticator.oauth_callback_url = "https://hub.example.edu/hub/oauth_callback"
        # c.GenericOAuthenticator.client_id = "..."; c.GenericOAuthenticator.client_secret = "..."
        # Launched from the LMS (pip install jupyterhub-ltiauthenticator):
        # c.JupyterHub.authenticator_class = "lti13"
c.JupyterHub.load_groups = {"instructors": {"users": sorted(INSTRUCTORS)}}

# --- every user's server -------------------------------------------------------------
if PROFILE != "tljh":   # TLJH starts servers from its own user environment
    c.Spawner.cmd = [os.path.join(BIN, "jupyterhub-singleuser")]
    if os.environ.get("MLE_STUDENT_PYTHON"):
        # The students' own environment: every account must be able to run it (a Python under
        # /root, say, is not), and it has no grading library. Instructors keep the course's.
        c.Spawner.cmd = [os.environ["MLE_STUDENT_PYTHON"], "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 180   # a first start imports a lot: generous on small machines
c.Spawner.http_timeout = 180
c.Spawner.environment.update({
    "MLE_EXCHANGE_ROOT": EXCHANGE_ROOT,
    "MLE_COURSE_ID": COURSE_ID,
})
c.Spawner.args.extend([
    # Idle culling inside each server (built into jupyter_server): kernels idle for 30
    # minutes are shut down; a server without kernels or activity for an hour stops.
    "--MappingKernelManager.cull_idle_timeout=1800",
    "--MappingKernelManager.cull_interval=300",
    "--MappingKernelManager.cull_connected=False",
    "--ServerApp.shutdown_no_activity_timeout=3600",
    # JupyterLab defaults for the course: no "official Jupyter news?" prompt, no update checks.
    f"--LabApp.app_settings_dir={os.path.join(CONFIG_DIRS, 'lab-settings')}",
])

# Resource limits per student. LocalProcessSpawner only passes them on (MEM_LIMIT and
# CPU_LIMIT in the server's environment, shown by jupyter-resource-usage); TLJH's
# SystemdSpawner, DockerSpawner and KubeSpawner enforce them. A kernel with torch
# imported takes about 250 MB; 2 GB leaves room for the students' own experiments.
if PROFILE != "tljh":   # TLJH: tljh-config set limits.memory 2G; tljh-config set limits.cpu 1
    c.Spawner.mem_limit = os.environ.get("MLE_MEM_LIMIT", "2G")
    c.Spawner.cpu_limit = float(os.environ.get("MLE_CPU_LIMIT", "1.0"))

# Idle culling at the hub: jupyterhub-idle-culler (pip install jupyterhub-idle-culler)
# also stops servers whose browser tab was left open. Enabled when installed; TLJH and
# Zero to JupyterHub run it already.
if PROFILE != "tljh" and importlib.util.find_spec("jupyterhub_idle_culler"):
    services.append({"name": "idle-culler",
                     "command": [sys.executable, "-m", "jupyterhub_idle_culler", "--timeout=3600"]})
    roles.append({"name": "idle-culler", "services": ["idle-culler"],
                  "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]})

# Feedback on submit (mle_grading/operations/grading_service.py, docs/feedback_service.md): the hub
# starts the grading service, and starts it again if it stops. Enable it on the machine
# that holds the course and the exchange with MLE_GRADING_SERVICE=1. It needs no hub API
# access: it reads the exchange's inbound folder and releases feedback into the exchange.
#   MLE_FEEDBACK_PER_HOUR          gradings per student per hour          [3]
#   MLE_FEEDBACK_BEFORE_DEADLINE   full | diagnostics | receipt            [diagnostics]
#   MLE_GRADING_SERVICE_USER       run it as this unix user (the instructor's), if set
def course_python():
    """The course's Python (with mle_grading), or a clear stop: the hub's own lacks the grading library."""
    if not os.access(COURSE_PYTHON, os.X_OK):
        raise SystemExit(f"the course's Python is not at {COURSE_PYTHON}: run ./course setup in {COURSE_ROOT}, "
                         "or set MLE_COURSE_PYTHON to the Python that has mle_grading")
    return COURSE_PYTHON


if os.environ.get("MLE_GRADING_SERVICE") == "1":
    _service = {"name": "grading-service", "cwd": COURSE_ROOT,
                "command": [course_python(), "-m", "mle_grading.operations.grading_service",
                            "--course", COURSE_ROOT, "--exchange", EXCHANGE_ROOT,
                            "--course-id", COURSE_ID,
                            "--per-hour", os.environ.get("MLE_FEEDBACK_PER_HOUR", "3"),
                            "--before-deadline", os.environ.get("MLE_FEEDBACK_BEFORE_DEADLINE", "diagnostics"),
                            "--unix-account", UNIX_ACCOUNT]}
    if os.environ.get("MLE_GRADING_SERVICE_USER"):
        _service["user"] = os.environ["MLE_GRADING_SERVICE_USER"]
    if PROFILE == "local-test":
        # Every server runs as the hub's own user there: no inbound folder is owned by its student.
        _service["command"].append("--no-check-owner")
        # The hub's feedback test kills the service during one nbgrader autograde while another
        # waits; the service on Dask is tested by tests/test_grading_service*.py.
        _service["command"].append("--one-at-a-time")
    # rehearsal: every student is a real account, so the owner check stays on, as in production.
    services.append(_service)


def per_role_setup(spawner):
    """Students: nbgrader's student side only. Instructors: the formgrader, in the course directory."""
    env = dict(spawner.environment)   # a copy: the configured dict is shared by every spawner
    spawner.environment = env
    if spawner.user.name in INSTRUCTORS:
        env["MLE_ROLE"] = "instructor"
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([os.path.join(CONFIG_DIRS, "instructors"),
                                                      os.path.join(CONFIG_DIRS, "common")])
        env["MLE_COURSE_ROOT"] = COURSE_ROOT
        env["MLE_UNIX_ACCOUNT"] = UNIX_ACCOUNT   # collect's owner check (config/instructors/nbgrader_config.py)
        spawner.notebook_dir = COURSE_ROOT
        # The course's own environment (`./course setup` makes it): it has the grading
        # library, which holds reference solutions and so must not be in the students' one.
        course_server = os.path.join(COURSE_ROOT, ".venv", "bin", "jupyterhub-singleuser")
        if os.path.exists(course_server):
            spawner.cmd = [course_server]
        spawner.mem_limit = None   # grading a class needs more than a student's notebook
        spawner.cpu_limit = None
    else:
        env["MLE_ROLE"] = "student"
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join([os.path.join(CONFIG_DIRS, "students"),
                                                      os.path.join(CONFIG_DIRS, "common")])


c.Spawner.pre_spawn_hook = per_role_setup

# --- teaching assistants: nbgrader's shared formgrader (one class, several graders) -------------
# nbgrader's documented set-up: the formgrader runs as a hub service named after the course, in
# the course directory, on the course's Python; the group formgrade-<course> (the instructors and
# MLE_GRADERS) may reach it, and nothing else. A TA grades there as the service's account
# (MLE_GRADER_ACCOUNT, which owns the course directory), never in the instructor's own server.
if GRADERS:
    FORMGRADER_PORT = int(os.environ.get("MLE_FORMGRADER_PORT", "9999"))
    _formgrader = {
        "name": COURSE_ID, "url": f"http://127.0.0.1:{FORMGRADER_PORT}", "cwd": COURSE_ROOT,
        # (JupyterHub >= 6) seconds the hub waits for it at start: the formgrader imports nbgrader and
        # the course's configuration first; past the default 30 s the hub would stop.
        "timeout": int(os.environ.get("MLE_FORMGRADER_START_TIMEOUT", "180")),
        "command": [os.path.join(os.path.dirname(course_python()), "jupyterhub-singleuser"),
                    f"--ServerApp.root_dir={COURSE_ROOT}", "--ServerApp.default_url=/formgrader"],
        "environment": {"MLE_ROLE": "instructor", "MLE_COURSE_ROOT": COURSE_ROOT, "MLE_UNIX_ACCOUNT": UNIX_ACCOUNT,
                        "MLE_EXCHANGE_ROOT": EXCHANGE_ROOT, "MLE_COURSE_ID": COURSE_ID,
                        "JUPYTER_CONFIG_PATH": os.pathsep.join([os.path.join(CONFIG_DIRS, "instructors"),
                                                                os.path.join(CONFIG_DIRS, "common")])},
    }
    if os.environ.get("MLE_GRADER_ACCOUNT"):
        _formgrader["user"] = os.environ["MLE_GRADER_ACCOUNT"]
    if ON_LOOPBACK_FOR_TESTS:
        _formgrader["command"].append("--allow-root")   # test machines and CI run as root
    services.append(_formgrader)
    c.JupyterHub.load_groups[f"formgrade-{COURSE_ID}"] = {"users": sorted(INSTRUCTORS | GRADERS)}
    roles.append({"name": f"formgrade-{COURSE_ID}", "groups": [f"formgrade-{COURSE_ID}"],
                  "scopes": [f"access:services!service={COURSE_ID}", "list:services",
                             f"read:services!service={COURSE_ID}"]})

# --- which spawner --------------------------------------------------------------------
class UnixAccountSpawner(LocalProcessSpawner):
    """LocalProcessSpawner whose unix account is MLE_UNIX_ACCOUNT with the hub name filled in
    (TLJH's naming: hub user carol runs as jupyter-carol, in that account's home)."""

    def unix_account(self):
        account = UNIX_ACCOUNT.format(username=self.user.name)
        try:
            return pwd.getpwnam(account)
        except KeyError:
            raise RuntimeError(f"hub user {self.user.name} has no unix account {account} "
                               f"(MLE_UNIX_ACCOUNT={UNIX_ACCOUNT}): create it, e.g. useradd -m {account}") from None

    def make_preexec_fn(self, name):
        return super().make_preexec_fn(self.unix_account().pw_name)

    def user_env(self, env):
        account = self.unix_account()
        env["USER"] = account.pw_name
        if account.pw_dir:
            env["HOME"] = account.pw_dir
        if account.pw_shell:
            env["SHELL"] = account.pw_shell
        return env


if PROFILE == "local-test":
    c.JupyterHub.spawner_class = "simple"   # no unix accounts; no isolation between users
    c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(
        os.environ.get("MLE_HUB_HOMES", os.path.join(STATE_DIR, "homes")), "{username}")
    c.Spawner.args.append("--allow-root")   # test machines and CI run as root
elif PROFILE in ("production", "rehearsal"):
    # One unix account per user: the hub name itself, or MLE_UNIX_ACCOUNT's (TLJH's jupyter-carol).
    c.JupyterHub.spawner_class = "localprocess" if UNIX_ACCOUNT == "{username}" else UnixAccountSpawner
    # Containers instead, one image for everyone built from environment.yml
    # (pip install dockerspawner):
    #   c.JupyterHub.spawner_class = "docker"
    #   c.DockerSpawner.image = "registry.example.edu/mle-losses:2026"
    #   c.DockerSpawner.notebook_dir = "/home/jovyan/work"
    #   c.DockerSpawner.volumes = {"jupyterhub-user-{username}": "/home/jovyan/work",
    #                              "nbgrader-exchange": EXCHANGE_ROOT}
    #   c.Spawner.cmd = ["jupyterhub-singleuser"]   # the image's own
if ON_LOOPBACK_FOR_TESTS:
    c.JupyterHub.hub_ip = "127.0.0.1"
    if os.environ.get("MLE_HUB_HUB_PORT"):
        c.JupyterHub.hub_port = int(os.environ["MLE_HUB_HUB_PORT"])
    if os.environ.get("MLE_HUB_PROXY_API_PORT"):
        c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['MLE_HUB_PROXY_API_PORT']}"
    if os.environ.get("MLE_HUB_TEST_TOKEN"):   # lets the test-suite read the hub's state
        services.append({"name": "course-tests", "api_token": os.environ["MLE_HUB_TEST_TOKEN"]})
        roles.append({"name": "course-tests", "services": ["course-tests"],
                      "scopes": ["admin:users", "admin:servers", "admin:server_state", "list:users",
                                 "read:users", "tokens", "read:services"]})

if services:
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles
