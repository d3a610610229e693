"""Plain-data encoding of what crosses the sandbox boundary.

Arguments go in and results come out as JSON of numbers, strings and lists only (the
grader's own array arguments as base64 of their bytes, decoded only in the sandbox).
`decode_*` runs on the trusted side and trusts nothing: every field is checked and
every size is bounded, so a hostile worker can at worst report a wrong answer.
The sandbox worker imports this module by path, so it needs NumPy only (SymPy is
imported lazily, where a SymPy value is met). For the same reason the scalar
functions a check may hand to a student function (`CALLABLES`) live here: the
worker and the trusted side must agree on them, and this is the one file both have.

A SymPy tree from the sandbox is rebuilt with `evaluate=False` and bounded in node
count, depth and the size of every number, so decoding never computes anything:
`Pow(3, 10**9)` or a tree nested a million deep is refused at once, never evaluated.
Message texts here are the grader's own: they never quote what the other side sent.
"""
import base64
import json
import math
import re
import types

import numpy as np

MAX_ELEMENTS = 1_000_000
MAX_TREE_NODES = 5_000
MAX_TREE_DEPTH = 60
MAX_INTEGER_DIGITS = 6     # integers and rational parts in a SymPy answer: |n| < 10**6
MAX_MESSAGE = 2_000
MAX_SEQUENCE = 16  # items of a tuple or list result that is not one array: (grad_w, grad_b), [expr, ...]
ARRAY_DTYPES = ("float64", "float32", "int64", "int32", "bool")
SYMBOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,30}$")
SYMPY_FUNCTIONS = ("Add", "Mul", "Pow", "log", "exp", "Abs", "sin", "cos", "tanh", "sinh",
                   "cosh", "sign", "Max", "Min")
SYMPY_CONSTANTS = ("Pi", "Exp1", "Infinity", "NegativeInfinity", "ImaginaryUnit")


class WireError(ValueError):
    """The other side sent something that is not valid plain data."""


# -- the scalar functions a check may pass as an argument (numerical_grad's `f`) --

def _sum_of_squares(x):
    return float(np.sum(np.asarray(x, dtype=np.float64) ** 2))


def _weighted_cubic(x):
    x = np.asarray(x, dtype=np.float64)
    w = np.arange(1, x.size + 1, dtype=np.float64).reshape(x.shape)
    return float(np.sum(w * x ** 3) + np.prod(np.cos(x)))


def _log_sum_exp(x):
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x)
    return float(m + np.log(np.sum(np.exp(x - m))))


