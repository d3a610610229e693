"""What the notebooks' own cells cost in a warm sandbox, figure cells apart (prints figures).

    .venv/bin/python -m benchmarks.figure_benchmark [--without-bbox] [--parser-per-renderer]
                                                     [--layout-before-tight-bbox] [--layout-per-pass]
                                                     [--repeats 3]

A parent imports what a warm sandbox parent imports and draws its warm-up figure
(`sandbox.zygote._warm_up`), then forks one child per notebook, as the sandbox does; the
child runs the notebook's cells with the solutions in (the source notebooks, which
only the instructor writes: no sandbox is needed for them) in an IPython shell with
the inline backend, and times each cell. Test cells are skipped (the trusted checks
are timed by `./course bench`); torch cannot be imported, as in a sandbox, so the cells
that compare with PyTorch take the path they take there. The variants show what four
things cost: the inline backend's `bbox_inches="tight"` (`--without-bbox`: figures saved
at their own size, as they would be without the tight crop), the sandbox's one mathtext
parser for every renderer (`--parser-per-renderer`: matplotlib's own, a parser per
renderer), the layout pass the sandbox leaves out before a tight bounding box
(`--layout-before-tight-bbox`: matplotlib's own print_figure), and the sandbox's ticks
placed, texts measured and texts laid out once per print (`--layout-per-pass`: matplotlib's
own, again in each pass and for each renderer). Each notebook's row is its fastest child of `--repeats`.
"""
import argparse
import json
import os
import sys
import time

from mle_grading import ASSIGNMENTS
from mle_grading.inside_sandbox import worker, zygote

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _parser_per_renderer():
    """Undo the sandbox's shared mathtext parser: matplotlib's own way, one parser per renderer."""
    from matplotlib.backends import backend_agg
    shared_init = backend_agg.RendererAgg.__init__
    if not getattr(shared_init, "shares_mathtext_parses", False):
        raise RuntimeError("the sandbox's shared mathtext parser is not installed: nothing to undo")
    backend_agg.RendererAgg.__init__ = shared_init.__wrapped__


def _layout_before_tight_bbox():
    """Undo the sandbox's one-pass tight figures: matplotlib's own print_figure, a layout pass more."""
    from matplotlib.figure import Figure
    if not getattr(Figure.draw, "skips_layout_before_tight_bbox", False):
        raise RuntimeError("the sandbox's one-pass tight figures are not installed: nothing to undo")
    Figure.draw = Figure.draw.__wrapped__


def _layout_per_pass():
    """Undo the sandbox's layout shared within a print: ticks placed, texts measured and laid out in every pass."""
    from matplotlib import axis, text
    from matplotlib.backend_bases import FigureCanvasBase
    shared_print = FigureCanvasBase.print_figure
    if not getattr(shared_print, "shares_layout_within_a_print", False):
        raise RuntimeError("the sandbox's layout shared within a print is not installed: nothing to undo")
    FigureCanvasBase.print_figure = shared_print.__wrapped__
    text._get_text_metrics_with_cache = text._get_text_metrics_with_cache.__wrapped__
    axis.Axis._update_ticks = axis.Axis._update_ticks.__wrapped__
    text.Text._get_layout = text.Text._get_layout.__wrapped__


