"""A number the notebook asks the student to work out and assign (not a function to call)."""
import numpy as np

from . import CheckFailed
from .api import close, matches, variable


def expect_number(student, name, want, mistakes, fallback, rtol=1e-6, atol=1e-9):
    """The variable `name` must hold one number close to `want`; name the first recognised
    mistake it matches ((value, message) pairs, never constants a property could credit)."""
    value = variable(student, name, "your number")
    if not isinstance(value, np.ndarray) or value.size != 1 or value.dtype.kind not in "iuf":
        raise CheckFailed(f"`{name}` should be one number.")
    got = float(value.reshape(()))
    if close(got, want, rtol=rtol, atol=atol):
        return
    for mistake, message in mistakes:
        if matches(got, mistake, rtol=rtol, atol=atol):
            raise CheckFailed(f"`{name}`: {message}")
    raise CheckFailed(f"`{name}` {fallback}")
