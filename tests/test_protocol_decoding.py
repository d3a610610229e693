"""What crosses from a submission to the grader is decoded safely and never speaks in the student's words.

`protocol.decode_outcome` is the one door for every reply of the sandbox (and of
the in-process transport): a hostile reply must become a failed check, quickly,
and no text the submission chose may reach a check's message.
"""
import sympy
import pytest

from mle_grading import checks
from mle_grading.inside_sandbox import wire
from mle_grading.checks.tree_value import value_at
from mle_grading.boundary.protocol import OWN_EXCEPTION, InProcessStudent, decode_outcome

from notebook_namespace import graded_cell_ids, graded_notebooks

MARKER = "LEAKED_0_123456"


def nested(depth):
    tree = ["Symbol", "z"]
    for _ in range(depth):
        tree = ["exp", [tree]]
    return tree


HOSTILE_REPLIES = {
    "not an object": ["returned", 1.0],
    "a kind of its own": {"kind": MARKER},
    "the worker's own account of a failure": {"kind": "invalid", "message": MARKER},
    "an exception message": {"kind": "raised", "error_type": "ValueError", "message": MARKER},
    "an exception class of its own": {"kind": "raised", "error_type": MARKER},
    "an exception class that is not a string": {"kind": "raised", "error_type": ["ValueError"]},
    "an unsupported value named by its type": {"kind": "returned", "value": {"kind": "unsupported", "type": MARKER}},
    "an array whose data is text": {"kind": "returned", "value": {"kind": "array", "dtype": "float64", "shape": [1],
                                                                   "data": [MARKER]}},
    "an array larger than its shape": {"kind": "returned", "value": {"kind": "array", "dtype": "float64",
                                                                      "shape": [2], "data": [1.0, 2.0, 3.0]}},
    "arguments after the call that are not a list": {"kind": "returned", "value": {"kind": "none"},
                                                     "args_after": MARKER},
    "3 ** (10 ** 9)": {"kind": "returned", "value": {"kind": "sympy", "tree": [
        "Pow", [["Integer", "3"], ["Integer", str(10 ** 9)]]]}},
    "an integer of a million digits": {"kind": "returned", "value": {"kind": "sympy", "tree": [
        "Integer", "9" * 1_000_000]}},
    "a tree nested ten thousand deep": {"kind": "returned", "value": {"kind": "sympy", "tree": nested(10_000)}},
    "a tree of too many nodes": {"kind": "returned", "value": {"kind": "sympy", "tree": [
        "Add", [["Symbol", "z"]] * (wire.MAX_TREE_NODES + 1)]}},
    "a SymPy class that is not accepted": {"kind": "returned", "value": {"kind": "sympy", "tree": [
        "Integral", [["Symbol", "z"]]]}},
    "a function name of its own": {"kind": "returned", "value": {"kind": "sympy", "tree": [MARKER, [["Symbol", "z"]]]}},
    "a rational with denominator 0": {"kind": "returned", "value": {"kind": "sympy", "tree": ["Rational", "1", "0"]}},
    "a symbol name that is code": {"kind": "returned", "value": {"kind": "sympy", "tree": [
        "Symbol", "__import__('os').system('true')"]}},
}


@pytest.mark.parametrize("reply", list(HOSTILE_REPLIES.values()), ids=list(HOSTILE_REPLIES))
def test_a_hostile_reply_decodes_to_an_outcome_that_quotes_nothing_of_it(reply):
    outcome = decode_outcome(reply)
    assert outcome.kind in ("invalid", "raised", "returned")
    if outcome.kind == "returned":
        assert reply.get("kind") == "returned" and outcome.value is None
    text = f"{outcome.message} {outcome.error_type}"
    assert MARKER not in text
    if outcome.kind == "raised":
        assert outcome.error_type in ("ValueError", OWN_EXCEPTION)


@pytest.mark.parametrize("name", ["3 ** (10 ** 9)", "an integer of a million digits", "a tree nested ten thousand deep",
                                  "a tree of too many nodes", "a SymPy class that is not accepted"])
