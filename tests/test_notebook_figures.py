"""Every figure of every notebook is readable as the grader's sandbox prints it (without a tight
crop): each panel has its axis labels, a title and a legend, nothing of it is cut off at the
figure's edge, and no panel's labels run into another panel."""
import pytest
from IPython.core.pylabtools import print_figure

from mle_grading.inside_sandbox.worker import FIGURE_PRINT_OPTIONS
from notebook_namespace import graded_notebooks, run_notebook_code, source_notebook


def _drawn_figures(notebook_id):
    figures = []
    run_notebook_code(notebook_id, figures=figures)
    for figure in figures:
        print_figure(figure, "png", **FIGURE_PRINT_OPTIONS)   # printed as the sandbox's inline backend prints it
    return figures


@pytest.mark.parametrize("assignment, notebook_id", graded_notebooks())
def test_every_panel_of_every_figure_is_labelled_inside_the_figure_and_clear_of_its_neighbours(assignment, notebook_id):
    figures = _drawn_figures(notebook_id)
    shown = sum(cell.source.count("plt.show()") for cell in source_notebook(notebook_id).cells
                if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade"))
    assert shown and len(figures) == shown, f"{notebook_id} shows {shown} figures but drew {len(figures)}"
    for number, figure in enumerate(figures, 1):
        renderer = figure.canvas.get_renderer()
        panels = [ax for ax in figure.axes if ax.get_visible()]
        for ax in panels:
            where = f"{notebook_id}, figure {number}, panel {ax.get_title()!r}"
            assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title(), f"{where}: a label or the title is missing"
            legend = ax.get_legend()
            assert legend is not None and legend.get_texts(), f"{where}: no legend"
            box, page = ax.get_tightbbox(renderer), figure.bbox
            assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, (
                f"{where}: its labels, title or legend reach past the figure's edge ({box.extents.round(1)} "
                f"outside {page.extents.round(1)}): give the figure margins (fig.subplots_adjust)")
        boxes = [ax.get_tightbbox(renderer) for ax in panels]
        for i in range(len(panels)):
            for j in range(i + 1, len(panels)):
                assert not boxes[i].overlaps(boxes[j]), (
                    f"{notebook_id}, figure {number}: the labels of {panels[i].get_title()!r} "
                    f"run into {panels[j].get_title()!r}")


@pytest.mark.parametrize("assignment, notebook_id", graded_notebooks())
def test_no_legend_covers_a_point_of_a_scatter(assignment, notebook_id):
    from matplotlib.collections import PathCollection
    for number, figure in enumerate(_drawn_figures(notebook_id), 1):
        renderer = figure.canvas.get_renderer()
        for ax in figure.axes:
            legend = ax.get_legend()
            if legend is None:
                continue
            box = legend.get_window_extent(renderer)
            for points in (c for c in ax.collections if isinstance(c, PathCollection)):
                shown = points.get_offset_transform().transform(points.get_offsets())
                hidden = [tuple(p) for p, s in zip(points.get_offsets(), shown) if box.contains(*s)]
                assert not hidden, (f"{notebook_id}, figure {number}, panel {ax.get_title()!r}: "
                                    f"the legend covers the points {hidden[:3]}")
