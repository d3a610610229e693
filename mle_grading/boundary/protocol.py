"""What a trusted check and a running submission say to each other, and nothing else.

The bottom of the grading library: `checks/` and `sandbox/` both import this
module and neither imports the other.

- `Student`: what a check may ask of a submission (call a function, read a variable).
- `Outcome`: what became of one request, as plain data already checked.
- `InProcessStudent`: a `Student` over a live namespace (`nbgrader validate` of the
  instructor's notebook, and the fast tests); `sandbox.SandboxStudent` is the other.
- `decode_outcome`: the one place where a reply from a submission becomes an
  `Outcome`. It never raises: anything unreadable is an `invalid` outcome, which
  the check then fails.
- `SYMBOLS`: the SymPy symbols of the notebooks' locked cells, by name.
- `CALLABLES`: the scalar functions a check may hand to a student function (defined
  in `wire`, the one file the sandbox also has).
- `INNER_FUNCTIONS`: the student functions each function may build on; both
  transports bind them to trusted versions while the outer one is called (one
  mistake costs once: `wire.call_with_trusted_inner`).

No text a submission produced ever reaches an `Outcome`: not an exception's
message, not printed output, not a repr. `error_type` names an exception class
only if it is one of Python's own; `message` holds the grader's own words.
"""
import ast
import builtins
import copy
import functools
import warnings
from dataclasses import dataclass, field

import numpy as np

from mle_grading.inside_sandbox import trusted_inner, wire
from mle_grading.inside_sandbox.trusted_inner import TRUSTED_INNER

CALLABLES = wire.CALLABLES
OUTCOME_KINDS = ("returned", "raised", "missing", "timeout", "crashed", "invalid")
# Exception classes that may be named back to the student: Python's own, a fixed vocabulary.
BUILTIN_EXCEPTIONS = frozenset(name for name, obj in vars(builtins).items()
                               if isinstance(obj, type) and issubclass(obj, BaseException))
OWN_EXCEPTION = "an exception of its own class"
MAX_ARGS_AFTER = 10


@dataclass
class Outcome:
    """What became of one request to the submission."""
    kind: str                 # one of OUTCOME_KINDS
    value: object = None      # decoded result when kind == "returned"
    error_type: str = ""      # when kind == "raised": a builtin exception's name, or OWN_EXCEPTION
    message: str = ""         # the grader's own words about a timeout, crash or unreadable reply
    args_after: list = field(default_factory=list)  # decoded arguments after the call


# One mistake costs once: the student functions each function may build on. While
# a check calls the outer function, the transport binds these names to trusted
# plain-NumPy versions (`mle_grading.inside_sandbox.trusted_inner`, sent as source with the call) for that one call, so a
# mistake in log_softmax costs log_softmax's cells and not categorical_nll's too.
INNER_FUNCTIONS = {
    "gaussian_nll": ("mse",),
    "sigma2_mle": ("mse",),
    "bce_with_logits": ("sigmoid", "bernoulli_nll"),
    "log_softmax": ("softmax",),
    "categorical_nll": ("log_softmax", "softmax"),
    "logistic_regression_grad": ("bce_grad", "bce_with_logits"),
    # 04 builds on the student's own sigmoid and softmax, copied from 02 and 03: charged there only.
    "bce_grad": ("sigmoid",),
    "mse_sigmoid_grad": ("sigmoid",),
    "softmax_ce_grad": ("softmax",),
}


def trusted_inner_source(names):
    """The source of just the trusted versions of `names` (and the helpers they call), sent with one call.

    A call receives only the inner functions it needs: a submission that reads what
    one call was sent learns those and no other (the whole file would hand it every one).
    """
    names = tuple(sorted(set(names) & set(TRUSTED_INNER)))
    if names not in _TRUSTED_SOURCE:
        _TRUSTED_SOURCE[names] = _source_of(names)
    return _TRUSTED_SOURCE[names]


_TRUSTED_SOURCE = {}


@functools.lru_cache(maxsize=None)
def _compiled(names):
    return compile(trusted_inner_source(names), "trusted_inner", "exec")


def _trusted_inner_code(names):
    return _compiled(tuple(sorted(set(names) & set(TRUSTED_INNER))))


