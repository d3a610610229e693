"""Grading library of the `mle_losses` course pack.

Folders by role, lowest layer last (the layers are contracts in .importlinter):
- `operations/`: what an instructor runs: the pipeline, grading on Dask, the feedback
  service, the class report, the demo class.
- `nbgrader_integration/`: nbgrader's side: preprocessors for `autograde` and
  `generate_feedback`, the exchange, LMS exports, running nbgrader's applications.
- `checks/`: one trusted check per graded test cell, keyed by nbgrader grade_id, with
  the references they compare against (`checks.reference`, `checks.torch_reference`).
- `sandbox/`: starts a submission's code in a locked-down process and talks to it.
- `boundary/`: what a call and its outcome are; decoding what comes back.
- `inside_sandbox/`: the code that runs in the sandbox, mounted there whole.
- `hidden`: the name the hidden-test line of every test cell imports.
"""

# The course's assignments and their notebooks, in teaching order: the one home of
# these ids (notebooks/<assignment>/<notebook>.py, source/<assignment>/<notebook>.ipynb).
ASSIGNMENTS = {
    "mle_losses": ("01_gaussian_mse", "02_bernoulli_bce", "03_categorical_ce", "04_gradients"),
    "mle_beyond": ("01_learned_variance", "02_soft_targets", "03_softmax_regression"),
}
