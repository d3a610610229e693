"""One mistake costs once: a mistake in a function others build on costs only its own cells.

The outer function's checks run it with the inner names bound to trusted plain-NumPy
versions for the duration of one call (`wire.call_with_trusted_inner`).
`test_checks_judge_mistakes` proves each mistake loses exactly its declared cells;
this file proves the declarations of inner mistakes name only the inner function's
cells, that the reference solution really builds on the inner functions (else
the claim would be empty), and that the binding is undone after every call.
"""
import numpy as np
import pytest

from mle_grading import checks
from mle_grading.checks import reference as ref
from mle_grading.checks import INNER_FUNCTIONS
from demo_submissions import all_mistakes
from mle_grading.inside_sandbox.trusted_inner import TRUSTED_INNER
from mle_grading.inside_sandbox.wire import call_with_trusted_inner

from notebook_namespace import graded_cell_ids, run_notebook_code, source_notebook

INNER = {name for names in INNER_FUNCTIONS.values() for name in names}
INNER_MISTAKES = [m for m in all_mistakes() if m.cell.removesuffix("_answer") in INNER]

# outer function -> (notebook, the inner function its reference solution calls)
BUILDS_ON = {"categorical_nll": ("03_categorical_ce", "log_softmax"),
             "sigma2_mle": ("01_gaussian_mse", "mse"),
             "logistic_regression_grad": ("04_gradients", "bce_grad")}


def answer_source(notebook_id, answer_id):
    return next(c.source for c in source_notebook(notebook_id).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == answer_id)


@pytest.mark.parametrize("outer", sorted(BUILDS_ON))
def test_the_reference_solution_builds_the_outer_function_on_the_inner_one(outer):
    notebook_id, inner = BUILDS_ON[outer]
    assert f"{inner}(" in answer_source(notebook_id, f"{outer}_answer")
    assert inner in INNER_FUNCTIONS[outer]
    assert inner in {m.cell.removesuffix("_answer") for m in INNER_MISTAKES}, f"no demo mistake in {inner}"


@pytest.mark.parametrize("mistake", INNER_MISTAKES, ids=lambda m: m.student)
def test_a_mistake_in_an_inner_function_is_declared_to_cost_only_that_functions_cells(mistake):
    inner = mistake.cell.removesuffix("_answer")
    own = {gid for gid in graded_cell_ids(mistake.notebook) if gid.startswith(inner + "_")}
    assert mistake.fails and set(mistake.fails) <= own


def test_an_outer_function_is_judged_on_its_own_logic_and_the_message_names_it():
    namespace = run_notebook_code("03_categorical_ce")
    namespace["log_softmax"] = lambda z: np.log(np.asarray(z, dtype=float))        # a wrong inner function
    student = checks.InProcessStudent(namespace)
    chk = checks.find("03_categorical_ce", "categorical_nll_seed_value")
    assert checks.run_check(chk, student) is None
    # With the binding switched off the same outer function fails: the binding is what protects it.
    outcome = student.call("categorical_nll", ref.np.array([[0.1, 0.2, 0.7]]), ref.np.array([2]), trusted_inner=())
    assert not np.isclose(float(outcome.value), ref.categorical_nll([[0.1, 0.2, 0.7]], [2]))
    # A mistake in the outer function itself is named as its own.
    namespace["categorical_nll"] = lambda z, y: float(np.sum(-log_softmax_rows(z, y)))
    message = checks.run_check(chk, student)
    assert message and "this mistake is in `categorical_nll` itself" in message


def log_softmax_rows(z, y):
    z = np.atleast_2d(np.asarray(z, dtype=float))
    return ref.log_softmax(z)[np.arange(len(z)), np.atleast_1d(y)]


def test_the_binding_is_undone_after_a_call_even_when_it_raises():
    def own_sigmoid(z):
        return "mine"

    namespace = {"sigmoid": own_sigmoid}
    exec("def outer(z):\n    return sigmoid(z)\n\ndef failing(z):\n    sigmoid(z)\n    raise ValueError('boom')\n",
         namespace)
    got = call_with_trusted_inner(namespace["outer"], [0.0], {}, namespace, ["sigmoid"], TRUSTED_INNER)
    assert float(got) == 0.5 and namespace["sigmoid"] is own_sigmoid
    with pytest.raises(ValueError):
        call_with_trusted_inner(namespace["failing"], [0.0], {}, namespace, ["sigmoid"], TRUSTED_INNER)
    assert namespace["sigmoid"] is own_sigmoid


def test_an_inner_function_the_submission_lacks_is_supplied_for_the_call_and_removed_after():
    namespace = {}
    exec("def outer(z):\n    return ('softmax' in globals(), 'not_a_trusted_name' in globals())\n", namespace)
    got = call_with_trusted_inner(namespace["outer"], [0.0], {}, namespace, ["softmax", "not_a_trusted_name"],
                                  TRUSTED_INNER)
    assert got == (True, False)   # only names of the trusted table are ever bound
    assert "softmax" not in namespace


@pytest.mark.parametrize("name", sorted(TRUSTED_INNER))
def test_each_trusted_inner_function_agrees_with_the_reference(name):
    rng = np.random.default_rng(5)
    z = np.concatenate([rng.normal(0, 3, size=6), [120.0, -120.0, 1e4, -1e4]])
    y = (rng.random(z.shape) < 0.5).astype(float)
    p = ref.sigmoid(rng.normal(size=z.shape))
    args = {"mse": (z, y), "sigmoid": (z,), "bernoulli_nll": (p, y), "bce_with_logits": (z, y),
            "softmax": (z.reshape(2, 5),), "log_softmax": (z.reshape(2, 5),), "bce_grad": (z, y),
            "mse_sigmoid_grad": (z, y)}[name]
    np.testing.assert_allclose(TRUSTED_INNER[name](*args), getattr(ref, name)(*args), rtol=1e-12, atol=1e-300)


def test_only_checks_that_call_an_outer_function_add_the_note():
    namespace = run_notebook_code("01_gaussian_mse")
    namespace["sigma2_mle"] = lambda y_pred, y: 1.0                                  # wrong, builds on mse
    namespace["mse"] = lambda y_pred, y: 2.0                                         # wrong, calls nothing
    student = checks.InProcessStudent(namespace)
    sigma2 = checks.run_check(checks.find("01_gaussian_mse", "sigma2_mle_value"), student)
    assert sigma2 and "this mistake is in `sigma2_mle` itself" in sigma2
    mse = checks.run_check(checks.find("01_gaussian_mse", "mse_matches_torch"), student)
    assert mse and "Checked with trusted versions" not in mse


GAUSSIAN_NLL_LOGVAR_MISTAKES = [m for m in all_mistakes("mle_beyond") if m.cell.startswith("gaussian_nll_logvar")]


@pytest.mark.parametrize("mistake", GAUSSIAN_NLL_LOGVAR_MISTAKES, ids=lambda m: m.student)
def test_the_feedback_on_a_gaussian_nll_logvar_mistake_names_that_function_and_no_other(mistake):
    function = mistake.cell.removesuffix("_answer")
    student = checks.InProcessStudent(run_notebook_code(mistake.notebook, replace={mistake.cell: mistake.source},
                                                        keep_going=True))
    for grade_id in sorted(mistake.fails):
        message = checks.run_check(checks.find(mistake.notebook, grade_id), student)
        assert message and message.startswith(f"`{function}`"), message
        assert "`gaussian_nll` itself" not in message and "Checked with trusted versions" not in message, message
