"""Assertions that checks use to turn outcomes into verdicts and messages.

Messages name the function and the behaviour, and the likely mistake where one is
recognised; they never print hidden inputs or reference values.
"""
import numpy as np

from . import CheckFailed

RTOL, ATOL = 1e-6, 1e-8  # the contract's float64 tolerance


def describe_failure(function, outcome):
    if outcome.kind == "missing":
        return f"`{function}` is not defined: run the cell that defines it, and keep its name."
    if outcome.kind == "raised" and outcome.error_type == "NotImplementedError":
        return f"`{function}` raised NotImplementedError: the answer has not been written yet."
    if outcome.kind == "raised":
        detail = f": {outcome.message}" if outcome.message else ""
        return f"`{function}` raised {outcome.error_type}{detail}"
    if outcome.kind == "timeout":
        return f"`{function}` did not return within the time limit (an infinite loop?)."
    if outcome.kind == "crashed":
        return f"the notebook's process died while `{function}` ran: {outcome.message}"
    if outcome.kind == "invalid":
        return f"`{function}` {outcome.message}"
    return f"`{function}` could not be run: {outcome.message}"


def returned(student, function, *args, **kwargs):
    """Call a student function and return its result as a NumPy array, or fail."""
    return value_of(function, student.call(function, *args, **kwargs))


def value_of(function, outcome):
    """The array a call returned, or a failure naming what went wrong."""
    if outcome.kind != "returned":
        raise CheckFailed(describe_failure(function, outcome))
    if outcome.value is None:
        raise CheckFailed(f"`{function}` returned None: did you forget `return`?")
    if not isinstance(outcome.value, np.ndarray):
        raise CheckFailed(f"`{function}` should return a number or an array, not an expression.")
    return outcome.value


def returned_scalar(student, function, *args, **kwargs):
    value = returned(student, function, *args, **kwargs)
    if value.size != 1:
        raise CheckFailed(
            f"`{function}` returned an array of shape {value.shape}; a loss is one number, "
            "the mean over all elements.")
    return float(value.reshape(()))


def close(got, want, rtol=RTOL, atol=ATOL):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    return got.shape == want.shape and bool(np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=False))


def expect_close(got, want, what, mistakes=(), rtol=RTOL, atol=ATOL, shape_matters=True):
    """Fail unless `got` matches `want`; name the first known mistake `got` matches.

    `mistakes` is a sequence of (value the mistake would produce, message).
    """
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if shape_matters and got.shape != want.shape:
        raise CheckFailed(f"{what}: the result has shape {got.shape}, expected {want.shape}.")
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
        raise CheckFailed(f"{what}: the result contains NaN or inf where the true value is finite.")
    if close(got, want, rtol, atol):
        return
    for mistake_value, message in mistakes:
        try:
            if close(got, np.broadcast_to(np.asarray(mistake_value, dtype=np.float64), want.shape), rtol, atol):
                raise CheckFailed(f"{what}: {message}")
        except ValueError:
            continue
    raise CheckFailed(f"{what}: the value is wrong.")


def expect_raises(student, function, error_type, why, *args, **kwargs):
    outcome = student.call(function, *args, **kwargs)
    if outcome.kind == "raised" and outcome.error_type == error_type:
        return
    if outcome.kind == "raised":
        raise CheckFailed(f"`{function}` raised {outcome.error_type} {why}; the contract asks for {error_type}.")
    if outcome.kind == "returned":
        raise CheckFailed(f"`{function}` returned a value {why}; it should raise {error_type}.")
    raise CheckFailed(describe_failure(function, outcome))


def rng_for(name):
    """A generator seeded by the check's name: the same inputs in every run."""
    return np.random.default_rng(abs(hash_name(name)))


def hash_name(name):
    h = 0
    for ch in name:
        h = (h * 131 + ord(ch)) % (2 ** 61 - 1)
    return h


def numeric_answer(student, name):
    """A number the student assigned to `name` (a prediction), or a failure saying what is wrong with it."""
    outcome = student.variable(name)
    if outcome.kind == "missing":
        raise CheckFailed(f"`{name}` is not defined: assign your number to it.")
    if outcome.kind != "returned":
        raise CheckFailed(describe_failure(name, outcome))
    value = outcome.value
    if isinstance(value, tuple) or not isinstance(value, np.ndarray) or value.size != 1 or value.dtype.kind not in "iuf":
        raise CheckFailed(f"`{name}` should be one number.")
    number = float(value.reshape(()))
    if not np.isfinite(number):
        raise CheckFailed(f"`{name}` should be a finite number.")
    return number


def expect_prediction(student, name, want, what, mistakes=(), rtol=1e-3):
    """A predicted number, right to `rtol`; a known wrong route names itself."""
    got = numeric_answer(student, name)
    if abs(got - want) <= rtol * abs(want) + 1e-9:
        return
    for value, message in mistakes:
        if abs(got - value) <= rtol * abs(value) + 1e-9:
            raise CheckFailed(f"`{name}`: {message}")
    raise CheckFailed(f"`{name}` is not {what}.")
