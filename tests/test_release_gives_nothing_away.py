"""Nothing a student can read or run in a release earns a point when copied.

Every given cell of a release (locked code, visible tests, docstrings, and every formula
of its text) is planted into the answers of its assignment and graded in-process with
the trusted checks; none may earn a point:

- the given code cells of each notebook, run in order as the student receives them, with
  every answer left unwritten: whatever they define, under its own name;
- every function they define, under the name of every graded function of the same
  number of arguments (a helper that computes an answer under another name is copyable);
- every formula of the text (display and inline LaTeX, each side of each `=`, translated
  to SymPy where the translation succeeds) and every SymPy expression the given code
  builds, as the answer of every derivation;
- every number printed in the text or the given code, as the answer of every prediction.
"""
import ast
import contextlib
import inspect
import io
import os
import pprint
import re
import types
import warnings

import matplotlib
import nbformat
import numpy as np
import pytest
import sympy as sp
from sympy.parsing.sympy_parser import (implicit_multiplication_application, parse_expr,
                                        standard_transformations)

from mle_grading import ASSIGNMENTS, checks

from notebook_namespace import ROOT, assignments_with_source

matplotlib.use("Agg")

GIVEN = "<given>"


def release_notebook(assignment, notebook_id):
    return nbformat.read(os.path.join(ROOT, "release", assignment, f"{notebook_id}.ipynb"), as_version=4)


def source_notebook(assignment, notebook_id):
    return nbformat.read(os.path.join(ROOT, "source", assignment, f"{notebook_id}.ipynb"), as_version=4)


def is_answer(cell):
    return bool(cell.metadata.get("nbgrader", {}).get("solution"))


def given_namespace(assignment, notebook_id):
    """The notebook's given code cells run in order (a cell that raises is passed over), answers unwritten."""
    namespace = {"__name__": "__main__"}
    for cell in release_notebook(assignment, notebook_id).cells:
        if cell.cell_type != "code" or is_answer(cell):
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                exec(compile(code, GIVEN, "exec"), namespace)
            except Exception:
                pass
    import matplotlib.pyplot as plt
    plt.close("all")
    return namespace


def answer_names(assignment):
    """{name: (notebook, kind)} of what the answer cells of the instructor's notebooks define:
    kind 'function' (with its number of required arguments) or 'value'."""
    names = {}
    for notebook_id in ASSIGNMENTS[assignment]:
        for cell in source_notebook(assignment, notebook_id).cells:
            if cell.cell_type != "code" or not is_answer(cell):
                continue
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.FunctionDef):
                    required = len(node.args.args) - len(node.args.defaults)
                    names[node.name] = (notebook_id, ("function", required))
                elif isinstance(node, ast.Assign):
                    for target in node.targets:
                        for t in ast.walk(target):
                            if isinstance(t, ast.Name):
                                names[t.id] = (notebook_id, ("value", None))
    return names


def checks_of(notebook_id, name=None):
    checks.load_all()
    return [c for (nb, gid), c in checks.REGISTRY.items()
            if nb == notebook_id and (name is None or gid.startswith(name + "_"))]


def earned(chks, namespace):
    student = checks.InProcessStudent(namespace)
    return sorted(c.grade_id for c in chks if checks.run_check(c, student, "copier", "copy") is None)


# -- formulas of the text -------------------------------------------------------------------

LATEX = [
    (r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)\s*", ""), (r"\\[,;!:]|\\quad|\\qquad|~", " "),
    (r"\\operatorname\{(\w+)\}", r"\1"), (r"\\mathrm\{(\w+)\}", r"\1"), (r"\\text\{[^}]*\}", " "),
    (r"\\hat\{?y\}?", "y_hat"), (r"\\sigma\^\{?2\}?", "sigma2"), (r"\\sigma\s*\(", "sp_sigmoid("),
    (r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"((\1)/(\2))"), (r"\\sqrt\{([^{}]*)\}", r"sqrt(\1)"),
    (r"e\^\{([^{}]*)\}", r"exp(\1)"), (r"\\log", "log"), (r"\\exp", "exp"), (r"\\pi", "pi"),
    (r"\\cdot|\\times", "*"), (r"z_(\d)", r"z\1"), (r"\^", "**"), (r"\{", "("), (r"\}", ")"),
]
MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.S)


def formulas(text):
    """Each side of each `=` of each formula of a markdown text, as SymPy where it translates."""
    y_hat, y, z = sp.symbols("y_hat y z", real=True)
    local = {"y_hat": y_hat, "y": y, "z": z, "sigma2": sp.Symbol("sigma2", positive=True),
             "sp_sigmoid": lambda t: 1 / (1 + sp.exp(-t)), "log": sp.log, "exp": sp.exp, "sqrt": sp.sqrt,
             "pi": sp.pi, **{f"z{k}": sp.Symbol(f"z{k}", real=True) for k in range(3)}}
    found = []
    for match in MATH.finditer(text):
        latex = match.group(1) or match.group(2)
        for pattern, repl in LATEX:
            for _ in range(3):   # nested \frac
                latex = re.sub(pattern, repl, latex)
        for side in re.split(r"=|\\approx|\\le|\\ge|<|>|,", latex):
            if "\\" in side or not side.strip():
                continue
            try:
                expr = parse_expr(side, local_dict=local, evaluate=True,
                                  transformations=standard_transformations + (implicit_multiplication_application,))
            except Exception:
                continue
            if isinstance(expr, sp.Basic) and expr.free_symbols:
                found.append(expr)
    return found


