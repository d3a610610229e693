"""The sandbox shares one mathtext parser among matplotlib's renderers: the same pixels, fewer parses."""
import functools

from notebook_namespace import json_of_script

# Figures shown the way the inline backend shows them (print_figure with bbox_inches="tight"),
# after the cell's own fig.tight_layout(): three renderers each. Their labels are mathtext, and
# so are the log axis's tick labels. The third figure repeats the first after a change of
# rcParams that a parse reads but matplotlib's parse cache is not keyed by, the fourth the
# second with text drawn without antialiasing.
DRAW = r'''
import hashlib, json, sys
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from IPython.core.pylabtools import print_figure
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.mathtext import MathTextParser
if sys.argv[1] in ("shared", "parsed ahead"):
    from mle_grading.inside_sandbox import worker
    worker._share_mathtext_parses()
    worker._share_mathtext_parses()   # a second call must not wrap the renderer twice
    assert not getattr(RendererAgg.__init__.__wrapped__, "shares_mathtext_parses", False)
if sys.argv[1] == "parsed ahead":   # the warm parent's own warm-up
    from mle_grading.inside_sandbox import zygote
    zygote._warm_up()
before = MathTextParser._parse_cached.cache_info().misses
pngs = []
for dpi, default_font, antialiased in ((72, "it", True), (100, "it", True), (72, "regular", True),
                                       (100, "it", False)):
    matplotlib.rcParams["mathtext.default"] = default_font
    matplotlib.rcParams["text.antialiased"] = antialiased
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
print(json.dumps({"pngs": pngs, "parses": MathTextParser._parse_cached.cache_info().misses - before}))
'''


@functools.lru_cache(maxsize=None)   # each way drawn once for both tests (a fresh interpreter each)
def _draw(how):
    return json_of_script(DRAW, how)


def test_a_shared_mathtext_parser_draws_the_same_pngs_with_fewer_parses():
    own, shared = _draw("per renderer"), _draw("shared")
    assert own["pngs"][2] != own["pngs"][0]    # the rcParams change reaches the picture...
    assert shared["pngs"] == own["pngs"]       # ...and the shared parser draws it as matplotlib does
    # matplotlib parses a label again in each renderer that lays it out; shared, once per label,
    # dpi and state of the rcParams a parse reads.
    assert shared["parses"] <= 0.7 * own["parses"]


def test_log_tick_labels_parsed_ahead_in_the_warm_parent_draw_the_same_pngs_with_fewer_parses():
    own, shared, ahead = _draw("per renderer"), _draw("shared"), _draw("parsed ahead")
    # Parsed at dpi 100 and the default rcParams: the second figure's log-axis ticks come from them,
    # the others (dpi 72, another mathtext.default, text drawn without antialiasing) are parsed as
    # before and drawn as matplotlib draws them.
    assert ahead["pngs"] == own["pngs"]
    assert ahead["parses"] < shared["parses"]
