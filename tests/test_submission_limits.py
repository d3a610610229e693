"""Bounded work per submission, checked before any copy or parse (issue 26, item 4).

Three hostile submissions, each beside honest classmates:
- a 2 GiB sparse file (`truncate`: 0 bytes on disk, 2 GiB to any copy);
- 3,000 small files;
- a notebook padded with 60,000 markdown cells.

The limits are traits of SandboxLimits (submission_bytes, submission_file_count,
notebook_bytes, notebook_cells), set in course_config.py. They are checked by lstat
before the grading service or nbgrader's collect copies anything, and before nbgrader
reads a notebook (the course's pre_convert_hook). What is over is left out (nothing big
reaches submitted/ or autograded/), the student's feedback and the instructor's
attention list say so, the rest of the submission is graded, and so is the class.
Before this change the sparse file became 2 GiB in submitted/ and 2 GiB more in
autograded/, and the padded notebook was read, validated and graded whole.
"""
import glob
import json
import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from course_copy import FIRST_ASSIGNMENT as ASSIGNMENT, nbgrader_env, scores_by_cell
from mle_grading.nbgrader_integration.submission_files import LEFT_OUT, LIMITS_NOTE, survey
from mle_grading.sandbox.runner import configured_limits

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIB = 1 << 30
LIMITS = configured_limits(ROOT)


def sparse_file(path, size=2 * GIB):
    subprocess.run(["truncate", "-s", str(size), str(path)], check=True)
    assert os.stat(path).st_blocks == 0   # nothing on disk: only its apparent size is large


def many_files(folder, n=3000):
    os.makedirs(folder, exist_ok=True)
    for i in range(n):
        with open(os.path.join(folder, f"f{i:04d}.txt"), "w") as fh:
            fh.write("x")


def padded(path, cells=60_000):
    nb = nbformat.read(path, as_version=4)
    nb.cells.extend(nbformat.v4.new_markdown_cell(f"padding {i}") for i in range(cells))
    nbformat.write(nb, path)


def tree(folder):
    """(number of files, largest apparent size, total apparent size) under a folder."""
    sizes = [os.lstat(os.path.join(d, n)).st_size for d, _, names in os.walk(folder) for n in names]
    return len(sizes), max(sizes, default=0), sum(sizes)


def notebooks_folder(tmp_path, name="sub"):
    folder = tmp_path / name
    folder.mkdir()
    for nb in ("01_a", "02_b"):
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), folder / f"{nb}.ipynb")
    return folder


# -- the limits themselves --------------------------------------------------------------------

def test_the_limits_are_sandbox_limits_set_in_course_config():
    assert LIMITS.submission_bytes == 64 * 1024 * 1024 and LIMITS.submission_file_count == 500
    assert LIMITS.notebook_bytes == 16 * 1024 * 1024 and LIMITS.notebook_cells == 1000


def test_the_survey_counts_a_sparse_file_at_its_apparent_size_and_stops_past_the_file_count(tmp_path):
    folder = notebooks_folder(tmp_path)
    sparse_file(folder / "data.bin")
    many_files(folder / "junk")
    keep, left_out = survey(str(folder), LIMITS)
    kept = {rel for rel, _, _ in keep}
    assert {"01_a.ipynb", "02_b.ipynb"} <= kept and "data.bin" not in kept
    assert len(keep) == LIMITS.submission_file_count
    assert "SandboxLimits.submission_bytes" in left_out["data.bin"]
    assert any("SandboxLimits.submission_file_count" in why for why in left_out.values())
    assert len(left_out) < 3000   # the walk stopped: not every file was even listed


def test_what_was_moved_aside_is_still_noted_when_the_submission_is_graded_again(tmp_path):
    from mle_grading.nbgrader_integration.submission_files import SET_ASIDE, bound_submission
    folder = notebooks_folder(tmp_path)
    sparse_file(folder / "data.bin")
    padded(str(folder / "02_b.ipynb"), cells=LIMITS.notebook_cells + 1)
    for _ in range(2):
        notes, notebooks = bound_submission(str(folder), LIMITS, log=lambda m: None)
        assert any("data.bin" in n for n in notes) and any("notebook_cells" in n for n in notes), notes
    assert not (folder / "data.bin").exists() and (folder / SET_ASIDE).is_dir()
    assert (folder / "01_a.ipynb").exists()


# -- before any copy: the grading service and collect ------------------------------------------

def test_the_grading_service_copies_nothing_big_into_submitted(tmp_path):
    from mle_grading.operations.grading_service import GradingService, Policy
    course, exchange = tmp_path / "course", tmp_path / "exchange"
    inbound = exchange / "c" / "inbound"
    inbound.mkdir(parents=True)
    course.mkdir()
    folder = notebooks_folder(inbound, f"eve+{ASSIGNMENT}+2026-12-01 10:00:00.000000 UTC")
    sparse_file(folder / "data.bin")
    many_files(folder / "junk")
    (folder / "timestamp.txt").write_text("2020-01-01 00:00:00.000000 UTC")
    service = GradingService(str(course), str(exchange), "c", [ASSIGNMENT], Policy(), state=str(tmp_path / "j.sqlite"),
                             log=lambda text: None, check_owner=False, limits=LIMITS)
    sub = {"folder": folder.name, "student": "eve", "assignment": ASSIGNMENT,
           "stamp": "2026-12-01 10:00:00.000000 UTC", "claimed": "2020-01-01 00:00:00.000000 UTC"}
    notes = service.copy_submission(sub)
    copied = course / "submitted" / "eve" / ASSIGNMENT
    files, largest, total = tree(copied)
    assert largest < LIMITS.notebook_bytes and total <= LIMITS.submission_bytes
    assert files <= LIMITS.submission_file_count + 3   # + timestamp.txt, timestamp_claimed.txt, the note
    assert (copied / "01_a.ipynb").exists() and (copied / "02_b.ipynb").exists()
    assert any("data.bin" in n for n in notes) and any("submission_file_count" in n for n in notes)
    assert json.loads((copied / LEFT_OUT).read_text()) == notes