def numbers(text):
    return {float(m) for m in re.findall(r"(?<![\w.])-?\d+\.\d+(?:e-?\d+)?|(?<![\w.])\d+/\d+", text)
            if "/" not in m} | {float(a) / float(b) for a, b in re.findall(r"(?<![\w.])(\d+)/(\d+)", text)
                                 if float(b) != 0}


# -- the tests ---------------------------------------------------------------------------------

ASSIGNMENT_IDS = [a for a in assignments_with_source() if os.path.isdir(os.path.join(ROOT, "release", a))]


@pytest.fixture(scope="module")
def givens():
    return {(a, nb): given_namespace(a, nb) for a in ASSIGNMENT_IDS for nb in ASSIGNMENTS[a]}


@pytest.mark.parametrize("assignment", ASSIGNMENT_IDS)
def test_the_given_code_of_every_notebook_earns_no_point_in_any_notebook(assignment, givens):
    copied = {}
    for given_in in ASSIGNMENTS[assignment]:
        for notebook_id in ASSIGNMENTS[assignment]:
            won = earned(checks_of(notebook_id), givens[(assignment, given_in)])
            if won:
                copied[f"{given_in} -> {notebook_id}"] = won
    assert not copied, pprint.pformat(copied)


def given_functions(assignment, givens):
    for notebook_id in ASSIGNMENTS[assignment]:
        for key, value in givens[(assignment, notebook_id)].items():
            if isinstance(value, types.FunctionType) and value.__code__.co_filename == GIVEN:
                yield f"{notebook_id}:{key}", value


def required_arguments(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    return sum(1 for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


@pytest.mark.parametrize("assignment", ASSIGNMENT_IDS)
def test_no_given_function_earns_a_point_under_the_name_of_a_graded_one(assignment, givens):
    copied = {}
    functions = list(given_functions(assignment, givens))
    for name, (notebook_id, (kind, required)) in answer_names(assignment).items():
        if kind != "function":
            continue
        for where, fn in functions:
            if required_arguments(fn) != required:
                continue
            won = earned(checks_of(notebook_id, name), {name: fn})
            if won:
                copied[f"{where} as {name}"] = won
    assert not copied, pprint.pformat(copied)


def release_text(assignment):
    texts = []
    for notebook_id in ASSIGNMENTS[assignment]:
        for cell in release_notebook(assignment, notebook_id).cells:
            if cell.cell_type == "markdown" or not is_answer(cell):
                texts.append(cell.source)
    return "\n".join(texts)


@pytest.mark.parametrize("assignment", ASSIGNMENT_IDS)
def test_no_formula_of_the_text_or_expression_of_the_given_code_earns_a_derivation_point(assignment, givens):
    text = release_text(assignment)
    planted = formulas(text) + [v for ns in givens.values() for k, v in ns.items()
                                if isinstance(v, sp.Expr) and v.free_symbols and not isinstance(v, sp.Symbol)]
    copied = {}
    for name, (notebook_id, (kind, _)) in answer_names(assignment).items():
        if kind != "value" or not name.endswith("_expr"):
            continue
        chks = checks_of(notebook_id, name)
        for expr in planted:
            won = earned(chks, {name: expr})
            if won:
                copied[f"{expr} as {name}"] = won
    assert not copied, pprint.pformat(copied)
    assert planted or assignment != "mle_losses", "no formula was translated: the test would prove nothing"


PREDICTIONS = {
    # assignment: {the name a prediction answer assigns: the name of the number its student chooses}
    "mle_losses": {"nll_per_unit_mse": "sigma2_for_prediction", "perfect_prediction_nll": "sigma2_perfect",
                   "untrained_loss": "classes_for_prediction", "gradient_ratio": "z_for_ratio",
                   "rel_error_wrong_factor": "wrong_factor"},
    "mle_beyond": {"predicted_initial_loss": None, "optimal_logit_gap": "epsilon_for_gap"},
}


def chosen_in_the_solution(assignment, notebook_id, name):
    """The value the instructor's solution chooses for `name` (a prediction's own number)."""
    for cell in source_notebook(assignment, notebook_id).cells:
        if cell.cell_type == "code" and is_answer(cell) and name in cell.source:
            namespace = {}
            exec("import math\nimport numpy as np\n" + cell.source, namespace)
            return namespace[name]
    raise AssertionError(f"no answer cell assigns {name}")


@pytest.mark.parametrize("assignment", ASSIGNMENT_IDS)
def test_no_number_of_the_release_earns_a_prediction_point(assignment):
    """Typed constants earn nothing on a prediction graded for correctness: every number of the
    release's text and given code, planted beside a valid choice of the student's own number."""
    constants = sorted(numbers(release_text(assignment)))
    names = answer_names(assignment)
    copied = {}
    for name, chooser in PREDICTIONS.get(assignment, {}).items():
        assert name in names, f"{name} is no answer of {assignment}"
        notebook_id = names[name][0]
        base = {chooser: chosen_in_the_solution(assignment, notebook_id, chooser)} if chooser else {}
        for chk in checks_of(notebook_id):
            for value in constants:
                if checks.run_check(chk, checks.InProcessStudent({**base, name: value}), "copier", "copy") is None:
                    copied.setdefault(f"{name} ({chk.grade_id})", []).append(value)
    assert not copied, pprint.pformat(copied)
