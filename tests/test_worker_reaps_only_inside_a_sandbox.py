"""The worker kills the processes a cell left behind only inside a sandbox, never on the host.

Run outside the sandbox (the worker module imported by a test or a benchmark), reaping would
kill every process of the machine. The check runs in a PID namespace of its own (unshare), so
that, were the guard missing, only that namespace's processes would die and the test would fail.
"""
import os
import shutil
import subprocess
import sys

import pytest

from course_copy import ROOT

PROGRAM = r'''
import subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from mle_grading.inside_sandbox import worker
neighbour = subprocess.Popen(["sleep", "60"])
time.sleep(0.2)
worker._reap_children()
time.sleep(0.2)
print("alive" if neighbour.poll() is None else "killed")
neighbour.kill()
'''


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare")
def test_reaping_outside_a_sandbox_kills_nothing():
    proc = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", PROGRAM, ROOT],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "alive", proc.stdout


LEAVE_A_PROCESS = "import subprocess\nsubprocess.Popen(['sleep', '100'])"
COUNT_PROCESSES = ("import os\nprint(sum(1 for p in os.listdir('/proc') if p.isdigit() and "
                   "open(f'/proc/{p}/cmdline').read().startswith('sleep')))")


@pytest.mark.skipif(os.geteuid() != 0, reason="the sandboxes are built when grading as root")
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_inside_a_sandbox_a_process_left_by_one_cell_is_gone_before_the_next(warm):
    from mle_grading.sandbox.runner import SandboxLimits, SandboxSession
    session = SandboxSession([LEAVE_A_PROCESS, COUNT_PROCESSES], None, SandboxLimits(warm=warm))
    try:
        session.start()
    finally:
        session.close()
    report = session.cell_reports[1]
    assert not report["error"], report
    assert report["stdout"].strip() == "0", report