def test_collect_copies_nothing_big_into_submitted(tmp_path):
    from traitlets.config import Config
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from mle_grading.nbgrader_integration.exchange import CourseExchangeCollect
    folder = notebooks_folder(tmp_path, "inbound-folder")
    sparse_file(folder / "data.bin")
    many_files(folder / "junk")
    config = Config()
    config.CourseDirectory.max_dir_size = 10 ** 9     # nbgrader's own limits out of the way: ours must hold
    config.CourseDirectory.max_file_size = 10 ** 9
    collect = CourseExchangeCollect(coursedir=CourseDirectory(config=config), authenticator=Authenticator(),
                                    config=config)
    collect.src_records = []
    dest = tmp_path / "submitted"
    collect.do_copy(str(folder), str(dest))
    files, largest, total = tree(dest)
    assert largest < LIMITS.notebook_bytes and total <= LIMITS.submission_bytes
    assert files <= LIMITS.submission_file_count + 1
    assert (dest / "01_a.ipynb").exists() and (dest / LEFT_OUT).exists()


# -- before nbgrader reads a notebook: a class graded for real ----------------------------------

@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """The reference student and three hostile copies of it, graded by `python -m mle_grading.operations.parallel`."""
    from test_parallel_grading import build_class_course
    course = build_class_course(tmp_path_factory.mktemp("limits"), ["reference"])
    submitted = os.path.join(course, "submitted")
    reference = os.path.join(submitted, "reference", ASSIGNMENT)
    kept = sorted(os.path.basename(p) for p in glob.glob(os.path.join(reference, "*.ipynb")))[:2]
    for name in os.listdir(reference):   # two notebooks each, to keep the test short
        if name.endswith(".ipynb") and name not in kept:
            os.remove(os.path.join(reference, name))
    for student in ("sparse-file", "many-files", "padded-notebook"):
        shutil.copytree(reference, os.path.join(submitted, student, ASSIGNMENT))
    sparse_file(os.path.join(submitted, "sparse-file", ASSIGNMENT, "data.bin"))
    many_files(os.path.join(submitted, "many-files", ASSIGNMENT, "junk"))
    padded(os.path.join(submitted, "padded-notebook", ASSIGNMENT, kept[1]))
    proc = subprocess.run([sys.executable, "-m", "mle_grading.operations.parallel", ASSIGNMENT, "--force",
                           "--workers", "2"], cwd=course, env=nbgrader_env(), capture_output=True, text=True,
                          timeout=3000)
    return dict(course=course, proc=proc, kept=kept)


def test_every_student_is_graded_and_the_honest_one_in_full(graded_class):
    proc = graded_class["proc"]
    assert "graded 4/4" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]
    scores = scores_by_cell(graded_class["course"], "reference")
    graded = {(nb, cell): s for (nb, cell), s in scores.items() if f"{nb}.ipynb" in graded_class["kept"]}
    assert graded and all(score == top for score, top in graded.values())


def test_nothing_big_reaches_autograded(graded_class):
    autograded = os.path.join(graded_class["course"], "autograded")
    for student in ("sparse-file", "many-files", "padded-notebook"):
        files, largest, total = tree(os.path.join(autograded, student, ASSIGNMENT))
        assert largest < LIMITS.notebook_bytes and total <= LIMITS.submission_bytes, student
        assert files <= LIMITS.submission_file_count + 5, (student, files)


def test_what_is_within_the_limits_is_graded_and_the_rest_scores_zero(graded_class):
    course, (first, second) = graded_class["course"], graded_class["kept"]
    reference = scores_by_cell(course, "reference")
    for student in ("sparse-file", "many-files"):
        assert scores_by_cell(course, student) == reference, student
    padded_scores = scores_by_cell(course, "padded-notebook")
    for (nb, cell), (score, top) in padded_scores.items():
        if f"{nb}.ipynb" == first:
            assert score == reference[(nb, cell)][0]
        elif f"{nb}.ipynb" == second:
            assert score == 0


def test_the_feedback_and_the_attention_list_say_what_was_left_out(graded_class):
    course, proc = graded_class["course"], graded_class["proc"]
    for student, words in (("sparse-file", "data.bin"), ("many-files", "submission_file_count"),
                           ("padded-notebook", "60")):
        pages = []
        for path in glob.glob(os.path.join(course, "autograded", student, ASSIGNMENT, "*.ipynb")):
            pages.append("\n".join(c.source for c in nbformat.read(path, as_version=4).cells[:2]))
        assert any(words in page and "not graded" in page for page in pages), (student, pages)
        attention = [line for line in proc.stdout.splitlines() if f"/{student}" in line and LIMITS_NOTE in line]
        assert attention, (student, proc.stdout[-3000:])
    assert not [line for line in proc.stdout.splitlines() if "/reference" in line and LIMITS_NOTE in line]
