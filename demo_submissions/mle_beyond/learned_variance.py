"""Mistakes in mle_beyond's notebook 01_learned_variance."""
from .. import Mistake
from . import ASSIGNMENT

NB = "01_learned_variance"


def _nll(body, convert=True, prelude=""):
    lines = ["def gaussian_nll_logvar(y_pred, y, log_var):\n"]
    if convert:
        lines.append("    y_pred, y = np.asarray(y_pred, dtype=float), np.asarray(y, dtype=float)\n"
                     "    log_var = np.asarray(log_var, dtype=float)\n")
    lines.append(prelude)
    lines.append("    r2 = (y - y_pred) ** 2\n")
    lines.append(f"    return float(np.mean({body}))\n")
    return "".join(lines)


def _grad(d_mu, d_s, extra=""):
    return ("def gaussian_nll_logvar_grad(y_pred, y, log_var):\n"
            "    y_pred, y, log_var = np.broadcast_arrays(np.asarray(y_pred, dtype=float),\n"
            "                                             np.asarray(y, dtype=float), np.asarray(log_var, dtype=float))\n"
            "    precision = np.exp(-log_var)\n"
            "    r = y_pred - y\n"
            f"    d_mu = {d_mu}\n"
            f"    d_s = {d_s}\n"
            f"{extra}"
            "    return d_mu, d_s\n")


def _laplace(body):
    return ("def laplace_b_mle(y_pred, y):\n"
            "    r = np.asarray(y, dtype=float) - np.asarray(y_pred, dtype=float)\n"
            f"    return {body}\n")


MISTAKES = [
    Mistake("logvar-constant-dropped", ASSIGNMENT, NB, "gaussian_nll_logvar_answer",
            _nll("0.5 * (log_var + r2 * np.exp(-log_var))"),
            frozenset({"gaussian_nll_logvar_value"}), "drops the constant 0.5*log(2*pi)"),
    Mistake("logvar-read-as-log-std", ASSIGNMENT, NB, "gaussian_nll_logvar_answer",
            _nll("0.5 * np.log(2 * np.pi) + log_var + 0.5 * r2 * np.exp(-2 * log_var)"),
            frozenset({"gaussian_nll_logvar_value"}), "treats log_var as the log of the standard deviation"),
    Mistake("logvar-variance-clamped", ASSIGNMENT, NB, "gaussian_nll_logvar_answer",
            _nll("0.5 * (np.log(2 * np.pi) + np.log(var) + r2 / var)",
                 prelude="    var = np.maximum(np.exp(log_var), 1e-6)  # like torch's eps\n"),
            frozenset({"gaussian_nll_logvar_extreme_log_var"}), "clamps the variance at 1e-6 as torch does"),
    Mistake("logvar-eps-added", ASSIGNMENT, NB, "gaussian_nll_logvar_answer",
            _nll("0.5 * (np.log(2 * np.pi) + np.log(var) + r2 / var)",
                 prelude="    var = np.exp(log_var) + 1e-8  # 'for stability'\n"),
            frozenset({"gaussian_nll_logvar_extreme_log_var"}), "adds a small constant to the variance"),
    Mistake("logvar-divides-by-rows", ASSIGNMENT, NB, "gaussian_nll_logvar_answer",
            "def gaussian_nll_logvar(y_pred, y, log_var):\n"
            "    y_pred, y = np.asarray(y_pred, dtype=float), np.asarray(y, dtype=float)\n"
            "    per = 0.5 * (np.log(2 * np.pi) + log_var + (y - y_pred) ** 2 * np.exp(-np.asarray(log_var)))\n"
            "    return float(np.sum(per) / len(y))\n",
            frozenset({"gaussian_nll_logvar_broadcasts", "gaussian_nll_logvar_lists_and_float32"}),
            "divides the sum by len(y), the number of rows (and len() of a number fails)"),
    Mistake("logvar-grad-averaged", ASSIGNMENT, NB, "gaussian_nll_logvar_grad_answer",
            _grad("r * precision / r.size", "0.5 * (1 - r ** 2 * precision) / r.size"),
            frozenset({"gaussian_nll_logvar_grad_matches_torch"}), "returns the gradient of the mean"),
    Mistake("logvar-grad-wrt-variance", ASSIGNMENT, NB, "gaussian_nll_logvar_grad_answer",
            _grad("r * precision", "0.5 * precision - 0.5 * r ** 2 * precision ** 2"),
            frozenset({"gaussian_nll_logvar_grad_matches_torch"}),
            "differentiates with respect to the variance, not the log-variance"),
    Mistake("logvar-grad-no-precision", ASSIGNMENT, NB, "gaussian_nll_logvar_grad_answer",
            _grad("r", "0.5 * (1 - r ** 2 * precision)"),
            frozenset({"gaussian_nll_logvar_grad_matches_torch"}), "forgets the precision in d_y_pred"),
    Mistake("logvar-grad-shared-summed", ASSIGNMENT, NB, "gaussian_nll_logvar_grad_answer",
            "def gaussian_nll_logvar_grad(y_pred, y, log_var):\n"
            "    y_pred, y = np.asarray(y_pred, dtype=float), np.asarray(y, dtype=float)\n"
            "    precision = np.exp(-np.asarray(log_var, dtype=float))\n"
            "    r = y_pred - y\n"
            "    d_mu = r * precision\n"
            "    d_s = 0.5 * (1 - r ** 2 * precision)\n"
            "    if np.ndim(log_var) == 0:  # one shared log-variance: add up its derivatives\n"
            "        d_s = np.sum(d_s)\n"
            "    return d_mu, d_s\n",
            frozenset({"gaussian_nll_logvar_grad_scalar_log_var"}),
            "sums the derivatives of a scalar log-variance into one"),
    Mistake("logvar-grad-clamped", ASSIGNMENT, NB, "gaussian_nll_logvar_grad_answer",
            _grad("r / np.maximum(np.exp(log_var), 1e-6)", "0.5 * (1 - r ** 2 / np.maximum(np.exp(log_var), 1e-6))"),
            frozenset({"gaussian_nll_logvar_grad_extreme_log_var"}), "clamps the variance at 1e-6"),
    Mistake("laplace-b-median", ASSIGNMENT, NB, "laplace_b_mle_answer", _laplace("float(np.median(np.abs(r)))"),
            frozenset({"laplace_b_mle_value"}), "takes the median absolute residual"),
    Mistake("laplace-b-rms", ASSIGNMENT, NB, "laplace_b_mle_answer", _laplace("float(np.sqrt(np.mean(r ** 2)))"),
            frozenset({"laplace_b_mle_value"}), "takes the Gaussian's root mean square"),
    Mistake("laplace-b-signed-mean", ASSIGNMENT, NB, "laplace_b_mle_answer", _laplace("float(np.mean(r))"),
            frozenset({"laplace_b_mle_value"}), "forgets the absolute value"),
    Mistake("laplace-b-first-axis", ASSIGNMENT, NB, "laplace_b_mle_answer", _laplace("np.mean(np.abs(r), axis=0)"),
            frozenset({"laplace_b_mle_lists_and_shapes"}), "averages along the first axis only"),
]
