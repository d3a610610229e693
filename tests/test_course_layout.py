"""The repository is laid out as an nbgrader course and its pins agree."""
import os
import re
import subprocess
import sys

import nbformat

import pytest

from mle_grading import ASSIGNMENTS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pins_from_requirements(*files):
    pins = {}
    for name in files or ("requirements.txt",):
        for line in open(os.path.join(ROOT, name)):
            line = line.split("#")[0].strip()
            if line:
                package, version = line.split("==")
                pins[package.lower()] = version
    return pins


def pins_from_environment_yml():
    pins = {}
    for line in open(os.path.join(ROOT, "environment.yml")):
        m = re.match(r"^\s*-\s*([A-Za-z0-9_.\-]+)\s*==?\s*([0-9][^\s#]*)", line)
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


# What the students' image needs: the notebooks' imports, nbgrader's extension and the single-user
# server. What only the grader needs stays out of it.
STUDENT_PACKAGES = {"torch", "nbgrader", "jupyterlab", "notebook", "jupyterhub", "numpy", "matplotlib", "sympy"}
GRADER_ONLY = {"pytest", "hypothesis", "jupytext", "psycopg2-binary", "dask", "distributed", "bokeh", "tqdm",
               "bleach", "playwright", "import-linter"}
# mpmath is SymPy's own arbitrary-precision library (a requirement of sympy): it comes with it.
IMPORT_TO_PACKAGE = {"numpy": "numpy", "matplotlib": "matplotlib", "sympy": "sympy", "mpmath": "sympy", "torch": "torch"}


def test_environment_yml_is_the_students_image_with_the_same_pins_as_requirements():
    req, env = pins_from_requirements("requirements.txt", "requirements-test.txt"), pins_from_environment_yml()
    assert env.pop("python") == "3.11"
    assert req["torch"] == "2.13.0" and req["nbgrader"] == "0.9.6"
    assert set(env) == STUDENT_PACKAGES, set(env) ^ STUDENT_PACKAGES
    assert not set(env) & GRADER_ONLY
    for name, version in env.items():
        assert version.split("+")[0] == req[name], (name, version, req[name])


def test_environment_yml_installs_pytorchs_cpu_build():
    text = open(os.path.join(ROOT, "environment.yml")).read()
    assert pins_from_environment_yml()["torch"].endswith("+cpu")
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in text


def test_every_library_the_notebooks_import_is_in_the_students_image():
    imported = set()
    for assignment in ASSIGNMENTS:
        folder = os.path.join(ROOT, "notebooks", assignment)
        for name in os.listdir(folder):
            imported |= set(re.findall(r"^\s*(?:import|from)\s+([A-Za-z_]+)", open(os.path.join(folder, name)).read(),
                                       re.M))
    third_party = imported - set(sys.stdlib_module_names)
    assert third_party <= set(IMPORT_TO_PACKAGE), third_party - set(IMPORT_TO_PACKAGE)
    assert {IMPORT_TO_PACKAGE[m] for m in third_party} <= set(pins_from_environment_yml())


def test_source_notebooks_are_built_from_their_text_versions():
    proc = subprocess.run([sys.executable, "-m", "mle_grading.operations.notebook_build", "--check"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_each_assignment_has_the_contract_notebooks_and_totals_100_points(assignment):
    total = 0
    for nb_id in ASSIGNMENTS[assignment]:
        nb = nbformat.read(os.path.join(ROOT, "source", assignment, f"{nb_id}.ipynb"), as_version=4)
        total += sum(c.metadata["nbgrader"]["points"] for c in nb.cells
                     if c.metadata.get("nbgrader", {}).get("grade"))
    assert total == 100


def test_every_test_cell_has_a_trusted_check_and_every_check_a_cell():
    from mle_grading import checks
    cells = set()
    for assignment, nb_id in [(a, nb) for a, nbs in ASSIGNMENTS.items() for nb in nbs]:
        path = os.path.join(ROOT, "source", assignment, f"{nb_id}.ipynb")
        nb = nbformat.read(path, as_version=4)
        for c in nb.cells:
            if c.metadata.get("nbgrader", {}).get("grade"):
                cells.add((nb_id, c.metadata["nbgrader"]["grade_id"]))
    assert cells == set(checks.load_all())


def test_nbgrader_refuses_to_grade_when_course_config_does_not_load(tmp_path):
    # traitlets only logs a config file that raises, and nbgrader would then grade
    # with plain Execute: student code outside the sandbox.
    import shutil
    shutil.copy(os.path.join(ROOT, "nbgrader_config.py"), tmp_path)
    (tmp_path / "course_config.py").write_text("import a_module_that_does_not_exist\n")
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "nbgrader"), "autograde", "mle_losses"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "course_config.py did not load" in proc.stderr
    assert "Autograding" not in proc.stdout + proc.stderr


def test_source_folder_holds_only_notebooks_so_nothing_secret_is_released():
    for assignment in ASSIGNMENTS:
        files = os.listdir(os.path.join(ROOT, "source", assignment))
        assert all(f.endswith(".ipynb") for f in files), (assignment, files)