def _bce_sum_alternating_labels(x):
    # Labels fixed by position: 1 at even positions, 0 at odd ones.
    z = np.asarray(x, dtype=np.float64).ravel()
    y = (np.arange(z.size) % 2 == 0).astype(np.float64)
    return float(np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def _row_log_sum_exp(x):
    # Sum over the rows (last axis) of each row's log-sum-exp: couples the elements of a row.
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    m = np.max(x, axis=-1, keepdims=True)
    return float(np.sum(m[..., 0] + np.log(np.sum(np.exp(x - m), axis=-1))))


CALLABLES = {
    "sum_of_squares": _sum_of_squares,
    "weighted_cubic": _weighted_cubic,
    "log_sum_exp": _log_sum_exp,
    "bce_sum_alternating_labels": _bce_sum_alternating_labels,
    "row_log_sum_exp": _row_log_sum_exp,
}


# -- one mistake costs once: trusted inner functions, bound for one call ----------
# The trusted versions themselves live in mle_grading/inside_sandbox/trusted_inner.py, which the
# sandbox never has as a file: their source comes with the one call that needs them
# (a file beside the worker would hand students working answers).
_ABSENT = object()


class Revoked(RuntimeError):
    """A trusted inner function was used after the call it was lent to had returned."""


def _revoked(*_, **__):   # its code replaces a lent function's: it must need no module scope
    raise RuntimeError("a trusted inner function is usable only during the call it was lent to")


def _lend(fn, lent):
    def trusted(*args, **kwargs):
        if not lent:
            raise Revoked("a trusted inner function is usable only during the call it was lent to")
        return fn(*args, **kwargs)
    trusted.__name__ = trusted.__qualname__ = getattr(fn, "__name__", "trusted")
    return trusted


def call_with_trusted_inner(fn, args, kwargs, namespace, names, table):
    """Call fn with each name of `names` lent a trusted version from `table` in `namespace`; undo it afterwards.

    An inner function the submission lacks (never written, or lost to a syntax error)
    is supplied too: its absence is charged to its own cells, not again to the outer
    function. Each old binding is restored, or the name removed, even if fn raises.
    What the namespace holds is a wrapper that stops working when the call returns:
    a student function that keeps it answers no later call with it.
    """
    saved, lent = {}, [True]
    try:
        for name in names:
            if name in table:
                saved[name] = namespace.get(name, _ABSENT)
                namespace[name] = _lend(table[name], lent)
        return fn(*args, **kwargs)
    finally:
        lent.clear()
        for name, old in saved.items():
            if old is _ABSENT:
                namespace.pop(name, None)
            else:
                namespace[name] = old


def call_with_trusted_source(fn, args, kwargs, namespace, names, source):
    """`call_with_trusted_inner` on functions built from `source` (text, or its code) for this one call.

    Afterwards they are emptied, not only unbound: each one's code is replaced by one that
    raises and their module scope is cleared, so a function reached through the lent
    wrapper (its closure, the garbage collector) is as dead as the wrapper.
    """
    if not names:
        return fn(*args, **kwargs)
    scope = {"__name__": "trusted_inner"}
    code = compile(source, "trusted_inner", "exec") if isinstance(source, str) else source
    del source
    exec(code, scope)   # noqa: S102 - our own code, sent by the grader
    try:
        return call_with_trusted_inner(fn, args, kwargs, namespace, names, scope["TRUSTED_INNER"])
    finally:
        for value in list(scope.values()):
            if isinstance(value, types.FunctionType):
                value.__code__ = _revoked.__code__
                value.__defaults__ = value.__kwdefaults__ = None
        scope.clear()


# -- arguments: trusted side encodes, sandbox decodes --------------------------

def encode_arg(value):
    if isinstance(value, Callable):
        return {"kind": "callable", "name": value.name}
    if isinstance(value, np.ndarray):
        if value.dtype.name in ARRAY_DTYPES:
            # The grader's own arrays travel as their bytes (little-endian), exact and about ten
            # times cheaper than decimal text: a training run sends its features at every step.
            raw = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()
            return {"kind": "array", "dtype": value.dtype.name, "shape": list(value.shape),
                    "base64": base64.b64encode(raw).decode("ascii")}
        return _encode_array(value)
    return {"kind": "py", "value": value}


class Callable:
    """A scalar function argument, named from the sandbox worker's fixed table."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"Callable({self.name!r})"


def decode_arg(data, callables=CALLABLES):
    if data["kind"] == "callable":
        return callables[data["name"]]
    if data["kind"] == "array":
        if "base64" in data:
            little_endian = np.dtype(data["dtype"]).newbyteorder("<")
            raw = base64.b64decode(data["base64"])
            # astype copies: a writable array in this machine's byte order, as np.array gives
            return np.frombuffer(raw, dtype=little_endian).astype(data["dtype"]).reshape(data["shape"])
        return np.array(data["data"], dtype=data["dtype"]).reshape(data["shape"])
    return data["value"]


# -- results: sandbox encodes, trusted side decodes ----------------------------

def _encode_array(arr):
    data = arr.ravel().tolist()   # Python floats, bools and ints for these kinds
    if arr.dtype.kind not in "fbiu":
        data = [int(v) for v in data]   # a complex or object array fails here, as it always did
    return {"kind": "array", "dtype": arr.dtype.name, "shape": list(arr.shape), "data": data}


def encode_result(value):
    """Turn whatever a student function returned into plain data (runs in the sandbox)."""
    try:
        import sympy
        if isinstance(value, sympy.Basic):
            return {"kind": "sympy", "tree": _encode_sympy(value, [0])}
        if isinstance(value, sympy.MatrixBase) and len(value) <= MAX_SEQUENCE:
            return {"kind": "seq", "items": [encode_result(v) for v in value]}
    except ImportError:
        pass
    if value is None:
        return {"kind": "none"}
    if isinstance(value, str):
        return {"kind": "unsupported", "type": "str"}
    if isinstance(value, tuple) and _short_sequence(value):
        # A tuple of results, such as the (dW, db) of a gradient: each item on its own, even when
        # the items have one shape (np.asarray would stack them into one array).
        return {"kind": "seq", "items": [encode_result(v) for v in value]}
    try:
        arr = np.asarray(value)
    except Exception as exc:  # a student object that refuses conversion, or a ragged tuple
        if _short_sequence(value):
            return {"kind": "seq", "items": [encode_result(v) for v in value]}
        return {"kind": "unsupported", "type": type(value).__name__, "why": str(exc)[:200]}
    if arr.dtype.kind == "O" and _short_sequence(value):
        return {"kind": "seq", "items": [encode_result(v) for v in value]}
    if arr.dtype.name not in ARRAY_DTYPES:
        if arr.dtype.kind in "iu":
            arr = arr.astype(np.int64)
        elif arr.dtype.kind == "f":
            arr = arr.astype(np.float64)
        else:
            return {"kind": "unsupported", "type": type(value).__name__, "dtype": arr.dtype.name}
    if arr.size > MAX_ELEMENTS:
        return {"kind": "unsupported", "type": type(value).__name__, "why": "too many elements"}
    return _encode_array(arr)


def _short_sequence(value):
    # A tuple or list that is not one array (items of different shapes, or SymPy
    # expressions) travels item by item.
    return isinstance(value, (tuple, list)) and 0 < len(value) <= MAX_SEQUENCE


def encode_arg_after(value):
    """An argument as it is after a call: function arguments (numerical_grad's `f`) come back as None."""
    if callable(value) and not isinstance(value, np.ndarray):
        return {"kind": "none"}
    return encode_result(value)


def _encode_sympy(expr, count):
    import sympy
    count[0] += 1
    if count[0] > MAX_TREE_NODES:
        raise WireError("expression too large")
    if isinstance(expr, sympy.Integer):
        return ["Integer", str(int(expr))]
    if isinstance(expr, sympy.Rational):
        return ["Rational", str(expr.p), str(expr.q)]
    if isinstance(expr, sympy.Float):
        return ["Float", repr(float(expr))]
    if isinstance(expr, sympy.Symbol):
        return ["Symbol", expr.name]
    name = type(expr).__name__
    if name in SYMPY_CONSTANTS:
        return [name]
    return [name, [_encode_sympy(a, count) for a in expr.args]]


def decode_result(data, symbols=None):
    """Check and rebuild a result from plain data (runs on the trusted side).

    Returns a NumPy array, None, a SymPy expression built only from whitelisted
    classes, or a tuple of these (a tuple or list result that is not one array).
    Raises WireError for anything else.
    """
    if not isinstance(data, dict):
        raise WireError("result is not an object")
    kind = data.get("kind")
    if kind == "none":
        return None
    if kind == "array":
        return _decode_array(data)
    if kind == "sympy":
        return _decode_sympy(data.get("tree"), symbols or {}, [0], 0)
    if kind == "seq":
        items = data.get("items")
        if not isinstance(items, list) or not 0 < len(items) <= MAX_SEQUENCE:
            raise WireError("sequence result of an invalid length")
        decoded = [decode_result(item, symbols) for item in items]
        if any(isinstance(item, tuple) for item in decoded):
            raise WireError("nested sequences are not accepted")
        return tuple(decoded)
    if kind == "unsupported" and data.get("type") == "ndarray" and data.get("dtype") == "object":
        raise WireError("returned a NumPy array of dtype object (an array of Python objects, as np.frompyfunc "
                        "or dtype=object make), not an array of numbers: return a float array, for example "
                        "with np.asarray(..., dtype=float)")
    if kind == "unsupported":
        raise WireError("returned a value that is not a number, an array or a SymPy expression")
    raise WireError("result of unknown kind")


def _decode_array(data):
    dtype, shape, values = data.get("dtype"), data.get("shape"), data.get("data")
    if dtype not in ARRAY_DTYPES:
        raise WireError("array of an unexpected dtype")
    if (not isinstance(shape, list) or len(shape) > 8
            or not all(type(n) is int and 0 <= n <= MAX_ELEMENTS for n in shape)):
        raise WireError("array with an invalid shape")
    if not isinstance(values, list) or len(values) != math.prod(shape) or len(values) > MAX_ELEMENTS:
        raise WireError("array data does not match its shape")
    allowed = (bool,) if dtype == "bool" else (int, float)
    if not all(type(v) in allowed for v in values):
        raise WireError("array data holds something that is not a number")
    return np.array(values, dtype=dtype).reshape(shape)


def _bounded_int(text):
    if not isinstance(text, str) or not re.fullmatch(r"-?[0-9]{1,%d}" % MAX_INTEGER_DIGITS, text):
        raise WireError(f"the expression holds a number that is not an integer below 10**{MAX_INTEGER_DIGITS}")
    return int(text)


def _decode_sympy(node, symbols, count, depth):
    import sympy
    count[0] += 1
    if count[0] > MAX_TREE_NODES:
        raise WireError(f"the expression has more than {MAX_TREE_NODES} nodes")
    if depth > MAX_TREE_DEPTH:
        raise WireError(f"the expression is nested more than {MAX_TREE_DEPTH} levels deep")
    if not isinstance(node, list) or not node or not isinstance(node[0], str):
        raise WireError("malformed expression")
    head = node[0]
    if head == "Integer" and len(node) == 2:
        return sympy.Integer(_bounded_int(node[1]))
    if head == "Rational" and len(node) == 3:
        p, q = _bounded_int(node[1]), _bounded_int(node[2])
        if q == 0:
            raise WireError("malformed number in expression")
        return sympy.Rational(p, q)
    if head == "Float" and len(node) == 2 and isinstance(node[1], str) and len(node[1]) <= 40:
        try:
            return sympy.Float(float(node[1]))
        except ValueError:
            raise WireError("malformed number in expression")
    if head == "Symbol":
        name = node[1] if len(node) > 1 else None
        if not isinstance(name, str) or not SYMBOL_NAME.match(name):
            raise WireError("invalid symbol name")
        return symbols.get(name) or sympy.Symbol(name)
    if head in SYMPY_CONSTANTS:
        return {"Pi": sympy.pi, "Exp1": sympy.E, "Infinity": sympy.oo,
                "NegativeInfinity": -sympy.oo, "ImaginaryUnit": sympy.I}[head]
    if head in SYMPY_FUNCTIONS and len(node) == 2 and isinstance(node[1], list) and node[1]:
        args = [_decode_sympy(a, symbols, count, depth + 1) for a in node[1]]
        try:
            # evaluate=False: nothing is computed while the tree is rebuilt (no 3**(10**9)).
            return getattr(sympy, head)(*args, evaluate=False)
        except (TypeError, ValueError):
            raise WireError("malformed expression")
    # Name the head only when it is a real SymPy class: never echo the other side's text.
    known = head if re.fullmatch(r"[A-Za-z]{1,30}", head) and hasattr(sympy, head) else "a function"
    raise WireError(f"the expression uses {known}, which is not accepted here")


# -- framing --------------------------------------------------------------------

def dumps(message):
    return json.dumps(message, allow_nan=True, separators=(",", ":"))


def loads(text, limit=64 * 1024 * 1024):
    if len(text) > limit:
        raise WireError("message too large")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        # Nothing of the parser's account: its error position is a number the sender chose.
        raise WireError("the reply is not valid JSON") from None
