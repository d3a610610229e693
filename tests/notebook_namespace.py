"""Run a source notebook's own cells in-process, optionally with answer cells replaced."""
import contextlib
import io
import os
import warnings

import matplotlib
import nbformat

from mle_grading import ASSIGNMENTS

matplotlib.use("Agg")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def json_of_script(script, *args, timeout=600):
    """Run `python -c script args` from the repository root in a fresh interpreter; its last line, as JSON."""
    import json
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assignments_with_source():
    """The assignments whose source/ folder exists (an assignment being written may not have one yet)."""
    return [a for a in ASSIGNMENTS if os.path.isdir(os.path.join(ROOT, "source", a))]


def graded_notebooks():
    """(assignment, notebook) for every notebook of those assignments: a missing one is an error."""
    found = []
    for assignment in assignments_with_source():
        for notebook_id in ASSIGNMENTS[assignment]:
            path = os.path.join(ROOT, "source", assignment, f"{notebook_id}.ipynb")
            if not os.path.exists(path):
                raise FileNotFoundError(f"{path} is missing: build it with python -m mle_grading.operations.notebook_build")
            found.append((assignment, notebook_id))
    return found


def assignment_of(notebook_id):
    (assignment,) = [a for a, notebooks in ASSIGNMENTS.items() if notebook_id in notebooks]
    return assignment


def source_notebook(notebook_id):
    path = os.path.join(ROOT, "source", assignment_of(notebook_id), f"{notebook_id}.ipynb")
    return nbformat.read(path, as_version=4)


def run_notebook_code(notebook_id, replace=None, keep_going=False, figures=None):
    """Execute every non-test code cell; `replace` maps answer grade_ids to new sources.

    With `keep_going`, a cell that raises is passed over, as the grader's sandbox does.
    The figures the cells drew are appended to the list `figures`, if one is given.
    """
    replace = replace or {}
    namespace = {"__name__": "__main__"}
    for cell in source_notebook(notebook_id).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade"):
            continue
        source = replace.get(meta.get("grade_id"), cell.source)
        code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            try:
                exec(compile(code, f"<{notebook_id}>", "exec"), namespace)
            except Exception:
                if not keep_going:
                    raise
    import matplotlib.pyplot as plt
    if figures is not None:
        figures.extend(plt.figure(number) for number in plt.get_fignums())
    plt.close("all")
    return namespace


def graded_cell_ids(notebook_id):
    return [c.metadata["nbgrader"]["grade_id"] for c in source_notebook(notebook_id).cells
            if c.metadata.get("nbgrader", {}).get("grade")]


def failing_cells(notebook_id, namespace, student_id="instructor"):
    """{grade_id: message} of the trusted checks that fail on this namespace."""
    from mle_grading import checks
    student = checks.InProcessStudent(namespace)
    failed = {}
    for gid in graded_cell_ids(notebook_id):
        chk = checks.find(notebook_id, gid)
        assert chk is not None, f"no trusted check for test cell {gid}"
        message = checks.run_check(chk, student, student_id=student_id, assignment=assignment_of(notebook_id))
        if message is not None:
            failed[gid] = message
    return failed
