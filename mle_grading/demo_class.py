"""The demo class: simulated submissions built from the release.

- `reference`: every answer cell holds the instructor's solution;
- `untouched`: the release exactly as students receive it;
- one student per known mistake (`mle_grading.mistakes`): the solution everywhere
  except the one answer cell the mistake replaces.
"""
import os
import re

import nbformat

from . import ASSIGNMENT_ID, NOTEBOOK_IDS
from .mistakes import all_mistakes

SOLUTION_MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*(\n|$)", re.M)
TIMESTAMP = "2026-09-01 12:00:00.000000 UTC"


def roster():
    return ["reference", "untouched"] + [m.student for m in all_mistakes()]


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


def notebooks_present(course_root):
    release_dir = os.path.join(course_root, "release", ASSIGNMENT_ID)
    return [nb for nb in NOTEBOOK_IDS if os.path.exists(os.path.join(release_dir, f"{nb}.ipynb"))]


def write_submission(course_root, student, notebooks):
    """notebooks: {notebook_id: NotebookNode}."""
    folder = os.path.join(course_root, "submitted", student, ASSIGNMENT_ID)
    os.makedirs(folder, exist_ok=True)
    for notebook_id, nb in notebooks.items():
        nbformat.write(nb, os.path.join(folder, f"{notebook_id}.ipynb"))
    with open(os.path.join(folder, "timestamp.txt"), "w") as fh:
        fh.write(TIMESTAMP)
    return folder


def build_demo_class(course_root):
    """Write every demo student's submission into submitted/; return the roster."""
    source_dir = os.path.join(course_root, "source", ASSIGNMENT_ID)
    release_dir = os.path.join(course_root, "release", ASSIGNMENT_ID)
    present = notebooks_present(course_root)
    release = {nb: nbformat.read(os.path.join(release_dir, f"{nb}.ipynb"), as_version=4) for nb in present}
    answers = {nb: solutions(source_dir, nb) for nb in present}
    write_submission(course_root, "reference", {nb: fill(release[nb], answers[nb]) for nb in present})
    write_submission(course_root, "untouched", {nb: nbformat.from_dict(release[nb]) for nb in present})
    students = ["reference", "untouched"]
    for mistake in all_mistakes():
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
        write_submission(course_root, mistake.student, notebooks)
        students.append(mistake.student)
    return students