def test_an_expression_bomb_is_refused_as_invalid(name):
    assert decode_outcome(HOSTILE_REPLIES[name]).kind == "invalid"


def test_a_decoded_expression_is_rebuilt_without_evaluating_it():
    tree = ["Pow", [["Integer", "3"], ["Integer", "999999"]]]
    value = decode_outcome({"kind": "returned", "value": {"kind": "sympy", "tree": tree}}).value
    assert isinstance(value, sympy.Pow) and value.args == (sympy.Integer(3), sympy.Integer(999999))


@pytest.mark.parametrize("expression", [
    sympy.Pow(sympy.Integer(3), sympy.Integer(999999), evaluate=False),
    sympy.exp(sympy.exp(sympy.exp(sympy.Integer(1000), evaluate=False), evaluate=False), evaluate=False),
    sympy.sin(sympy.Pow(sympy.Integer(10), sympy.Integer(400), evaluate=False), evaluate=False),
    sympy.log(sympy.Integer(0), evaluate=False),
    sympy.Integral(sympy.Symbol("z"), sympy.Symbol("z")),
    sympy.Mul(sympy.Float("nan"), sympy.Symbol("z"), evaluate=False),
    sympy.Mul(sympy.I, sympy.Float("1e150"), sympy.Float("1e150"), evaluate=False),   # complex, too large
    sympy.Add(sympy.I, sympy.Symbol("z") / sympy.Float("1e-250"), evaluate=False),
])
def test_bounded_evaluation_gives_up_on_values_out_of_range(expression):
    assert value_at(expression, {sympy.Symbol("z"): 1.0}) is None


def test_bounded_evaluation_agrees_with_sympy_on_an_ordinary_expression():
    z, y = sympy.Symbol("z"), sympy.Symbol("y")
    expression = sympy.log(1 + sympy.exp(-z)) + y * z / 3 - sympy.Max(z, y) ** 2
    point = {z: 0.7, y: -1.3}
    assert abs(value_at(expression, point) - complex(expression.subs(point).evalf(30))) < 1e-12


def _speaking_submission():
    """Every contract name, each putting MARKER everywhere it can: messages, class names, reprs, prints."""
    code = f'''
import warnings
MARKER = {MARKER!r}

class Speaking:
    def __repr__(self):
        return MARKER
    __str__ = __repr__
    def __array__(self, *args, **kwargs):
        raise TypeError(MARKER)

Leak = type(MARKER, (ValueError,), {{}})

def speaks(kind):
    def function(*args, **kwargs):
        print(MARKER, args)
        warnings.warn(MARKER)
        if kind == 0:
            raise ValueError(MARKER + repr(args))
        if kind == 1:
            raise Leak(repr(args))
        if kind == 2:
            return Speaking()
        return MARKER + repr(args)
    return function
'''
    namespace = {}
    exec(code, namespace)
    return namespace


@pytest.mark.parametrize("kind", [0, 1, 2, 3], ids=["message", "class name", "repr", "string"])
def test_no_check_message_holds_text_the_submission_produced(kind):
    namespace = _speaking_submission()
    functions = {}
    for _, notebook in graded_notebooks():
        for gid in graded_cell_ids(notebook):
            functions[gid] = notebook
    student = InProcessStudent(namespace)
    names = ("mse", "gaussian_nll", "sigma2_mle", "laplace_nll", "sigmoid", "bernoulli_nll", "bce_with_logits",
             "softmax", "log_softmax", "categorical_nll", "numerical_grad", "bce_grad", "mse_sigmoid_grad",
             "softmax_ce_grad", "relative_error")
    for name in names:
        namespace[name] = namespace["speaks"](kind)
    for gid, notebook in functions.items():
        message = checks.run_check(checks.find(notebook, gid), student, "student", "mle_losses")
        assert message is not None and MARKER not in message, (gid, message)
