"""Grading library of the `mle_losses` course pack.

- `reference`: naive float64 reference implementations of every contract function.
- `torch_reference`: the same quantities computed by PyTorch.
- `checks`: one trusted check per graded test cell, keyed by nbgrader grade_id.
- `wire`: the plain-data format in which student results leave the sandbox.
- `sandbox`: runs a submission's code in a locked-down process and answers calls.
- `nbgrader_plugins`: preprocessors that plug the above into `nbgrader autograde`
  and `nbgrader generate_feedback`.
- `pipeline`: the instructor's whole pipeline in one command.
"""

# The course's assignments and their notebooks, in teaching order: the one home of
# these ids (notebooks/<assignment>/<notebook>.py, source/<assignment>/<notebook>.ipynb).
ASSIGNMENTS = {
    "mle_losses": ("01_gaussian_mse", "02_bernoulli_bce", "03_categorical_ce", "04_gradients"),
    "mle_beyond": ("01_learned_variance", "02_soft_targets", "03_softmax_regression"),
}

# The first assignment, for code that has not yet learned to handle several.
ASSIGNMENT_ID = "mle_losses"
NOTEBOOK_IDS = ASSIGNMENTS[ASSIGNMENT_ID]
