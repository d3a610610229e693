"""The one way a check calls a student function, judges its value and explains a mistake.

Usage, in a notebook's check module (see `gaussian_mse.py` for a whole one)::

    from .api import call, judge, trusted, expect_raises, F32
    from . import check

    @check(NB, "mse_seed_value", "mse on the notebook's demonstration data")
    def mse_seed_value(student, rng):          # rng: this student's hidden-input generator
        y_pred, y = rng.normal(size=7), rng.normal(size=7)
        what = "`mse` on inputs of shape (7,)"
        want = trusted(ref.mse, tref.mse, y_pred, y)        # reference, guarded by torch
        got = call(student, "mse", y_pred, y, what=what, scalar=True)
        judge(got, want, what, mistakes=[(np.sum((y - y_pred) ** 2), "this is the sum ...")])

- `call` returns the result as a float64-comparable NumPy array (a float when
  `scalar=True`) or raises `CheckFailed` saying what went wrong: not defined,
  raised (the exception's class only, never its text), timed out, returned None,
  returned an expression, returned an array where a loss is one number.
  `hint=` adds advice when the function raised: a string, or a function of the
  exception's class name.
- `trusted(reference, torch_version, *args)` is the reference value after checking
  that torch agrees on the same input; a disagreement raises `ReferenceDisagrees`
  (a RuntimeError: our bug, which stops grading loudly, never the student's fault).
  Pass `None` as torch_version where torch has no such function or differs by design.
- `judge(got, want, what, mistakes)` passes when `got` is close to `want`;
  otherwise it fails, naming the first recognised mistake whose value `got` matches
  (`mistakes` is a list of (value that mistake gives, message)); `nonfinite=`,
  `explain=`, `fallback=` and `shape_hint=` refine the message.
- `recognised(got, want, mistakes)` is the weaker test a property check uses to
  demand a real computation: the value is right, or it is one of the recognised
  mistakes (which the value checks charge, so a mistake costs once).
- `expect_raises` demands the named exception (families.rejects also demands a
  value on valid input: always raising must not pass).

Messages are the grader's own words: they may name the function, the kind of
input and the mistake, never the hidden inputs, the reference values or any text
the submission produced. The families of checks every graded function gets
(matches torch on many shapes, extreme inputs, lists/scalars/float32, invalid input
raises) are in `families.py`, instantiated from a table.
"""
import numpy as np

from mle_grading.checks import CheckFailed, ReferenceDisagrees, naming_the_mistake

RTOL, ATOL = 1e-6, 1e-8           # the contract's float64 tolerance
F32 = {"rtol": 1e-5, "atol": 1e-6}   # float32 inputs: compared with the exact answer for those values
TORCH_RTOL, TORCH_ATOL = 1e-9, 1e-12  # how closely the reference and torch must agree

LISTS_HINT = ("Python lists and floats are valid inputs: convert them with np.asarray(..., dtype=float) "
              "before computing.")
# What raises on a Python number but not on arrays is rarely a missing conversion (a float has
# arithmetic): it is a 0-d array's lack of axes, of len() and of .shape[0].
NUMBER_HINT = ("A Python number is a valid input: after np.asarray it is a 0-d array, which has no axis to "
               "reduce over (axis=0), no len(), no .shape[0] and no index. A loss reduces over all elements "
               "(np.mean without axis=, or the sum divided by .size); an elementwise function treats it as "
               "any array.")
ONE_AXIS = ("returned an array with one axis fewer than its input: it reduces over one axis only (axis=0 or "
            "similar). A loss is one number, the mean over all elements: np.mean without axis=, or the sum "
            "divided by .size.")
ROWS = ("this divides the sum by the number of rows (len, or .shape[0]); on input of several axes the loss is "
        "the mean over all elements: divide by .size, or use np.mean.")
INTEGER_RESULT = ("the result has an integer dtype, so its fractional values were truncated: np.empty_like, "
                  "np.zeros_like and assignment into an array keep the dtype of an integer input (a Python list "
                  "of ints). Integer inputs are valid, as every array-like is: convert with np.asarray(..., "
                  "dtype=float) first.")


def number_hint(error_type):
    """Advice when a function raised on Python numbers: an AttributeError is a missing conversion."""
    return LISTS_HINT if error_type == "AttributeError" else NUMBER_HINT


def divided_by_rows(per_element):
    """The value a loss gives that divides the sum of these per-element terms by the number of rows."""
    per_element = np.asarray(per_element, dtype=np.float64)
    if per_element.ndim < 2 or per_element.shape[0] in (0, per_element.size):
        return []
    return [(np.sum(per_element) / per_element.shape[0], ROWS)]


def f64(x):
    return np.asarray(x, dtype=np.float64)


# -- calling ---------------------------------------------------------------------

