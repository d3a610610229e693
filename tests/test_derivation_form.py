"""A derivation is the student's: judged for its form as well as its value.

Like Moodle STACK's answer tests, which separate algebraic equivalence from form: each
derivation of notebook 04 has a value point (any equivalent expression) and a form
point (the form the notebook states: simplified, in sigma(z), within a size). An
unsimplified `sp.diff` earns the value point only; honest simplified answers written
in other ways than the reference earn both; no form of a wrong answer earns anything.
"""
import pytest
import sympy as sp

from mle_grading import checks

y, z = sp.symbols("y z", real=True)
z0, z1, z2 = sp.symbols("z0 z1 z2", real=True)


def sig(t):
    return 1 / (1 + sp.exp(-t))


def sig_other_way(t):
    """sigma(t) as exp(t) / (1 + exp(t)), how many textbooks write it."""
    return sp.exp(t) / (1 + sp.exp(t))


TOTAL = sp.exp(z0) + sp.exp(z1) + sp.exp(z2)
CE = -sp.log(sp.exp(z0) / TOTAL)
BCE = -y * sp.log(sig(z)) - (1 - y) * sp.log(1 - sig(z))

DERIVATIONS = {
    # name: (the loss sp.diff is applied to, honest simplified answers unlike the reference's)
    "bce_grad_expr": (lambda: sp.diff(BCE, z), [
        -(y - sig(z)),
        (1 - y) - sig(-z),
        (sig(z) - 1) + (1 - y),
        sig_other_way(z) - y,
        sp.Rational(1, 2) + sp.tanh(z / 2) / 2 - y,
    ]),
    "mse_sigmoid_grad_expr": (lambda: sp.diff((sig(z) - y) ** 2, z), [
        2 * (sig(z) - y) * (sig(z) - sig(z) ** 2),
        -2 * (y - sig(z)) * sig(z) * sig(-z),
        2 * sig(z) ** 2 * (1 - sig(z)) - 2 * y * sig(z) * (1 - sig(z)),
        2 * (sig_other_way(z) - y) * sig_other_way(z) * (1 - sig_other_way(z)),
        2 * (sig_other_way(z) - y) * sig_other_way(z) * sig_other_way(-z),
        2 * (sig_other_way(z) - y) * (sig_other_way(z) - sig_other_way(z) ** 2),
        2 * sig_other_way(z) ** 2 * (1 - sig_other_way(z)) - 2 * y * sig_other_way(z) * (1 - sig_other_way(z)),
    ]),
    "softmax_ce_grad_expr": (lambda: [sp.diff(CE, v) for v in (z0, z1, z2)], [
        [-(sp.exp(z1) + sp.exp(z2)) / TOTAL, sp.exp(z1) / TOTAL, sp.exp(z2) / TOTAL],
        sp.Matrix([[sp.exp(z0) / TOTAL - 1, 1 / (1 + sp.exp(z0 - z1) + sp.exp(z2 - z1)),
                    1 / (sp.exp(z0 - z2) + sp.exp(z1 - z2) + 1)]]),
    ]),
}


def cells(name, value):
    """{grade_id: passed} of the value check and the form check of one derivation."""
    student = checks.InProcessStudent({name: value})
    out = {}
    for kind in ("equivalent", "simplified"):
        chk = checks.find("04_gradients", f"{name}_{kind}")
        out[kind] = checks.run_check(chk, student, "student-1", "mle_losses") is None
    return out


@pytest.mark.parametrize("name", DERIVATIONS)
def test_an_unsimplified_sp_diff_earns_the_value_point_but_not_the_form_point(name):
    raw = DERIVATIONS[name][0]()
    assert cells(name, raw) == {"equivalent": True, "simplified": False}


@pytest.mark.parametrize("name, answer", [(n, a) for n, (_, honest) in DERIVATIONS.items() for a in honest])
def test_honest_simplified_answers_written_differently_earn_both_points(name, answer):
    assert cells(name, answer) == {"equivalent": True, "simplified": True}


@pytest.mark.parametrize("name, nothing", [("bce_grad_expr", sp.Integer(0)), ("mse_sigmoid_grad_expr", y),
                                           ("softmax_ce_grad_expr", [z0, z1, z2])])
def test_a_short_expression_that_is_no_derivation_earns_no_form_point(name, nothing):
    assert cells(name, nothing) == {"equivalent": False, "simplified": False}


def test_a_recognised_mistake_costs_the_value_point_only():
    assert cells("bce_grad_expr", y - sig(z)) == {"equivalent": False, "simplified": True}
