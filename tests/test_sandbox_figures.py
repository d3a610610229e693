"""A figure shown in a cell comes back from the sandbox as the PNG stock matplotlib prints for it,
mathtext and log axes included, in a cold sandbox and in one forked from the warm parent."""
import base64
import io
import os

import pytest
from IPython.core.pylabtools import print_figure
from PIL import Image

from mle_grading.inside_sandbox.worker import FIGURE_PRINT_OPTIONS
from mle_grading.sandbox import warm
from mle_grading.sandbox.runner import SandboxLimits, SandboxSession

# Mathtext in the title, the axis labels and the legend, and a log axis (its tick labels are
# mathtext too), as the course's figures have them.
FIGURE = r'''
import numpy as np
import matplotlib.pyplot as plt
z = np.linspace(-15, 8, 200)
fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
left.plot(z, np.logaddexp(0, -z), label=r"BCE: $-\log \sigma(z)$")
left.set(xlabel="logit $z$", ylabel="loss", title=r"$\frac{1}{N}\sum_i \ell_i$")
left.legend()
right.semilogy(z, 1 / (1 + np.exp(-z)), label=r"$\sigma(z)$")
right.set(xlabel="logit $z$", ylabel=r"$|\partial \ell / \partial z|$", title="gradient")
right.legend()
fig.subplots_adjust(left=0.08, right=0.98, bottom=0.17, top=0.88, wspace=0.3)
'''


def _printed_here():
    import matplotlib.pyplot as plt
    namespace = {}
    exec(FIGURE, namespace)
    try:
        return print_figure(namespace["fig"], "png", **FIGURE_PRINT_OPTIONS)
    finally:
        plt.close("all")


def _printed_in_a_sandbox(warm_parent):
    session = SandboxSession([FIGURE + "plt.show()\n"], None, SandboxLimits(warm=warm_parent))
    try:
        session.start()
        forked = isinstance(session.proc, warm.WarmChild)
    finally:
        session.close()
    assert forked == warm_parent, "the sandbox was not started the way the test asked"
    report = session.cell_reports[0]
    assert not report["error"], report
    images = [item["data"] for item in report["outputs"] if item["type"] == "image/png"]
    assert len(images) == 1, report["outputs"]
    return base64.b64decode(images[0])


@pytest.mark.parametrize("warm_parent", [False, pytest.param(True, marks=pytest.mark.skipif(
    os.geteuid() != 0, reason="warm sandboxes are built when grading as root"))], ids=["cold", "warm"])
def test_a_figure_with_mathtext_comes_back_as_the_png_matplotlib_prints_for_it(warm_parent):
    shown = _printed_in_a_sandbox(warm_parent)
    assert Image.open(io.BytesIO(shown)).size == (800, 300)   # the whole figure, as drawn: no crop
    assert shown == _printed_here()
