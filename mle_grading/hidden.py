"""What the hidden-test line of every test cell calls when a notebook runs in-process.

`nbgrader validate source/...` runs the instructor's notebook in an ordinary
kernel, so there the trusted check runs against the notebook's own namespace.
Under `nbgrader autograde` this line is never executed: `TrustedGrading` runs the
same check against the sandboxed submission instead.
"""
from mle_grading import checks


def run_trusted_check(grade_id, namespace):
    chk = checks.find_by_grade_id(grade_id)
    message = checks.run_check(chk, checks.InProcessStudent(namespace))
    if message is not None:
        raise AssertionError(message)
    print(f"Passed: {chk.behaviour}")
