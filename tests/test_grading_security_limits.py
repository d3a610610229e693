"""Every grading limit has one home: a SandboxLimits trait, set in course_config.py, quoted in the README."""
import os
import re

from mle_grading.nbgrader_integration.preprocessors import TrustedGrading
from mle_grading.sandbox.runner import SandboxLimits, configured_limits

from course_copy import ROOT


def readme_limits():
    """{trait: value} of the README's "Grading limits" table."""
    text = open(os.path.join(ROOT, "README.md")).read()
    section = text.split("### Grading limits", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, re.M)
    return {name: eval(value.strip(), {"__builtins__": {}, "True": True, "False": False}) for name, value in rows}


def limit_traits():
    return set(SandboxLimits.class_traits(config=True))


def test_the_readme_table_lists_every_limit_once_with_the_configured_value():
    table = readme_limits()
    assert set(table) == limit_traits()
    configured = configured_limits(ROOT)
    assert {name: getattr(configured, name) for name in table} == table


def test_course_config_sets_every_limit():
    source = open(os.path.join(ROOT, "course_config.py")).read()
    assert set(re.findall(r"^c\.SandboxLimits\.(\w+) =", source, re.M)) == limit_traits()


def test_the_grader_reads_its_limits_from_the_configuration():
    from traitlets.config import Config
    config = Config()
    config.SandboxLimits.cell_timeout = 7.5
    config.SandboxLimits.notebook_timeout = 42.0
    limits = SandboxLimits(parent=TrustedGrading(config=config))
    assert (limits.cell_timeout, limits.notebook_timeout) == (7.5, 42.0)


def test_no_limit_is_also_a_trait_of_trusted_grading():
    assert not limit_traits() & set(TrustedGrading.class_traits(config=True))
    assert not {"cell_timeout", "call_timeout", "memory_limit", "process_limit", "notebook_budget"} \
        & set(TrustedGrading.class_traits(config=True))


def test_parallel_grading_copies_no_sandbox_limit_by_hand():
    # Each grading process claims its own uid slot (sandbox_uid, below): nothing to copy.
    for module in ("operations/parallel.py", "nbgrader_integration/run.py", "operations/pipeline.py"):
        source = open(os.path.join(ROOT, "mle_grading", module)).read()
        assert not re.search(r"(SLOTS|uid_base|uid_slots|cell_timeout|memory_bytes)\s*=\s*\d", source), module


CLAIM_UID = """
import sys, time
from mle_grading.sandbox.runner import SandboxLimits, SandboxUnavailable, sandbox_uid
try:
    print(sandbox_uid(SandboxLimits(uid_slots=2)), flush=True)
except SandboxUnavailable as exc:
    print("refused:", exc, flush=True)
time.sleep(float(sys.argv[1]))
"""


def test_two_grading_processes_never_share_a_sandbox_uid_whatever_their_pids():
    import subprocess
    import sys
    holders = [subprocess.Popen([sys.executable, "-c", CLAIM_UID, "6"], stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    try:
        uids = [p.stdout.readline().strip() for p in holders]
        assert all(u.isdigit() for u in uids) and len(set(uids)) == 2, uids   # two slots, two processes
        third = subprocess.run([sys.executable, "-c", CLAIM_UID, "0"], capture_output=True, text=True)
        assert third.stdout.startswith("refused:") and "slots are in use" in third.stdout
    finally:
        for p in holders:
            p.kill()
            p.wait()
