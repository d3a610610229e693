"""nbgrader settings of the instructor's server: the course pack's own configuration.

The instructor's single-user server is the formgrader. It loads the course's
course_config.py (sandboxed trusted grading, feedback without hidden tests) from
MLE_COURSE_ROOT, the clone of this repository the instructor works in.
"""
import os

c = get_config()  # noqa: F821

course_root = os.environ.get("MLE_COURSE_ROOT")
if course_root:
    load_subconfig(os.path.join(course_root, "course_config.py"))  # noqa: F821
    # course_config.py takes the gradebook from the working directory; a server's
    # working directory is the user's home, so name the course's gradebook explicitly.
    c.CourseDirectory.db_url = (os.environ.get("MLE_GRADING_DB_URL")
                                or f"sqlite:///{os.path.join(course_root, 'gradebook.db')}")

# Who owns a student's submissions (jupyterhub_config.py: jupyter-{username} on TLJH).
if os.environ.get("MLE_UNIX_ACCOUNT"):
    c.CourseExchangeCollect.unix_account = os.environ["MLE_UNIX_ACCOUNT"]