def _source_of(names):
    with open(trusted_inner.__file__) as fh:
        text = fh.read()
    tree = ast.parse(text)
    defs = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    wanted = [TRUSTED_INNER[name].__name__ for name in names]
    keep = set()
    while wanted:   # the defs these need, and the helpers those call by name
        fn = wanted.pop()
        if fn in defs and fn not in keep:
            keep.add(fn)
            wanted.extend(n.id for n in ast.walk(defs[fn]) if isinstance(n, ast.Name) and n.id in defs)
    imports = [ast.get_source_segment(text, node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    bodies = [ast.get_source_segment(text, defs[fn]) for fn in sorted(keep)]
    table = ", ".join(f"{name!r}: {TRUSTED_INNER[name].__name__}" for name in names)
    return "\n".join(imports) + "\n\n" + "\n\n".join(bodies) + f"\n\nTRUSTED_INNER = {{{table}}}\n"


def inner_functions(function, override=None):
    """The names bound to trusted versions while `function` is called (`override`: the check's own choice)."""
    return tuple(INNER_FUNCTIONS.get(function, ())) if override is None else tuple(override)


class Student:
    """What a check may ask of a submission."""

    def call(self, function, *args, return_args=False, trusted_inner=None, **kwargs) -> Outcome:
        """Call a student function; `trusted_inner=()` runs it on the student's own inner functions."""
        raise NotImplementedError

    def variable(self, name) -> Outcome:
        raise NotImplementedError


def exception_name(name):
    """The exception class name as it may be shown: only Python's own are named."""
    return name if isinstance(name, str) and name in BUILTIN_EXCEPTIONS else OWN_EXCEPTION


def decode_outcome(data, symbols=None):
    """A reply (plain data from the submission's side) as an `Outcome`; never raises."""
    try:
        return _decode_outcome(data, SYMBOLS if symbols is None else symbols)
    except wire.WireError as exc:
        return Outcome("invalid", message=str(exc)[:wire.MAX_MESSAGE])
    except Exception:  # noqa: BLE001 - a hostile reply must cost one check, never the run
        return Outcome("invalid", message="its result could not be read")


def _decode_outcome(data, symbols):
    if not isinstance(data, dict):
        raise wire.WireError("the reply is not an object")
    kind = data.get("kind")
    if kind == "missing":
        return Outcome("missing")
    if kind == "raised":
        return Outcome("raised", error_type=exception_name(data.get("error_type")))
    if kind == "returned":
        after = data.get("args_after", [])
        if not isinstance(after, list):
            raise wire.WireError("the reply's arguments are not a list")
        return Outcome("returned", value=wire.decode_result(data.get("value"), symbols),
                       args_after=[wire.decode_result(a, symbols) for a in after[:MAX_ARGS_AFTER]])
    # The worker's own account of a failure quotes student text: say it in our words.
    return Outcome("invalid", message="could not be run, or its result could not be read")


class InProcessStudent(Student):
    """Calls functions of a live namespace, with everything round-tripped through the wire format.

    The round trip makes the in-process answer exactly what the sandbox would
    report: the same decoding, the same limits, the same loss of student text.
    """

    def __init__(self, namespace):
        self.namespace = namespace

    def call(self, function, *args, return_args=False, trusted_inner=None, **kwargs):
        fn = self.namespace.get(function)
        if not callable(fn):
            return Outcome("missing")
        real_args = [wire.decode_arg(copy.deepcopy(wire.encode_arg(a))) for a in args]
        real_kwargs = {k: wire.decode_arg(copy.deepcopy(wire.encode_arg(v))) for k, v in kwargs.items()}
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                names = inner_functions(function, trusted_inner)
                # As in the sandbox: fresh trusted functions for this call, dead after it.
                result = wire.call_with_trusted_source(fn, real_args, real_kwargs, self.namespace, names,
                                                       _trusted_inner_code(names))
        except Exception as exc:  # noqa: BLE001 - the student's exception is the outcome
            return decode_outcome({"kind": "raised", "error_type": type(exc).__name__})
        return self._reply(result, real_args if return_args else [])

    def variable(self, name):
        if name not in self.namespace:
            return Outcome("missing")
        return self._reply(self.namespace[name], [])

    def _reply(self, result, args_after):
        try:
            reply = {"kind": "returned", "value": wire.encode_result(result),
                     "args_after": [wire.encode_arg_after(a) for a in args_after]}
            reply = wire.loads(wire.dumps(reply))
        except Exception:  # noqa: BLE001 - as in the sandbox worker: unreadable, in our words
            reply = {"kind": "invalid"}
        return decode_outcome(reply)


def _symbols():
    import sympy
    return {"y_hat": sympy.Symbol("y_hat", real=True), "y": sympy.Symbol("y", real=True),
            "z": sympy.Symbol("z", real=True), "sigma2": sympy.Symbol("sigma2", positive=True),
            # the three logits of 04's softmax_ce_grad_expr
            **{f"z{k}": sympy.Symbol(f"z{k}", real=True) for k in range(3)}}


class _LazySymbols(dict):
    """SymPy is imported on first use only (the sandbox side never needs it here)."""

    def get(self, key, default=None):
        if not dict.__len__(self):
            self.update(_symbols())
        return super().get(key, default)

    def __getitem__(self, key):
        self.get(key)
        return super().__getitem__(key)


SYMBOLS = _LazySymbols()