def describe_failure(function, outcome):
    """Why a request did not return a value, in the grader's words only."""
    if outcome.kind == "missing":
        return f"`{function}` is not defined: run the cell that defines it, and keep its name."
    if outcome.kind == "raised" and outcome.error_type == "NotImplementedError":
        return f"`{function}` raised NotImplementedError: the answer has not been written yet."
    if outcome.kind == "raised":
        return f"`{function}` raised {outcome.error_type}."
    if outcome.kind == "timeout":
        return f"`{function}` did not return within the time limit (an infinite loop?)."
    if outcome.kind == "crashed":
        return f"the notebook's process died while `{function}` ran."
    if outcome.kind == "invalid":
        return f"`{function}` {outcome.message or 'returned something that could not be read'}."
    return f"`{function}` could not be run."


def call(student, function, *args, what, hint="", scalar=False, **kwargs):
    """Call a student function; return its value (an array, or a float if `scalar`), or fail."""
    return value_of(student.call(function, *args, **kwargs), function, what, hint=hint, scalar=scalar, args=args)


def _one_axis_fewer(shape, args):
    """Is `shape` the shape of one of `args` with one axis removed?"""
    for a in args:
        s = np.shape(a) if isinstance(a, (np.ndarray, list, tuple)) else ()
        if len(s) == len(shape) + 1 and any(s[:k] + s[k + 1:] == tuple(shape) for k in range(len(s))):
            return True
    return False


def value_of(outcome, function, what, hint="", scalar=False, args=()):
    """The value an outcome holds, or a failure naming what went wrong."""
    if outcome.kind != "returned":
        message = describe_failure(function, outcome)
        if outcome.kind == "raised" and callable(hint):
            hint = hint(outcome.error_type)
        if outcome.kind == "raised" and hint:
            message = f"{message.rstrip('. ')}. {hint}"
        raise CheckFailed(f"{what}: {message}")
    value = outcome.value
    if value is None:
        raise CheckFailed(f"{what}: `{function}` returned None: did you forget `return`?")
    if not isinstance(value, np.ndarray):
        raise CheckFailed(f"{what}: `{function}` should return a number or an array, not an expression.")
    if scalar:
        if value.size != 1 and _one_axis_fewer(value.shape, args):
            raise CheckFailed(f"{what}: `{function}` {ONE_AXIS}",
                              hint=f"{what}: {naming_the_mistake(f'`{function}` {ONE_AXIS}')}")
        if value.size != 1:
            raise CheckFailed(f"{what}: `{function}` returned an array, not one number; a loss is one "
                              "number, the mean over the examples.")
        return float(value.reshape(()))
    return value


def has_python_values(args):
    """Are any of these arguments Python lists, tuples or numbers (not arrays)?"""
    return any(isinstance(a, (list, tuple, float, int)) for a in args)


# -- the reference, guarded by torch ------------------------------------------------

def trusted(reference, torch_version, *args, rtol=TORCH_RTOL, atol=TORCH_ATOL):
    """The reference's value on `args`, after torch (if given) has agreed with it."""
    want = f64(reference(*args))
    if torch_version is not None:
        theirs = f64(torch_version(*args))
        if want.shape != theirs.shape or not np.allclose(want, theirs, rtol=rtol, atol=atol, equal_nan=True):
            raise ReferenceDisagrees(f"{getattr(reference, '__name__', 'reference')} and torch disagree")
    return want


def agree(ours, theirs, what, rtol=TORCH_RTOL, atol=TORCH_ATOL):
    """Two trusted computations of one quantity must agree; else it is our bug."""
    if not np.allclose(f64(ours), f64(theirs), rtol=rtol, atol=atol, equal_nan=True):
        raise ReferenceDisagrees(f"two trusted computations of {what} disagree")


# -- judging -------------------------------------------------------------------------

def close(got, want, rtol=RTOL, atol=ATOL):
    """Same shape and close everywhere (NaN never counts as close)."""
    got, want = f64(got), f64(want)
    return got.shape == want.shape and bool(np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=False))


def matches(got, value, rtol=RTOL, atol=ATOL):
    """Is `got` the value a mistake gives? NaN and inf in the same places, close elsewhere.

    A mistake whose value is a scalar matches an array of that value everywhere;
    a value with nothing finite to compare is no evidence for one mistake over another.
    """
    got = f64(got)
    try:
        with np.errstate(all="ignore"):
            value = np.broadcast_to(f64(value), got.shape) if np.ndim(value) == 0 else f64(value)
    except (TypeError, ValueError):
        return False
    if got.shape != value.shape:
        return False
    if not (np.array_equal(np.isnan(got), np.isnan(value)) and np.array_equal(np.isposinf(got), np.isposinf(value))
            and np.array_equal(np.isneginf(got), np.isneginf(value))):
        return False
    finite = np.isfinite(got)
    if not finite.any():
        return False
    return bool(np.allclose(got[finite], value[finite], rtol=rtol, atol=atol))


