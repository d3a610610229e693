"""Build nbgrader source notebooks from their text versions.

`notebooks/<assignment>/<id>.py` (jupytext percent format) is the one source of truth of each
notebook: it diffs and reviews like code. Cell headers carry three keys:

    # %% kind="answer" id="mse_answer"             a student's answer cell
    # %% kind="test" id="mse_seed_value" points=2  a graded test cell (visible tests)
    # %% kind="scratch"                           a free cell for the student

Every other cell is locked instructor material. Each test cell gets a hidden-test
line appended that runs the trusted check registered for its id, so the visible
asserts are all an author writes. `python -m mle_grading.operations.notebook_build` writes
`source/<assignment>/*.ipynb`; `--check` fails if any is out of date.
"""
import argparse
import difflib
import os
import sys

import jupytext
import nbformat

from mle_grading import ASSIGNMENTS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the course directory

HIDDEN_LINE = ("### BEGIN HIDDEN TESTS\n"
               "from mle_grading.hidden import run_trusted_check; run_trusted_check({gid!r}, globals())\n"
               "### END HIDDEN TESTS")


class NotebookTextError(ValueError):
    pass


def text_path(assignment, notebook_id, root=ROOT):
    return os.path.join(root, "notebooks", assignment, f"{notebook_id}.py")


def build(notebook_id, root, assignment):
    path = text_path(assignment, notebook_id, root)
    text_nb = jupytext.read(path, fmt="py:percent")
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    seen = set()
    for n, cell in enumerate(text_nb.cells):
        meta = dict(cell.metadata)
        kind = meta.pop("kind", None)
        gid = meta.pop("id", None)
        points = meta.pop("points", None)
        meta.pop("lines_to_next_cell", None)
        meta.pop("title", None)
        if meta:
            raise NotebookTextError(f"{path}: cell {n + 1} has unknown header keys {sorted(meta)}")
        if cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source)
        else:
            new = nbformat.v4.new_code_cell(cell.source)
        new.id = f"c{n:03d}"
        if kind == "scratch":
            pass
        elif kind == "answer":
            _need(gid, path, n, "answer")
            new.metadata["nbgrader"] = _nbgrader_meta(gid, solution=True)
        elif kind == "test":
            _need(gid, path, n, "test")
            if not isinstance(points, (int, float)) or points <= 0:
                raise NotebookTextError(f"{path}: test cell {gid!r} needs points > 0")
            new.source = cell.source.rstrip() + "\n" + HIDDEN_LINE.format(gid=gid)
            new.metadata["nbgrader"] = _nbgrader_meta(gid, grade=True, locked=True, points=points)
        elif kind is None:
            gid = f"{cell.cell_type}_{n:03d}"
            new.metadata["nbgrader"] = _nbgrader_meta(gid, locked=True)
        else:
            raise NotebookTextError(f"{path}: cell {n + 1} has unknown kind {kind!r}")
        if gid in seen:
            raise NotebookTextError(f"{path}: id {gid!r} is used twice")
        seen.add(gid)
        if new.metadata.get("nbgrader", {}).get("locked"):
            new.metadata["deletable"] = False
            new.metadata["editable"] = False
        nb.cells.append(new)
    return nb


def _need(gid, path, n, kind):
    if not gid:
        raise NotebookTextError(f"{path}: {kind} cell {n + 1} needs an id")


def _nbgrader_meta(gid, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": gid, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    return meta


def render(nb):
    return nbformat.writes(nb) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a source notebook is out of date")
    parser.add_argument("--root", default=ROOT, help="the course directory (default: this repository)")
    args = parser.parse_args(argv)
    stale = []
    for assignment, notebook_id in [(a, nb) for a, nbs in ASSIGNMENTS.items() for nb in nbs]:
        if not os.path.exists(text_path(assignment, notebook_id, args.root)):
            continue
        source_dir = os.path.join(args.root, "source", assignment)
        os.makedirs(source_dir, exist_ok=True)
        text = render(build(notebook_id, args.root, assignment))
        target = os.path.join(source_dir, f"{notebook_id}.ipynb")
        old = open(target).read() if os.path.exists(target) else ""
        if old != text:
            if args.check:
                stale.append(target)
                sys.stdout.writelines(list(difflib.unified_diff(old.splitlines(True), text.splitlines(True),
                                                                target, "rebuilt"))[:40])
            else:
                with open(target, "w") as fh:
                    fh.write(text)
                print(f"wrote {os.path.relpath(target, args.root)}")
    if stale:
        print(f"out of date: {stale}; run python -m mle_grading.operations.notebook_build")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
