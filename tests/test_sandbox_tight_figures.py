"""The sandbox lays out a figure shown with a tight bounding box once less, and places ticks,
measures text and lays out text once per print: the same PNG bytes, fewer passes."""
from notebook_namespace import json_of_script

# Every figure of the course's notebooks, then figures whose layout is decided late in a draw:
# a legend placed "best", twin axes, a colorbar, an arrow annotation, wrapped and rotated text,
# a suptitle and a figure legend, labels far outside the axes, figure-level text and a legend
# anchored to an axes whose aspect is fixed; and figures that must keep
# matplotlib's layout pass: a layout engine (constrained, and tight_layout called), 3-D axes
# (one of them in a subfigure) and axisartist axes (they place ticks and labels only when
# drawn; one of them an inset), a draw_event callback.
DRAW = r'''
import hashlib, json, sys
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from IPython.core.pylabtools import print_figure
from matplotlib.axes import Axes
from matplotlib.figure import Figure
sys.path.insert(0, "tests")
from notebook_namespace import graded_notebooks, run_notebook_code
if sys.argv[1] == "sandbox":
    from mle_grading.inside_sandbox import worker
    worker._lay_out_tight_figures_once()
    worker._lay_out_tight_figures_once()   # a second call must not wrap the draw twice
    assert not getattr(Figure.draw.__wrapped__, "skips_layout_before_tight_bbox", False)
    worker._share_layout_within_a_print()
    worker._share_layout_within_a_print()
    from matplotlib.backend_bases import FigureCanvasBase
    assert not getattr(FigureCanvasBase.print_figure.__wrapped__, "shares_layout_within_a_print", False)
    judge = worker._laid_out_by_matplotlib_alone
    judged = [0]
    def counted_judge(*args):
        judged[0] += 1
        return judge(*args)
    worker._laid_out_by_matplotlib_alone = counted_judge
else:
    judged = [None]
passes = [0]
own_axes_draw = Axes.draw
def counted(self, renderer):
    passes[0] += 1
    work["axes drawn"] += 1
    return own_axes_draw(self, renderer)
Axes.draw = counted
from matplotlib.axis import XTick, YTick
from matplotlib.backends.backend_agg import RendererAgg
work = {"ticks placed": 0, "texts measured": 0, "texts laid out": 0, "axes drawn": 0}
course_work = dict(work)     # of that, printing the course's own figures
def counting(owner, name, what):
    own = getattr(owner, name)
    def counted(*args, **kwargs):
        work[what] += 1
        return own(*args, **kwargs)
    setattr(owner, name, counted)
counting(XTick, "update_position", "ticks placed")
counting(YTick, "update_position", "ticks placed")
counting(RendererAgg, "get_text_width_height_descent", "texts measured")
from matplotlib.text import Text
counting(Text, "_get_multialignment", "texts laid out")    # read by Text._get_layout alone

pngs = []
def odd_figures():
    rng = np.random.default_rng(0)
    fig, ax = plt.subplots(figsize=(5, 3))
    for k in range(3):
        ax.plot(rng.normal(size=40).cumsum(), label=f"walk {k}: $\\sum_i x_i$")
    ax.legend(loc="best")
    ax.annotate("the end", xy=(39, 0), xytext=(20, 5), arrowprops={"arrowstyle": "->"})
    ax.set(title="a long title that is wrapped " * 3, xlabel="step", ylabel="position")
    ax.title.set_wrap(True)
    yield fig
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [1, 4, 9], "r-", label="left")
    twin = ax.twinx()
    twin.semilogy([1, 2, 3], [1e-3, 1, 1e3], "b--", label="right")
    ax.tick_params(axis="x", labelrotation=45)
    fig.suptitle("twins")
    fig.legend(loc="upper right")
    yield fig
    fig, ax = plt.subplots()
    image = ax.imshow(rng.normal(size=(20, 30)))
    fig.colorbar(image, ax=ax, label="value")
    ax.set_ylabel("a label that is pushed far out", labelpad=60)
    ax.text(1.3, 0.5, "outside the axes", transform=ax.transAxes)
    yield fig
    for anchored in ("text", "legend"):   # figure-level artists placed in an aspect-fixed axes' coordinates
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.imshow(np.zeros((30, 10)))
        if anchored == "text":
            fig.text(1.1, 0.5, "beside the image", transform=ax.transAxes)
        else:
            ax.plot([0, 9], [0, 29], label="a line")
            fig.legend(bbox_to_anchor=(1.02, 1), bbox_transform=ax.transAxes, loc="upper left")
        yield fig
    fig, axes = plt.subplots(2, 2, layout="constrained")
    for ax in axes.flat:
        ax.plot([0, 1], [0, 1], label="line")
        ax.set(title="panel", xlabel="x", ylabel="y")
    yield fig
    fig, axes = plt.subplots(1, 3)
    for ax in axes:
        ax.loglog([1, 10, 100], [1, 0.1, 0.01], label="$x^{-1}$")
        ax.set(title="panel", xlabel="x", ylabel="y")
    fig.tight_layout()
    yield fig
    fig = plt.figure()
    ax = fig.add_subplot(projection="3d")
    grid = np.linspace(-2, 2, 30)
    x, y = np.meshgrid(grid, grid)
    ax.plot_surface(x, y, -(x ** 2 + y ** 2) / 2, cmap="viridis")
    ax.set(xlabel="$\\mu$", ylabel="$\\log \\sigma$", zlabel="log-likelihood", title="a surface")
    yield fig
    fig = plt.figure()
    left, right = fig.subfigures(1, 2)
    left.add_subplot().plot([0, 1], [1, 0], label="line")
    right.add_subplot(projection="3d").plot([0, 1], [0, 1], [0, 1])
    right.axes[0].set(xlabel="x", ylabel="y", zlabel="a z label in a subfigure")
    yield fig
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.inset_axes([0.6, 0.1, 0.35, 0.35], projection="3d").plot([0, 1], [1, 2], [0, 1])
    ax.set(title="an inset", xlabel="x", ylabel="y")
    yield fig
    from mpl_toolkits.axisartist import Axes as ArtistAxes
    fig = plt.figure()
    ax = fig.add_subplot(axes_class=ArtistAxes)
    ax.plot([0, 1], [1, 0], label="line")
    ax.set(xlabel="x label", ylabel="y label", title="axisartist")
    yield fig
    from matplotlib.ticker import FuncFormatter, Locator
    fig, axes = plt.subplots(2, 2, sharex=True)     # shared axes, aligned labels, a formatter of its own
    for k, ax in enumerate(axes.flat):
        ax.semilogy(np.arange(1, 30), np.arange(1, 30) ** (k + 1), label=f"power {k + 1}")
        ax.set_ylabel(f"a label {'long ' * k}")
    axes[0, 0].xaxis.set_major_formatter(FuncFormatter(lambda x, pos: f"<{x:g}>"))
    axes[1, 1].yaxis.set_major_formatter("{x:.1e}")
    class EveryOther(Locator):     # a locator of its own: matplotlib decides it every time
        def __call__(self):
            low, high = self.axis.get_view_interval()
            return np.arange(np.ceil(low), high, 2.0)
    axes[1, 0].xaxis.set_major_locator(EveryOther())
    fig.align_ylabels()
    yield fig
    from matplotlib.ticker import ScalarFormatter
    fig, (left, right) = plt.subplots(1, 2)     # one formatter, two axes: each its own offset and exponent
    left.plot([0, 1e-5])
    right.plot([0, 3e6])
    shared = ScalarFormatter(useMathText=True)
    shared.set_powerlimits((-2, 2))
    left.yaxis.set_major_formatter(shared)
    right.yaxis.set_major_formatter(shared)
    yield fig
    fig, axes = plt.subplots(2, 2)
    shared = ScalarFormatter(useOffset=True)
    for k, ax in enumerate(axes.flat):
        ax.plot([10 ** (3 * k), 10 ** (3 * k) + 0.3 * k + 0.01], [5e5, 5e5 + 0.3])
        ax.xaxis.set_major_formatter(shared)
        ax.yaxis.set_major_formatter(shared)
    yield fig
    # Extents set only when drawn: a legend stretched by mode="expand" (of an axes, of the
    # figure), an arrow's size at a dpi other than 72 (an annotation's, a ConnectionPatch).
    fig, ax = plt.subplots()
    ax.plot([1, 2], label="a")
    ax.plot([2, 1], label="b")
    ax.legend(bbox_to_anchor=(-0.3, 1.02, 1.6, 0.1), loc="lower left", ncols=2, mode="expand", borderaxespad=0)
    yield fig
    fig, ax = plt.subplots()
    ax.plot([1, 2], label="first")
    ax.plot([2, 1], label="second")
    fig.legend(loc="lower left", bbox_to_anchor=(0, 0.92, 1, 0.08), ncols=2, mode="expand")
    yield fig
    fig, ax = plt.subplots(dpi=100)
    ax.plot(range(10))
    ax.annotate("top", xy=(1.05, 1.08), xycoords="axes fraction", xytext=(0.6, 0.8), textcoords="axes fraction",
                arrowprops={"facecolor": "black", "shrink": 0.05})
    yield fig
    from matplotlib.patches import ConnectionPatch
    fig, (left, right) = plt.subplots(1, 2, dpi=100)
    left.plot([0, 1])
    right.plot([1, 0])
    fig.add_artist(ConnectionPatch(xyA=(1, 1), coordsA=left.transData, xyB=(0.5, 1.3), coordsB=right.transAxes,
                                   arrowstyle="-|>", mutation_scale=30))
    yield fig
    # Placed or sized only in the pass the sandbox leaves out (a third review): markers sized in
    # points at pixel offsets, an annotation relative to another axes' label, a text in the
    # coordinates of an inset's inset of fixed aspect, a formatter that counts its calls.
    import matplotlib.transforms as mtransforms
    fig, ax = plt.subplots(dpi=100)
    ax.plot([0, 1])
    ax.scatter([5], [5], s=4000, transform=mtransforms.IdentityTransform(), clip_on=False)
    yield fig
    fig, (left, right) = plt.subplots(1, 2)
    left.plot([0, 1])
    right.plot([1, 0])
    right.set_xlabel("the right x label")
    left.annotate("a note under it", xy=(0.5, 0), xycoords=right.xaxis.label, xytext=(0, -4),
                  textcoords="offset points", ha="center", va="top")
    yield fig
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    outer = ax.inset_axes([0.5, 0.5, 0.5, 0.5])
    outer.plot([0, 1])
    inner = outer.inset_axes([0, 0, 1, 1])
    inner.plot([0, 10], [0, 1])
    inner.set_aspect("equal")
    ax.text(0.5, 3, "above the inner inset", transform=inner.transAxes, va="top")
    yield fig
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    calls = [0]
    def counting(x, pos):
        calls[0] += 1
        return f"{x:.1f}" if calls[0] < 40 else f"{x:.3f}"
    ax.yaxis.set_major_formatter(FuncFormatter(counting))
    yield fig
    fig, ax = plt.subplots()     # printed twice, changed in between: nothing of the first print is kept
    ax.plot([0, 10], [0, 1], label="before")
    ax.set_title("first print")
    pngs.append(hashlib.sha256(print_figure(fig, "png", bbox_inches="tight")).hexdigest())
    ax.set_xlim(-1000, 5)
    ax.set_ylabel("after", fontsize=20)
    ax.tick_params(labelsize=14)
    ax.set_title("second print")
    yield fig
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    drawn = []
    def retitle(event):
        drawn.append(1)
        ax.set_title(f"drawn {len(drawn)} times")
    fig.canvas.mpl_connect("draw_event", retitle)
    yield fig

for assignment, notebook_id in graded_notebooks():
    figures = []
    run_notebook_code(notebook_id, figures=figures)
    for figure in figures:
        before = dict(work)
        pngs.append(hashlib.sha256(print_figure(figure, "png", bbox_inches="tight")).hexdigest())
        for what, count in before.items():
            course_work[what] += work[what] - count
for figure in odd_figures():
    pngs.append(hashlib.sha256(print_figure(figure, "png", bbox_inches="tight")).hexdigest())
    plt.close(figure)
# A layout without a save is never skipped: a cell may rely on it to read positions.
fig, ax = plt.subplots()
ax.plot([0, 1], [0, 1])
fig.draw_without_rendering()
labels = [t.get_text() for t in ax.get_xticklabels()]
print(json.dumps({"pngs": pngs, "axes_passes": passes[0], "labels_after_layout": labels,
                  "work": work, "course_work": course_work, "judged": judged[0]}))
'''


