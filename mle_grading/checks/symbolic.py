"""Equivalence of a student's SymPy answer with the expected expression.

Judged numerically at many points in high precision: any algebraically
equivalent form passes, whatever SymPy's simplifier manages. Expressions reach
here only through `wire` (whitelisted classes, bounded size, rebuilt unevaluated);
they are never simplified or `evalf`-ed here: `tree_value.value_at` computes their
values with bounds, so a huge power or a deep tree costs a failed check, not a stall.
"""
import random

import sympy

from . import CheckFailed, SYMBOLS
from .api import variable
from .tree_value import value_at


def sym(name):
    return SYMBOLS.get(name)


def expect_equivalent(student, name, expected, domain, mistakes=(), points=24, rng=None):
    """`domain` maps each symbol name to a list of values or a (low, high) range.

    The points are drawn from `rng` (the check's generator) when given.
    """
    got = variable(student, name, "your expression")
    if not isinstance(got, sympy.Basic):
        raise CheckFailed(f"`{name}` should be a SymPy expression built from the symbols of the locked cell.")
    allowed = {sym(n) for n in domain}
    stray = {s.name for s in got.free_symbols if s not in allowed}
    if stray:
        raise CheckFailed(f"`{name}` uses symbols {sorted(stray)}; use only {sorted(domain)} "
                          "(the symbols defined in the locked cell).")
    seed = int(rng.integers(2 ** 63)) if rng is not None else 12345
    if _equal_at_points(got, expected, domain, points, seed):
        return
    for wrong, message in mistakes:
        if _equal_at_points(got, wrong, domain, 8, seed):
            raise CheckFailed(f"`{name}`: {message}")
    raise CheckFailed(f"`{name}` is not equivalent to the expected expression.")


def _equal_at_points(got, want, domain, points, seed):
    rnd = random.Random(seed)
    for _ in range(points):
        subs = {}
        for name, values in domain.items():
            if isinstance(values, tuple):
                subs[sym(name)] = rnd.uniform(*values)
            else:
                subs[sym(name)] = rnd.choice(values)
        a, b = value_at(got, subs), value_at(want, subs)
        if a is None or b is None or not abs(a - b) <= 1e-9 * (1 + abs(b)):
            return False
    return True
