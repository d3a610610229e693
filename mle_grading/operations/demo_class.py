"""The demo class of an assignment: simulated submissions built from its release.

- `reference`: every answer cell holds the instructor's solution;
- `untouched`: the release exactly as students receive it;
- one student per known mistake of that assignment (`demo_submissions`, outside
  the grading library): the solution everywhere except the one answer cell the
  mistake replaces.

`COMMITTED_STUDENTS` are the few whose graded notebooks the repository keeps in
`examples/autograded/` as an example (`./course demo` grades the whole class in demo/).
"""
import os
import re

import nbformat

from mle_grading import ASSIGNMENTS
from demo_submissions import all_mistakes

SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|$)", re.M)
TIMESTAMP = "2026-09-01 12:00:00.000000 UTC"


# A representative few: full marks, nothing, and one mistake per notebook (reference
# and untouched submit every assignment).
COMMITTED_STUDENTS = ("reference", "untouched", "gauss-missing-half", "bce-nan-at-certainty",
                      "log-softmax-no-max-shift", "numgrad-leaves-x-shifted",
                      "logvar-grad-no-precision", "kl-clipped-p", "srgrad-no-max-shift")


def roster(assignment):
    return ["reference", "untouched"] + [m.student for m in all_mistakes(assignment)]


def solutions(source_dir, notebook_id):
    """The source notebook's answer cells as a student would have typed them."""
    nb = nbformat.read(os.path.join(source_dir, f"{notebook_id}.ipynb"), as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: SOLUTION_MARKER.sub("", c.source)
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}


def fill(release_nb, answers):
    nb = nbformat.from_dict(release_nb)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and gid in answers:
            cell.source = answers[gid]
    return nb


def notebooks_present(course_root, assignment):
    release_dir = os.path.join(course_root, "release", assignment)
    return [nb for nb in ASSIGNMENTS[assignment] if os.path.exists(os.path.join(release_dir, f"{nb}.ipynb"))]


def write_submission(course_root, student, notebooks, assignment):
    """notebooks: {notebook_id: NotebookNode}."""
    folder = os.path.join(course_root, "submitted", student, assignment)
    os.makedirs(folder, exist_ok=True)
    for notebook_id, nb in notebooks.items():
        nbformat.write(nb, os.path.join(folder, f"{notebook_id}.ipynb"))
    with open(os.path.join(folder, "timestamp.txt"), "w") as fh:
        fh.write(TIMESTAMP)
    return folder


def build_demo_class(course_root, assignment):
    """Write every demo student's submission of `assignment` into submitted/; return the roster."""
    source_dir = os.path.join(course_root, "source", assignment)
    release_dir = os.path.join(course_root, "release", assignment)
    present = notebooks_present(course_root, assignment)
    release = {nb: nbformat.read(os.path.join(release_dir, f"{nb}.ipynb"), as_version=4) for nb in present}
    answers = {nb: solutions(source_dir, nb) for nb in present}
    write_submission(course_root, "reference", {nb: fill(release[nb], answers[nb]) for nb in present}, assignment)
    write_submission(course_root, "untouched", {nb: nbformat.from_dict(release[nb]) for nb in present}, assignment)
    students = ["reference", "untouched"]
    for mistake in all_mistakes(assignment):
        if mistake.notebook not in present:
            continue
        if mistake.cell not in answers[mistake.notebook]:
            raise ValueError(f"mistake {mistake.student}: no answer cell {mistake.cell!r} in {mistake.notebook}")
        notebooks = {}
        for nb in present:
            chosen = dict(answers[nb])
            if nb == mistake.notebook:
                chosen[mistake.cell] = mistake.source
            notebooks[nb] = fill(release[nb], chosen)
        write_submission(course_root, mistake.student, notebooks, assignment)
        students.append(mistake.student)
    return students