def _draw(how):
    return json_of_script(DRAW, how)


def test_figures_shown_tight_in_the_sandbox_are_the_bytes_matplotlib_draws_with_fewer_layout_passes():
    own, sandbox = _draw("matplotlib"), _draw("sandbox")
    assert len(own["pngs"]) >= 15 and len(set(own["pngs"])) == len(own["pngs"])
    assert sandbox["pngs"] == own["pngs"]
    # matplotlib draws each axes twice per tight PNG (layout, then pixels); the sandbox once where
    # the figure allows it: every figure of the course, not many of the odd ones.
    assert sandbox["course_work"]["axes drawn"] <= 0.55 * own["course_work"]["axes drawn"]
    assert sandbox["axes_passes"] < own["axes_passes"]
    assert sandbox["labels_after_layout"] == own["labels_after_layout"] and any(sandbox["labels_after_layout"])
    assert sandbox["judged"] == len(sandbox["pngs"])      # each figure's artists walked once per print
    # Within one print matplotlib places an axis' ticks about ten times and measures each text
    # once per renderer; the sandbox about once each. Many of the odd figures keep
    # matplotlib's way; the course's own figures all take the sandbox's.
    for work in ("work", "course_work"):
        assert own[work]["ticks placed"] > 1000 and own[work]["texts measured"] > 300
    assert sandbox["course_work"]["ticks placed"] <= 0.2 * own["course_work"]["ticks placed"]
    assert sandbox["course_work"]["texts measured"] <= 0.6 * own["course_work"]["texts measured"]
    # and lays out each text's lines about ten times per print; the sandbox about once
    assert own["course_work"]["texts laid out"] > 3000
    assert sandbox["course_work"]["texts laid out"] <= 0.2 * own["course_work"]["texts laid out"]
    assert sandbox["work"]["texts laid out"] < own["work"]["texts laid out"]
    assert sandbox["work"]["ticks placed"] < own["work"]["ticks placed"]
    assert sandbox["work"]["texts measured"] < own["work"]["texts measured"]
