"""Teaching assistants grade through the hub: nbgrader's shared-grader set-up (a formgrader service
named after the course, the group formgrade-<course>, its scopes), on a real JupyterHub on loopback.

jupyterhub_config.py's local-test profile with MLE_GRADERS=ta: the hub starts the shared formgrader
as a service on the course's Python, in the course directory. A TA who is not the instructor reaches
its API with their own token; a student is refused.
"""
import json
import os
import time
import urllib.error
import urllib.request

from course_copy import FIRST_ASSIGNMENT
from servers import free_port, tail
from test_jupyterhub import COURSE_ID, running_hub

TA, STUDENT = "ta", "bob"


def request(hub, path, token, method="GET", body=None):
    """(status, parsed JSON or text) of a request to the hub's origin with a token."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{hub['origin']}{path}", data=data, method=method,
                                 headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            text = resp.read().decode()
            status = resp.status
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text


def user_token(hub, name):
    status, _ = request(hub, f"/hub/api/users/{name}", hub["token"], "POST")
    assert status in (201, 409), status
    status, body = request(hub, f"/hub/api/users/{name}/tokens", hub["token"], "POST", {"note": "graders test"})
    assert status == 201, (status, body)
    return body["token"]


def test_a_teaching_assistant_uses_the_shared_formgrader_and_a_student_cannot(tmp_path):
    with running_hub(str(tmp_path), MLE_GRADERS=TA, MLE_FORMGRADER_PORT=str(free_port())) as hub:
        ta, student = user_token(hub, TA), user_token(hub, STUDENT)
        api = f"/services/{COURSE_ID}/formgrader/api/assignments"
        deadline, status = time.time() + 300, None
        while time.time() < deadline:   # the service imports nbgrader and the course's configuration first
            status, body = request(hub, api, ta)
            if status == 200:
                break
            time.sleep(2)
        assert status == 200, (status, tail(hub["log"]))
        assert FIRST_ASSIGNMENT in [a["name"] for a in body]
        status, _ = request(hub, api, student)
        assert status == 403, status
        _, groups = request(hub, f"/hub/api/users/{TA}", hub["token"])
        assert f"formgrade-{COURSE_ID}" in groups["groups"]