def _cells_seconds(path, bbox):
    """[(seconds, figures shown, first line)] for each cell of one notebook, run in this (forked) process."""
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    shown = []
    shell.display_pub.publish = lambda data, *args, **kwargs: shown.append("image/png" in data)
    try:
        shell.enable_matplotlib("inline")
    except NotImplementedError:   # the plain shell has no GUI loop; the inline backend is on by then
        pass
    if not bbox:
        shell.run_cell("%config InlineBackend.print_figure_kwargs = {'bbox_inches': None}", silent=True)
    os.chdir(os.path.dirname(path))
    timed = []
    for cell in json.load(open(path))["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = "".join(cell["source"])
        if cell["cell_type"] != "code" or (meta.get("grade") and not meta.get("solution")):
            continue
        shown.clear()
        start = time.perf_counter()
        result = shell.run_cell(source, store_history=False, silent=False)   # as sandbox/worker.py runs cells
        timed.append((time.perf_counter() - start, sum(shown), (source.strip().splitlines() or [""])[0][:60]))
        if not result.success:
            raise RuntimeError(f"{os.path.basename(path)}: a cell raised {result.error_in_exec!r}")
    return timed


def in_a_forked_child(path, bbox=True, shared_mathtext=True, one_pass_tight=True, shared_layout=True):
    """(seconds of all cells, seconds of the cells that show a figure, figures, every cell's timing)
    of one notebook in a fresh child."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        code = 0
        try:
            sys.stdout = open(os.devnull, "w")
            sys.modules["torch"] = None    # `import torch` raises ImportError, as in a sandbox
            if not shared_mathtext:
                _parser_per_renderer()
            if not one_pass_tight:
                _layout_before_tight_bbox()
            if not shared_layout:
                _layout_per_pass()
            timed = _cells_seconds(path, bbox)
            answer = [sum(s for s, _, _ in timed), sum(s for s, figures, _ in timed if figures),
                      sum(figures for _, figures, _ in timed), timed]
        except Exception as exc:
            answer, code = {"error": str(exc)}, 1
        os.write(write, json.dumps(answer).encode())
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        answer = json.loads(pipe.read())
    os.waitpid(pid, 0)
    if isinstance(answer, dict):
        raise RuntimeError(answer["error"])
    return tuple(answer)


def warm_parent():
    os.environ["MPLBACKEND"] = "Agg"     # as in the sandbox's environment
    worker._preload()
    zygote._warm_up()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignment", default="mle_losses", choices=list(ASSIGNMENTS))
    parser.add_argument("--without-bbox", action="store_true")
    parser.add_argument("--parser-per-renderer", action="store_true",
                        help="matplotlib's own mathtext parsing (a parser per renderer), not the sandbox's shared one")
    parser.add_argument("--layout-before-tight-bbox", action="store_true",
                        help="matplotlib's own print_figure (a layout pass before the tight bounding box), "
                             "not the sandbox's one pass")
    parser.add_argument("--layout-per-pass", action="store_true",
                        help="matplotlib's own ticks and text metrics (again in every pass and renderer), "
                             "not the sandbox's once per print")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--slowest", type=int, default=8, help="list this many of the slowest cells")
    args = parser.parse_args(argv)
    folder = os.path.join(ROOT, "source", args.assignment)
    notebooks = [os.path.join(folder, f"{notebook}.ipynb") for notebook in ASSIGNMENTS[args.assignment]]
    warm_parent()
    runs = {path: [] for path in notebooks}
    for _ in range(args.repeats):      # interleaved, so that a slow moment of the machine hits every notebook
        for path in notebooks:
            runs[path].append(in_a_forked_child(path, not args.without_bbox, not args.parser_per_renderer,
                                                not args.layout_before_tight_bbox, not args.layout_per_pass))
    print(f"{args.assignment}: bbox_inches='tight' {'off' if args.without_bbox else 'on'}, "
          f"mathtext parser {'per renderer' if args.parser_per_renderer else 'shared'}, "
          f"{'a layout pass before' if args.layout_before_tight_bbox else 'no layout pass before'} the tight bbox, "
          f"ticks and texts laid out {'in every pass' if args.layout_per_pass else 'once per print'}; "
          f"fastest of {args.repeats} children each")
    print(f"{'notebook':24s} {'all cells (s)':>14s} {'figure cells (s)':>17s} {'figures':>8s}")
    total = [0.0, 0.0]
    for path, found in runs.items():
        cells, figures, count, _ = min(found, key=lambda run: run[0])   # one child's figures, not two
        total = [total[0] + cells, total[1] + figures]
        print(f"{os.path.basename(path):24s} {cells:14.3f} {figures:17.3f} {count:8d}")
    print(f"{'one submission':24s} {total[0]:14.3f} {total[1]:17.3f}")
    slow = sorted(((seconds, os.path.basename(path), figures, line) for path, found in runs.items()
                   for seconds, figures, line in found[0][3]), reverse=True)[:args.slowest]
    if slow:
        print("slowest cells (first child):" + "".join(
            f"\n  {seconds:6.3f} s  {name}  {'figure ' if figures else 'no figure'}  {line}"
            for seconds, name, figures, line in slow))


if __name__ == "__main__":
    main()
