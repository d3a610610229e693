"""nbgrader settings of a student's server.

Under DockerSpawner or KubeSpawner every container runs as the same unix user
(jovyan), so nbgrader's default student id (the unix user name) would be the same
for the whole class: take the JupyterHub user name instead. Not for the instructor
(MLE_ROLE=instructor), whose `nbgrader collect` must see every student.
"""
import os

c = get_config()  # noqa: F821

if os.environ.get("JUPYTERHUB_USER") and os.environ.get("MLE_ROLE", "student") != "instructor":
    c.CourseDirectory.student_id = os.environ["JUPYTERHUB_USER"]
