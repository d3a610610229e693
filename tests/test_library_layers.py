"""The grading library's layers: protocol at the bottom; checks and sandbox beside each other, never importing each other."""
import ast
import os

import pytest

from course_copy import ROOT

LIBRARY = os.path.join(ROOT, "mle_grading")


def imported_modules(path, package):
    """Absolute names of the mle_grading modules a file imports (relative imports resolved)."""
    tree = ast.parse(open(path).read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return {n for n in names if n.startswith("mle_grading")}


def modules_of(subpackage):
    folder = os.path.join(LIBRARY, subpackage)
    found = [os.path.join(root, f) for root, _, files in os.walk(folder) for f in files if f.endswith(".py")]
    assert found, folder
    return found


@pytest.mark.parametrize("importer, forbidden", [("checks", "mle_grading.sandbox"), ("sandbox", "mle_grading.checks")])
def test_checks_and_sandbox_never_import_each_other(importer, forbidden):
    for path in modules_of(importer):
        package = "mle_grading." + os.path.relpath(os.path.dirname(path), LIBRARY).replace(os.sep, ".")
        bad = {n for n in imported_modules(path, package) if n == forbidden or n.startswith(forbidden + ".")}
        assert not bad, (path, bad)


def test_the_protocol_imports_nothing_of_the_library_but_the_wire_format_and_the_trusted_inner_functions():
    assert imported_modules(os.path.join(LIBRARY, "protocol.py"), "mle_grading") <= {
        "mle_grading", "mle_grading.wire", "mle_grading.trusted_inner", "mle_grading.trusted_inner.TRUSTED_INNER"}


def test_the_trusted_inner_functions_import_nothing_but_numpy():
    # Their source is sent into the sandbox, where only NumPy and the standard library exist.
    assert imported_modules(os.path.join(LIBRARY, "trusted_inner.py"), "mle_grading") <= {"numpy"}


def test_the_grading_library_ships_no_demo_submissions():
    assert not os.path.exists(os.path.join(LIBRARY, "mistakes"))
    for path in modules_of("checks") + modules_of("sandbox"):
        assert "demo_submissions" not in open(path).read(), path
