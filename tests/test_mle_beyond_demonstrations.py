"""The demonstrations of mle_beyond show what their text says, run from source/ in-process."""
import numpy as np

from notebook_namespace import run_notebook_code

# The tolerance 01_learned_variance states for its converged fit.
GRADIENT_TOLERANCE = 1e-8


def _mean_nll_gradient(x, y, a, b, c, d):
    """The gradient of the mean Gaussian NLL in (a, b, c, d), written here, not taken from the notebook."""
    log_var = c + d * x
    residual = a + b * x - y
    d_mu = residual * np.exp(-log_var)
    d_s = 0.5 * (1 - residual ** 2 * np.exp(-log_var))
    return np.array([d_mu.mean(), (d_mu * x).mean(), d_s.mean(), (d_s * x).mean()])


def test_the_learned_variance_fit_ends_with_its_gradient_below_the_stated_tolerance():
    ns = run_notebook_code("01_learned_variance")
    gradient = _mean_nll_gradient(ns["x_fit"], ns["y_fit"], ns["a"], ns["b"], ns["c"], ns["d"])
    assert np.max(np.abs(gradient)) < GRADIENT_TOLERANCE, gradient


def test_the_learned_variance_notebook_shows_the_plain_step_ending_in_a_two_cycle():
    ns = run_notebook_code("01_learned_variance")
    path = ns["plain_path"]
    assert np.allclose(path[-1], path[-3]) and np.allclose(path[-2], path[-4])
    assert np.max(np.abs(path[-1][:2] - path[-2][:2])) > 0.01
    assert abs(0.05 * ns["lambda_cycle"] - 2) < 1e-3


def test_the_calibration_notebook_measures_early_stopping_and_map_beside_temperature_scaling():
    ns = run_notebook_code("03_softmax_regression")
    ece = {name: values[3] for name, values in ns["measured"].items()}
    ml = next(value for name, value in ece.items() if name.startswith("ML (T = 1)"))
    for remedy in ("temperature", "early stopping", "MAP"):
        (value,) = [value for name, value in ece.items() if remedy in name]
        assert value < ml / 2, (remedy, ece)
    counts = [values[2] for values in ns["measured"].values()]
    assert all(c.sum() == len(ns["y_test"]) for c in counts)   # the bin counts drawn add up to the test set
