"""jupyterhub/jupyterhub_config.py read as JupyterHub reads it (traitlets), one profile and environment
at a time, in a process of its own: what the production profile and the course's services become."""
import json
import os
import stat
import subprocess
import sys

import pytest

from servers import ROOT

HUB_CONFIG = os.path.join(ROOT, "jupyterhub", "jupyterhub_config.py")
READ = """
import json, sys
from traitlets.config.loader import PyFileConfigLoader
try:
    config = PyFileConfigLoader(sys.argv[1]).load_config()
except SystemExit as exc:
    print(json.dumps({"stopped": str(exc)})); sys.exit(0)
hub = config.JupyterHub
print(json.dumps({"bind_url": hub.get("bind_url"), "ssl_cert": hub.get("ssl_cert"), "ssl_key": hub.get("ssl_key"),
                  "authenticator": hub.get("authenticator_class"), "services": hub.get("services", []),
                  "groups": hub.get("load_groups", {}), "roles": hub.get("load_roles", [])}, default=str))
"""


def hub_config(tmp_path, with_course_python=True, **env):
    """The configuration JupyterHub would run with, or {"stopped": message}."""
    course = tmp_path / "course"
    (course / ".venv" / "bin").mkdir(parents=True, exist_ok=True)
    for name in ("python", "jupyterhub-singleuser") if with_course_python else ():
        tool = course / ".venv" / "bin" / name
        tool.write_text("#!/bin/sh\n")
        tool.chmod(0o755)
    base = {k: v for k, v in os.environ.items() if not k.startswith("MLE_")}
    base.update({"MLE_HUB_STATE_DIR": str(tmp_path / "state"), "MLE_COURSE_ROOT": str(course), **env})
    proc = subprocess.run([sys.executable, "-c", READ, HUB_CONFIG], env=base, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_the_production_profile_creates_the_hubs_state_folder_private_to_the_hub(tmp_path):
    config = hub_config(tmp_path)
    assert "stopped" not in config, config
    state = tmp_path / "state"
    assert state.is_dir() and stat.S_IMODE(state.stat().st_mode) == 0o700


def test_a_state_folder_that_cannot_be_made_is_one_clear_line(tmp_path):
    (tmp_path / "file").write_text("")
    config = hub_config(tmp_path, MLE_HUB_STATE_DIR=str(tmp_path / "file" / "state"))
    assert "cannot create the hub's state folder" in config["stopped"]


def test_the_production_profile_serves_https_with_the_certificate_given(tmp_path):
    cert, key = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    cert.write_text("cert")
    key.write_text("key")
    config = hub_config(tmp_path, MLE_HUB_SSL_CERT=str(cert), MLE_HUB_SSL_KEY=str(key), MLE_HUB_BIND_URL="http://:443")
    assert (config["ssl_cert"], config["ssl_key"], config["bind_url"]) == (str(cert), str(key), "https://:443")
    assert "no TLS file" in hub_config(tmp_path, MLE_HUB_SSL_CERT=str(tmp_path / "missing.pem"),
                                       MLE_HUB_SSL_KEY=str(key))["stopped"]
    assert "are not set" in hub_config(tmp_path, MLE_HUB_BIND_URL="https://:443")["stopped"]


def test_the_production_profile_takes_the_authenticator_named(tmp_path):
    assert hub_config(tmp_path)["authenticator"] == "pam"
    assert hub_config(tmp_path, MLE_HUB_AUTHENTICATOR="github")["authenticator"] == "github"


def test_the_grading_service_runs_on_the_courses_python_not_the_hubs(tmp_path):
    config = hub_config(tmp_path, MLE_GRADING_SERVICE="1")
    (service,) = [s for s in config["services"] if s["name"] == "grading-service"]
    assert service["command"][0] == str(tmp_path / "course" / ".venv" / "bin" / "python")
    assert service["command"][0] != sys.executable
    os.remove(tmp_path / "course" / ".venv" / "bin" / "python")
    assert "the course's Python is not at" in hub_config(tmp_path, False, MLE_GRADING_SERVICE="1")["stopped"]


def test_teaching_assistants_get_nbgraders_shared_formgrader_service_group_and_scopes(tmp_path):
    config = hub_config(tmp_path, MLE_INSTRUCTORS="prof", MLE_GRADERS="ta1,ta2", MLE_GRADER_ACCOUNT="grader-mle")
    (service,) = [s for s in config["services"] if s["name"] == "mle_losses_course"]
    assert service["command"][0] == str(tmp_path / "course" / ".venv" / "bin" / "jupyterhub-singleuser")
    assert service["user"] == "grader-mle" and service["cwd"] == str(tmp_path / "course")
    assert config["groups"]["formgrade-mle_losses_course"] == {"users": ["prof", "ta1", "ta2"]}
    (role,) = [r for r in config["roles"] if r["name"] == "formgrade-mle_losses_course"]
    assert role["groups"] == ["formgrade-mle_losses_course"]
    assert set(role["scopes"]) == {"access:services!service=mle_losses_course", "list:services",
                                   "read:services!service=mle_losses_course"}
    assert not any(s["name"] == "mle_losses_course" for s in hub_config(tmp_path)["services"])


def test_on_tljh_the_grading_service_and_collect_own_submissions_by_jupyter_accounts(tmp_path):
    def account(**env):
        (service,) = [s for s in hub_config(tmp_path, MLE_GRADING_SERVICE="1", **env)["services"]
                      if s["name"] == "grading-service"]
        return service["command"][service["command"].index("--unix-account") + 1]
    assert account(MLE_HUB_PROFILE="tljh") == "jupyter-{username}"
    assert account() == "{username}"
    assert account(MLE_UNIX_ACCOUNT="student-{username}") == "student-{username}"
    text = open(os.path.join(ROOT, "jupyterhub", "config", "instructors", "nbgrader_config.py")).read()
    assert 'c.CourseExchangeCollect.unix_account = os.environ["MLE_UNIX_ACCOUNT"]' in text
