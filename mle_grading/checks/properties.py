"""Property checks: a behaviour beyond the value (extreme inputs, broadcasting, lists, one row).

A property is credited to a function that computes the quantity on the property's
inputs: the right value, or one of the formula mistakes its value check already
charges (so a mistake costs once). What the property itself can get wrong (a
clamped variance at tiny log-variances, dividing by len(y) on 2-D input) has its
own `diagnoses`, named here and never accepted. Works for `families.Graded` (one
value) and `parts.Parts` (a tuple of arrays) alike.
"""
from dataclasses import replace

import numpy as np

from mle_grading.checks import CheckFailed, naming_the_mistake
from mle_grading.checks.api import INTEGER_RESULT, LISTS_HINT, close, matches, recognised
from mle_grading.checks.families import named
from mle_grading.checks.parts import Parts


def _no_diagnoses(*args):
    return []


def combined(*sources):
    """One case source made of several."""
    def source(rng):
        return [case for s in sources for case in s(rng)]
    return source


def as_lists(source):
    """The cases of `source` with every array argument as a nested Python list."""
    def lists(rng):
        return [replace(c, args=tuple(np.asarray(a).tolist() if isinstance(a, np.ndarray) else a for a in c.args),
                        hint=c.hint or LISTS_HINT) for c in source(rng)]
    return lists


def _verdict(spec, student, case, diagnoses, nonfinite, fallback, shape_hint):
    want = spec.want(case.args)
    got = spec.got(student, case)
    parts = isinstance(spec, Parts)
    integer = any(np.asarray(g).dtype.kind in "iub" for g in (got if parts else [got]))
    got_list, want_list = (got, want) if parts else ([np.asarray(got, dtype=np.float64)], [want])
    for i, (g, w) in enumerate(zip(got_list, want_list)):
        if g.size == 1 and w.size == 1:
            got_list[i] = g.reshape(w.shape)
    names = spec.names if parts else (None,)
    for name, g, w in zip(names, got_list, want_list):
        if g.shape != w.shape:
            label = f", {name}" if name else ""
            raise CheckFailed(f"{case.what}{label}: the result does not have the expected shape {w.shape}."
                              + (f" {shape_hint}" if shape_hint else ""))
    if all(close(g, w, **case.tol) for g, w in zip(got_list, want_list)):
        return
    # Then the property's own mistakes: one may give the same value as a charged formula mistake.
    for message, *values in diagnoses(*case.args):
        if all(matches(g, v) for g, v in zip(got_list, values)):
            raise CheckFailed(f"{case.what}: {message}", hint=f"{case.what}: {naming_the_mistake(message)}")
    if integer and not all(np.allclose(w, np.round(w)) for w in want_list):
        raise CheckFailed(f"{case.what}: {INTEGER_RESULT}")
    if parts:
        if spec.right_or_recognised(got_list, want, case.args, case.tol):
            return
    elif recognised(got_list[0], want, spec.mistakes(*case.args), **case.tol):
        return
    if any(not np.all(np.isfinite(g)) for g, w in zip(got_list, want_list) if np.all(np.isfinite(w))):
        raise CheckFailed(f"{case.what}: the result contains NaN or inf where the true value is finite."
                          + (f" Likely cause: {nonfinite}" if nonfinite else ""))
    raise CheckFailed(f"{case.what}: {fallback}")


def properties(spec, *sources, diagnoses=_no_diagnoses, nonfinite="", fallback="the value is wrong.",
               shape_hint=""):
    """On every case the function computes the quantity (right or a charged mistake), else
    the property's own diagnosis. `diagnoses(*args)` lists (message, value[, value...]): one
    value per part of the result."""
    def run(student, rng):
        for case in combined(*(named(spec.function, s) for s in sources))(rng):
            _verdict(spec, student, case, diagnoses, nonfinite, fallback, shape_hint)
    return run