def judge(got, want, what, mistakes=(), rtol=RTOL, atol=ATOL, shape_hint="", nonfinite="",
          explain=None, fallback=None):
    """Pass if `got` is close to `want`; else fail naming the first recognised mistake.

    A result of one element is compared with a wanted one element whatever their
    shapes ((), (1,)). `nonfinite` is the likely cause when `got` holds NaN or inf;
    `explain(got)` may return a message for a finite wrong value no mistake matches;
    `fallback` (a string, or a function of `got`) is the last word.
    """
    integer = np.asarray(got).dtype.kind in "iub"
    got, want = f64(got), f64(want)
    if got.size == 1 and want.size == 1:
        got = got.reshape(want.shape)
    if got.shape != want.shape:
        raise CheckFailed(f"{what}: the result does not have the expected shape {want.shape}."
                          + (f" {shape_hint}" if shape_hint else ""))
    if close(got, want, rtol, atol):
        return
    for value, message in mistakes:
        if matches(got, value, rtol, atol):
            raise CheckFailed(f"{what}: {message}", hint=f"{what}: {naming_the_mistake(message)}")
    if integer and not np.allclose(want, np.round(want)):
        raise CheckFailed(f"{what}: {INTEGER_RESULT}", hint=f"{what}: {naming_the_mistake(INTEGER_RESULT)}")
    if not np.all(np.isfinite(got)):
        raise CheckFailed(f"{what}: the result contains NaN or inf where the true value is finite."
                          + (f" Likely cause: {nonfinite}" if nonfinite else ""))
    message = explain(got) if explain else None
    if message:
        raise CheckFailed(f"{what}: {message}")
    if callable(fallback):
        fallback = fallback(got)
    raise CheckFailed(f"{what}: {fallback or 'the value is wrong.'}")


def recognised(got, want, mistakes=(), rtol=RTOL, atol=ATOL):
    """Right, or one of the recognised mistakes: the function computes something real."""
    got, want = f64(got), f64(want)
    if got.size == 1 and want.size == 1:
        got = got.reshape(want.shape)
    return close(got, want, rtol, atol) or any(matches(got, value, rtol, atol) for value, _ in mistakes)


def expect_raises(student, function, error_type, why, *args, **kwargs):
    """The call must raise `error_type` (`why` says for which input, in words)."""
    outcome = student.call(function, *args, **kwargs)
    if outcome.kind == "raised" and outcome.error_type == error_type:
        return
    if outcome.kind == "raised":
        raise CheckFailed(f"`{function}` raised {outcome.error_type} {why}; the contract asks for {error_type}.")
    if outcome.kind == "returned":
        raise CheckFailed(f"`{function}` returned a value {why}; it should raise {error_type}.")
    raise CheckFailed(describe_failure(function, outcome))


def variable(student, name, what_to_assign):
    """The value of a variable the notebook asks for, or a failure saying why there is none."""
    outcome = student.variable(name)
    if outcome.kind == "missing":
        raise CheckFailed(f"`{name}` is not defined: assign {what_to_assign} to it.")
    if outcome.kind != "returned":
        raise CheckFailed(f"`{name}` could not be read: {outcome.message or outcome.kind}.")
    return outcome.value


def whole_number(student, name, what_it_counts):
    """A variable that must hold one whole number."""
    value = variable(student, name, f"the number of {what_it_counts}")
    if not isinstance(value, np.ndarray) or value.size != 1 or value.dtype.kind not in "iuf":
        raise CheckFailed(f"`{name}` should be one whole number of {what_it_counts}.")
    number = float(value.reshape(()))
    if not np.isfinite(number) or number != round(number):
        raise CheckFailed(f"`{name}` should be a whole number of {what_it_counts}.")
    return int(round(number))


def numeric_answer(student, name):
    """A number the student assigned to `name` (a prediction), or a failure saying what is wrong with it."""
    value = variable(student, name, "your number")
    if not isinstance(value, np.ndarray) or value.size != 1 or value.dtype.kind not in "iuf":
        raise CheckFailed(f"`{name}` should be one number.")
    number = float(value.reshape(()))
    if not np.isfinite(number):
        raise CheckFailed(f"`{name}` should be a finite number.")
    return number


def chosen_number(student, name, what, low, high):
    """A number the student chose for their own prediction question, within [low, high]."""
    number = numeric_answer(student, name)
    if not low <= number <= high:
        raise CheckFailed(f"`{name}` should be {what} (from {low:g} to {high:g}).")
    return number


def expect_prediction(student, name, want, what, mistakes=(), rtol=1e-3, fallback=None):
    """A number the student works out and assigns ("predict, then check"), right to `rtol`;
    a known wrong route names itself. `fallback` replaces "is not {what}." when it is wrong."""
    got = numeric_answer(student, name)
    if abs(got - want) <= rtol * abs(want) + 1e-9:
        return
    for value, message in mistakes:
        if abs(got - value) <= rtol * abs(value) + 1e-9:
            raise CheckFailed(f"`{name}`: {message}", hint=f"`{name}`: {naming_the_mistake(message)}")
    raise CheckFailed(f"`{name}` {fallback or f'is not {what}.'}")
