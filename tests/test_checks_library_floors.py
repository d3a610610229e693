"""Where a library's loss differs from the contract's formula (a floor, a clamp, an epsilon), a
check tries the region where they differ, with the contract's formula as the reference there.

torch's gaussian_nll_loss clamps the variance at eps=1e-6 and BCELoss clamps each log at -100:
an answer that copies either (or adds an epsilon of its own) loses the cell that tries that
region, under every student's hidden inputs, and the message names the floor; honest answers in
other styles keep every point there.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mle_grading.checks import reference as ref
from mle_grading.checks import torch_reference as tref

from corpus import cases as corpus_cases
from corpus.styles import FLOORS, HONEST
from notebook_namespace import failing_cells, run_notebook_code
from style_grading import assert_fails_as_declared


@pytest.mark.parametrize("variant", FLOORS, ids=lambda v: v.name)
def test_an_answer_with_a_library_floor_loses_the_cell_that_tries_below_it_and_is_told_so(variant):
    assert_fails_as_declared(variant)


@pytest.mark.parametrize("variant", HONEST, ids=lambda v: v.name)
def test_an_honest_answer_in_another_style_keeps_every_point(variant):
    assert_fails_as_declared(variant)


def test_torch_differs_from_the_contract_below_its_floors_which_is_why_the_formula_judges_there():
    """The control: were torch the reference below its floors, the floored answers would be right."""
    y_pred, y = np.array([2e-5, -1e-5]), np.array([0.0, 1e-5])
    torch_default = F.gaussian_nll_loss(torch.tensor(y_pred), torch.tensor(y), torch.full((2,), 1e-9), full=True)
    assert not np.isclose(torch_default.item(), ref.gaussian_nll(y_pred, y, 1e-9))
    p, labels = np.array([1e-60]), np.array([1.0])
    assert not np.isclose(tref.bernoulli_nll(p, labels), ref.bernoulli_nll(p, labels))
    assert np.isclose(ref.bernoulli_nll(p, labels), 60 * np.log(10))


CORPUS_HONEST = [c for c in corpus_cases.HONEST if not (c.extra_cells or c.mutate or c.raw or c.extra_files)]


@pytest.mark.parametrize("case", CORPUS_HONEST, ids=lambda c: c.student)
def test_the_corpus_honest_variants_keep_every_point_in_process(case):
    namespace = run_notebook_code(case.notebook, case.answers, keep_going=True)
    for student in ("ada", "grace"):
        assert failing_cells(case.notebook, namespace, student) == {}
