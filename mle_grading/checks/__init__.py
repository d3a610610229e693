"""Trusted checks: one per graded test cell, keyed by (notebook id, grade_id).

A check never runs student code itself. It asks a `Student` to call a named
function (or read a named variable) and gets back an `Outcome` holding plain data;
it then compares that data with `mle_grading.reference` and with torch, here, in
the trusted process. The same check serves two transports:

- `InProcessStudent`: the notebook's own namespace, for `nbgrader validate` of the
  instructor's source notebook (the hidden-test line of every test cell);
- `mle_grading.sandbox.SandboxStudent`: a submission running in a sandbox, for
  `nbgrader autograde`.

A check passes by returning and fails by raising `CheckFailed` with a message for
the student: it names the behaviour and, where recognised, the likely mistake,
but never the hidden inputs or the reference values.
"""
import copy
import importlib
import warnings
from dataclasses import dataclass, field

import numpy as np

from .. import wire


class CheckFailed(AssertionError):
    """The submission does not show the behaviour this check grades."""


@dataclass
class Outcome:
    """What became of one request to the submission."""
    kind: str                 # returned | raised | missing | timeout | crashed | invalid
    value: object = None      # decoded result when kind == "returned"
    error_type: str = ""
    message: str = ""
    args_after: list = field(default_factory=list)  # decoded arguments after the call


# One mistake costs once: the student functions each function may build on. While
# a check calls the outer function, the transport binds these names to trusted
# implementations (`sandbox.worker.TRUSTED_INNER`), so a mistake in log_softmax
# costs log_softmax's cells and not categorical_nll's as well.
INNER_FUNCTIONS = {
    "gaussian_nll": ("mse",),
    "sigma2_mle": ("mse",),
    "bce_with_logits": ("sigmoid", "bernoulli_nll"),
    "log_softmax": ("softmax",),
    "categorical_nll": ("log_softmax", "softmax"),
    "logistic_regression_grad": ("bce_grad", "bce_with_logits"),
}


def inner_functions(function, override=None):
    """The names bound to trusted versions while `function` is called (`override`: a check's own choice)."""
    return tuple(INNER_FUNCTIONS.get(function, ())) if override is None else tuple(override)


def inner_note(function):
    """Where the mistake lies, for the message of a failed check of an outer function."""
    inner = INNER_FUNCTIONS.get(function)
    if not inner:
        return ""
    names = ", ".join(f"`{n}`" for n in inner)
    return (f" (Checked with trusted versions of {names} in place of any of yours that `{function}` calls, "
            f"so this mistake is in `{function}` itself.)")


class Student:
    """What a check may ask of a submission."""

    def call(self, function, *args, return_args=False, trusted_inner=None, **kwargs) -> Outcome:
        """Call a student function; `trusted_inner=()` runs it on the student's own inner functions."""
        raise NotImplementedError

    def variable(self, name) -> Outcome:
        raise NotImplementedError


# -- the registry -------------------------------------------------------------

@dataclass
class Check:
    notebook: str
    grade_id: str
    behaviour: str
    run: object


REGISTRY = {}
CHECK_MODULES = ("gaussian_mse", "bernoulli_bce", "categorical_ce", "gradients")


def check(notebook, grade_id, behaviour):
    """Register the decorated function as the trusted check of one test cell."""
    def register(fn):
        key = (notebook, grade_id)
        if key in REGISTRY:
            raise RuntimeError(f"two checks for {key}")
        REGISTRY[key] = Check(notebook, grade_id, behaviour, fn)
        return fn
    return register


def load_all():
    for name in CHECK_MODULES:
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    return REGISTRY


def find(notebook, grade_id):
    load_all()
    return REGISTRY.get((notebook, grade_id))


def find_by_grade_id(grade_id):
    load_all()
    matches = [c for (nb, gid), c in REGISTRY.items() if gid == grade_id]
    if len(matches) != 1:
        raise KeyError(f"no unique check for grade_id {grade_id!r}")
    return matches[0]


def run_check(chk, student):
    """Run one check; return None if it passed, else the message for the student."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            chk.run(student)
    except CheckFailed as exc:
        message = str(exc) or f"{chk.behaviour}: failed"
        function = tested_function(chk.grade_id)
        unanswered = "is not defined" in message or "NotImplementedError" in message
        return message + inner_note(function) if function and not unanswered else message
    return None


def tested_function(grade_id):
    """The outer function a grade_id tests (`categorical_nll_seed_value` -> categorical_nll), if it has inner ones."""
    if "_expr_" in grade_id:      # a derivation (gaussian_nll_expr_...), not a call of the function
        return None
    matches = [f for f in INNER_FUNCTIONS if grade_id.startswith(f + "_")]
    return max(matches, key=len) if matches else None


# -- the in-process transport ------------------------------------------------

class InProcessStudent(Student):
    """Calls functions of a live namespace, with results round-tripped through the wire format."""

    callables = None  # filled lazily from the sandbox worker's table

    def __init__(self, namespace):
        self.namespace = namespace

    def _callables(self):
        from ..sandbox import worker
        return worker.CALLABLES

    def call(self, function, *args, return_args=False, trusted_inner=None, **kwargs):
        from ..sandbox.worker import call_with_trusted_inner
        fn = self.namespace.get(function)
        if not callable(fn):
            return Outcome("missing", message=f"`{function}` is not defined")
        table = self._callables()
        enc_args = [wire.encode_arg(a) for a in args]
        enc_kwargs = {k: wire.encode_arg(v) for k, v in kwargs.items()}
        real_args = [wire.decode_arg(copy.deepcopy(a), table) for a in enc_args]
        real_kwargs = {k: wire.decode_arg(copy.deepcopy(v), table) for k, v in enc_kwargs.items()}
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                result = call_with_trusted_inner(fn, real_args, real_kwargs, self.namespace,
                                                 inner_functions(function, trusted_inner))
        except Exception as exc:
            return Outcome("raised", error_type=type(exc).__name__, message=str(exc)[:wire.MAX_MESSAGE])
        return self._decode(result, real_args if return_args else [])

    def variable(self, name):
        if name not in self.namespace:
            return Outcome("missing", message=f"`{name}` is not defined")
        return self._decode(self.namespace[name], [])

    def _decode(self, result, args_after):
        try:
            value = wire.decode_result(wire.loads(wire.dumps(wire.encode_result(result))), SYMBOLS)
            after = [wire.decode_result(wire.loads(wire.dumps(wire.encode_arg_after(a)))) for a in args_after]
        except wire.WireError as exc:
            return Outcome("invalid", message=str(exc))
        return Outcome("returned", value=value, args_after=after)


def _symbols():
    import sympy
    return {"y_hat": sympy.Symbol("y_hat", real=True), "y": sympy.Symbol("y", real=True),
            "z": sympy.Symbol("z", real=True), "sigma2": sympy.Symbol("sigma2", positive=True),
            # the three logits of 04's softmax_ce_grad_expr
            **{f"z{k}": sympy.Symbol(f"z{k}", real=True) for k in range(3)}}


class _LazySymbols(dict):
    def get(self, key, default=None):
        if not self:
            self.update(_symbols())
        return super().get(key, default)


SYMBOLS = _LazySymbols()
