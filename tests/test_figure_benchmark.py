"""The figure benchmark runs every notebook of an assignment in forked children and reports what it measured."""
import os
import re
import subprocess
import sys

from mle_grading import ASSIGNMENTS
from benchmarks.figure_benchmark import ROOT


def test_every_notebook_is_timed_with_its_figures_counted():
    proc = subprocess.run([sys.executable, "-m", "benchmarks.figure_benchmark", "--repeats", "1",
                           "--parser-per-renderer", "--layout-before-tight-bbox", "--layout-per-pass",
                           "--slowest", "3"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {m[1]: (float(m[2]), float(m[3]), int(m[4]))
            for m in re.finditer(r"^(\S+)\.ipynb\s+([\d.]+)\s+([\d.]+)\s+(\d+)$", proc.stdout, re.M)}
    assert sorted(rows) == sorted(ASSIGNMENTS["mle_losses"])
    for cells, figures, count in rows.values():
        assert count >= 1 and 0 < figures <= cells
    assert "mathtext parser per renderer" in proc.stdout and "a layout pass before the tight bbox" in proc.stdout
    assert "ticks and texts laid out in every pass" in proc.stdout
    assert len(re.findall(r"^\s+[\d.]+ s  \S+\.ipynb", proc.stdout, re.M)) == 3
