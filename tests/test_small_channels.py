"""The small channels out of the sandbox: what an unreadable reply says, and what a call lends.

(a) A reply that is not valid JSON is reported in the grader's words only: the JSON
parser's account names the error's position, a number the sandbox chose.
(b) A call lends the submission only the trusted inner functions it needs, and only
for that call: a student function that keeps them answers no later call with them.
"""
import re

import numpy as np
import pytest

from mle_grading import checks
from mle_grading.boundary.protocol import InProcessStudent, decode_outcome, trusted_inner_source
from mle_grading.checks import reference as ref
from mle_grading.inside_sandbox import wire
from mle_grading.inside_sandbox.trusted_inner import TRUSTED_INNER
from mle_grading.sandbox.runner import SandboxLimits, SandboxSession, SandboxStudent

# Writes a line of 987,654 spaces and an x to the worker's own protocol pipe: the JSON
# parser's error names column 987655, a number chosen inside the sandbox.
GARBLE = """
import sys
def _garble():
    out = next(m.PROTOCOL_OUT for m in list(sys.modules.values()) if getattr(m, 'PROTOCOL_OUT', None) is not None)
    out.write(' ' * 987654 + 'x\\n')
    out.flush()
"""


def test_an_unreadable_reply_is_described_without_any_number_or_text_of_it():
    with pytest.raises(wire.WireError) as raised:
        wire.loads(" " * 987654 + "LEAKED")
    assert not re.search(r"\d|LEAKED", str(raised.value)), str(raised.value)


def test_a_garbled_reply_during_a_call_or_a_cell_reaches_no_message_with_a_number_of_its_own():
    cells = [GARBLE + "def leak(x):\n    _garble()\n    return 1.0\n", "_garble()\n", "x = 1\n"]
    session = SandboxSession(cells, limits=SandboxLimits())
    try:
        session.start()
        # The cell that garbled the pipe is stopped; what the feedback says of it holds no digit.
        said = [session.skip.get(1, ""), session.cell_reports.get(1, {}).get("error", "")]
        assert any("stopped the notebook's process" in s for s in said), said
        assert not any(re.search(r"\d", s) for s in said), said
        outcome = SandboxStudent(session).call("leak", 0.0)
        assert outcome.kind in ("crashed", "invalid")
        assert not re.search(r"\d", outcome.message), outcome.message
    finally:
        session.close()


def test_the_unreadable_reply_message_of_the_decoder_holds_no_digit():
    outcome = decode_outcome({"kind": "returned", "value": {"kind": "array", "dtype": "float64", "shape": [987654],
                                                           "data": [1.0]}})
    assert outcome.kind == "invalid" and not re.search(r"\d", outcome.message)


# -- (b) what a call lends -----------------------------------------------------

def test_a_call_is_sent_the_source_of_only_the_inner_functions_it_needs():
    source = trusted_inner_source(["mse"])
    assert "_trusted_mse" in source
    assert not any(fn.__name__ in source for name, fn in TRUSTED_INNER.items() if name != "mse")
    scope = {}
    exec(source, scope)
    assert set(scope["TRUSTED_INNER"]) == {"mse"}
    # A trusted function built on a helper carries the helper, and nothing else.
    scope = {}
    exec(trusted_inner_source(["softmax"]), scope)
    np.testing.assert_allclose(scope["TRUSTED_INNER"]["softmax"](np.arange(3.0)), ref.softmax(np.arange(3.0)))
    assert "_trusted_sigmoid" not in trusted_inner_source(["softmax"])


# The student's own log_softmax and softmax are wrong; categorical_nll keeps whatever
# trusted function it is lent (the wrapper, what its closure holds, what the garbage
# collector says it refers to) and the later calls answer with what they kept.
CAPTURE = """
import gc
import numpy as np
_kept = []

def _keep(f):
    _kept.append(f)
    for cell in getattr(f, '__closure__', None) or ():
        try:
            _kept.append(cell.cell_contents)
        except ValueError:
            pass
    _kept.extend(o for o in gc.get_referents(f) if callable(o))

def _answer(name, z):
    for f in list(_kept):
        if callable(f) and getattr(f, '__name__', '') == '_trusted_' + name:
            try:
                return f(z)
            except Exception:
                pass
    return np.zeros_like(np.asarray(z, dtype=float))

def categorical_nll(z, y):
    _keep(log_softmax)
    _keep(softmax)
    z = np.atleast_2d(np.asarray(z, dtype=float))
    y = np.atleast_1d(np.asarray(y)).astype(int)
    return float(-np.mean(log_softmax(z)[np.arange(len(z)), y]))

def log_softmax(z, axis=-1):
    return _answer('log_softmax', z)

def softmax(z, axis=-1):
    return _answer('softmax', z)
"""

HONEST = CAPTURE.replace("    _keep(log_softmax)\n    _keep(softmax)\n", "")
NOTEBOOK = "03_categorical_ce"
LENDING = [gid for nb, gid in checks.load_all() if nb == NOTEBOOK and gid.startswith("categorical_nll")]
ANSWERED = [gid for nb, gid in checks.load_all() if nb == NOTEBOOK and gid.startswith(("log_softmax", "softmax"))]


def passed_after_lending(student):
    lent = [checks.run_check(checks.find(NOTEBOOK, gid), student) for gid in LENDING]
    assert lent.count(None) >= 3, lent   # the outer function itself is right on the trusted inner ones
    return [gid for gid in ANSWERED if checks.run_check(checks.find(NOTEBOOK, gid), student) is None]


def test_a_student_function_that_keeps_the_lent_trusted_functions_earns_nothing_with_them_in_the_sandbox():
    earned = {}
    for name, source in (("honest", HONEST), ("capturing", CAPTURE)):
        session = SandboxSession([source], limits=SandboxLimits())
        try:
            session.start()
            earned[name] = passed_after_lending(SandboxStudent(session))
        finally:
            session.close()
    assert earned["capturing"] == earned["honest"], earned


def test_a_kept_trusted_function_stops_working_when_the_call_returns_in_process_too():
    honest, namespace = {}, {}
    exec(HONEST, honest)
    exec(CAPTURE, namespace)
    assert passed_after_lending(InProcessStudent(namespace)) == passed_after_lending(InProcessStudent(honest))
    kept = namespace["_kept"][0]
    with pytest.raises(wire.Revoked):
        kept(np.zeros(3))
