"""A wrong SymPy answer is told where it differs, when that can be recognised."""
import pytest
import sympy as sp

from mle_grading import checks
from mle_grading.checks.symbolic import diagnose, expect_equivalent, sym

Y_HAT, Y, S2 = sym("y_hat"), sym("y"), sym("sigma2")
NLL = sp.log(2 * sp.pi * S2) / 2 + (Y - Y_HAT) ** 2 / (2 * S2)
DOMAIN = {"y_hat": (-3.0, 3.0), "y": (-3.0, 3.0), "sigma2": (0.1, 4.0)}


@pytest.mark.parametrize("wrong, words", [
    ((Y - Y_HAT) ** 2 / (2 * S2), "depends on `sigma2` alone"),
    (NLL + 3, "constant term"),
    (2 * NLL, "constant factor"),
    (-NLL, "wrong sign"),
    (sp.exp(-NLL), "likelihood itself"),
    (NLL + Y_HAT / 3, "depends on `y_hat` alone"),
    (sp.log(2 * sp.pi * S2) / 2 + (Y - S2) ** 2 / (2 * S2), "uses `sigma2` where `y_hat` belongs"),
])
def test_a_recognisable_difference_is_named(wrong, words):
    assert words in diagnose(wrong, NLL, DOMAIN)


def test_an_unrecognisable_difference_says_nothing_more():
    assert diagnose(sp.sin(Y * Y_HAT) + S2 ** 3, NLL, DOMAIN) == "."


def test_the_diagnosis_reaches_the_students_message_and_an_equivalent_form_passes():
    student = checks.InProcessStudent({"answer": 5 * NLL})
    with pytest.raises(checks.CheckFailed, match="constant factor"):
        expect_equivalent(student, "answer", NLL, DOMAIN)
    equivalent = sp.log(sp.sqrt(2 * sp.pi * S2)) + (Y_HAT - Y) ** 2 / S2 / 2
    expect_equivalent(checks.InProcessStudent({"answer": equivalent}), "answer", NLL, DOMAIN)


def test_a_list_answer_is_judged_entry_by_entry_and_names_the_wrong_entry():
    z = [sp.Symbol(f"z{k}", real=True) for k in range(3)]
    total = sum(sp.exp(v) for v in z)
    want = [sp.exp(z[0]) / total - 1, sp.exp(z[1]) / total, sp.exp(z[2]) / total]
    domain = {f"z{k}": (-3.0, 3.0) for k in range(3)}
    expect_equivalent(checks.InProcessStudent({"g": sp.Matrix([want])}), "g", want, domain)
    wrong = [want[0], -want[1], want[2]]
    with pytest.raises(checks.CheckFailed, match="entry 1 of `g`.*wrong sign"):
        expect_equivalent(checks.InProcessStudent({"g": wrong}), "g", want, domain)
    with pytest.raises(checks.CheckFailed, match="3 expressions"):
        expect_equivalent(checks.InProcessStudent({"g": want[:2]}), "g", want, domain)


def test_the_one_element_list_of_sp_solve_answers_a_one_expression_question():
    solved = sp.solve(sp.diff(NLL, S2), S2)
    expect_equivalent(checks.InProcessStudent({"s": solved}), "s", (Y - Y_HAT) ** 2,
                      {"y_hat": (-3.0, 3.0), "y": (-3.0, 3.0)})
