"""The grading library's layers, as import-linter contracts (.importlinter), hold, and a broken layer is caught."""
import os
import shutil
import subprocess
import sys

from course_copy import ROOT

LINT_IMPORTS = os.path.join(os.path.dirname(sys.executable), "lint-imports")


def lint_imports(root):
    return subprocess.run([LINT_IMPORTS, "--config", os.path.join(root, ".importlinter"), "--no-cache"],
                          cwd=root, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": root, "COLUMNS": "1000", "TERM": "dumb"})


def library_copy(tmp_path):
    for name in ("mle_grading", "benchmarks", "demo_submissions"):
        shutil.copytree(os.path.join(ROOT, name), tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(ROOT, ".importlinter"), tmp_path / ".importlinter")
    return tmp_path


def test_every_layer_contract_of_the_grading_library_is_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout, result.stdout


def plant(path, line):
    text = open(path).read()
    open(path, "w").write(line + "\n" + text)


def test_a_check_that_imports_the_sandbox_breaks_the_contracts(tmp_path):
    root = library_copy(tmp_path)
    plant(root / "mle_grading" / "checks" / "parts.py", "from mle_grading.sandbox import runner  # planted")
    result = lint_imports(str(root))
    assert result.returncode != 0
    assert "The trusted checks and the sandbox's runner never import each other BROKEN" in result.stdout, result.stdout


def test_code_inside_the_sandbox_that_imports_the_checks_breaks_the_contracts(tmp_path):
    root = library_copy(tmp_path)
    plant(root / "mle_grading" / "inside_sandbox" / "wire.py", "import mle_grading.checks.reference  # planted")
    result = lint_imports(str(root))
    assert result.returncode != 0
    assert "imports nothing of the grading library (it is alone there) BROKEN" in result.stdout, result.stdout


def test_the_grading_library_ships_no_demo_submissions():
    for folder in ("checks", "sandbox", "inside_sandbox", "boundary"):
        for here, _, files in os.walk(os.path.join(ROOT, "mle_grading", folder)):
            for name in files:
                if name.endswith(".py"):
                    assert "demo_submissions" not in open(os.path.join(here, name)).read(), (here, name)


def test_the_warm_parent_importing_the_sessions_runner_breaks_the_contracts(tmp_path):
    """runner.py and warm.py once imported each other; what both need is in bwrap.py."""
    root = library_copy(tmp_path)
    plant(root / "mle_grading" / "sandbox" / "warm.py", "from mle_grading.sandbox import runner  # planted")
    result = lint_imports(str(root))
    assert result.returncode != 0
    assert "import each other in one direction: the session, the warm parent, how a sandbox is built BROKEN" \
        in result.stdout, result.stdout
