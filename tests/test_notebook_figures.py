"""Every figure of every notebook is readable: each panel has its axis labels, a title and a legend,
and no panel's labels run into another panel."""
import io

import pytest

from notebook_namespace import graded_notebooks, run_notebook_code, source_notebook


def _drawn_figures(notebook_id):
    figures = []
    run_notebook_code(notebook_id, figures=figures)
    for figure in figures:
        figure.savefig(io.BytesIO(), format="png", bbox_inches="tight")   # laid out as the inline backend shows it
    return figures


@pytest.mark.parametrize("assignment, notebook_id", graded_notebooks())
def test_every_panel_of_every_figure_is_labelled_and_clear_of_its_neighbours(assignment, notebook_id):
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
        boxes = [ax.get_tightbbox(renderer) for ax in panels]
        for i in range(len(panels)):
            for j in range(i + 1, len(panels)):
                assert not boxes[i].overlaps(boxes[j]), (
                    f"{notebook_id}, figure {number}: the labels of {panels[i].get_title()!r} "
                    f"run into {panels[j].get_title()!r}")
