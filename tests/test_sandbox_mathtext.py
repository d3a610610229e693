"""The sandbox shares one mathtext parser among matplotlib's renderers: the same pixels, fewer parses."""
import json
import subprocess
import sys

from mle_grading.figure_benchmark import ROOT

# A figure shown the way the inline backend shows it (tight_layout, then print_figure with
# bbox_inches="tight": three renderers), with $...$ labels and a log axis, whose tick labels are mathtext.
DRAW = r'''
import hashlib, json, sys
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from IPython.core.pylabtools import print_figure
from matplotlib.mathtext import MathTextParser
if sys.argv[1] == "shared":
    from mle_grading.sandbox import worker
    worker._share_mathtext_parses()
    worker._share_mathtext_parses()   # a second call must not wrap the renderer twice
pngs = []
for dpi in (72, 100):
    z = np.linspace(-15, 8, 200)
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3), dpi=dpi)
    left.plot(z, np.logaddexp(0, -z), label=r"BCE: $-\log \sigma(z)$")
    left.set(xlabel="logit $z$", ylabel="loss", title=r"$\frac{1}{N}\sum_i \ell_i$")
    left.legend()
    right.semilogy(z, 1 / (1 + np.exp(-z)), label=r"$\sigma(z)$")
    right.set(xlabel="logit $z$", ylabel=r"$|\partial \ell / \partial z|$")
    right.legend()
    fig.tight_layout()
    pngs.append(hashlib.sha256(print_figure(fig, "png", bbox_inches="tight")).hexdigest())
    plt.close(fig)
print(json.dumps({"pngs": pngs, "parses": MathTextParser._parse_cached.cache_info().misses}))
'''


def _draw(how):
    proc = subprocess.run([sys.executable, "-c", DRAW, how], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_a_shared_mathtext_parser_draws_the_same_pngs_with_fewer_parses():
    own, shared = _draw("per renderer"), _draw("shared")
    assert shared["pngs"] == own["pngs"]
    assert own["pngs"][0] != own["pngs"][1]    # the dpi reaches the picture, so a parse at one dpi is not reused at another
    # matplotlib parses a label again in each renderer that lays it out; shared, once per label and dpi
    # (here 40 parses against 24).
    assert shared["parses"] <= 0.7 * own["parses"]
