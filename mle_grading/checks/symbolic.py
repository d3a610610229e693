"""Equivalence of a student's SymPy answer with the expected expression.

Judged numerically at many points in high precision, after a cheap symbolic
attempt: any algebraically equivalent form passes, whatever SymPy's simplifier
manages. Expressions reach here only through `wire`, built from whitelisted classes.
"""
import random

import sympy

from . import CheckFailed, SYMBOLS


def sym(name):
    return SYMBOLS.get(name)


def expect_equivalent(student, name, expected, domain, mistakes=(), points=24):
    """`domain` maps each symbol name to a list of values or a (low, high) range."""
    outcome = student.variable(name)
    if outcome.kind == "missing":
        raise CheckFailed(f"`{name}` is not defined: assign your expression to it.")
    if outcome.kind != "returned":
        raise CheckFailed(f"`{name}`: {outcome.message or outcome.kind}")
    got = outcome.value
    if not isinstance(got, sympy.Basic):
        raise CheckFailed(f"`{name}` should be a SymPy expression built from the symbols of the locked cell.")
    allowed = {sym(n) for n in domain}
    stray = {s.name for s in got.free_symbols if s not in allowed}
    if stray:
        raise CheckFailed(f"`{name}` uses symbols {sorted(stray)}; use only {sorted(domain)} "
                          "(the symbols defined in the locked cell).")
    if _equal_at_points(got, expected, domain, points):
        return
    for wrong, message in mistakes:
        if _equal_at_points(got, wrong, domain, 8):
            raise CheckFailed(f"`{name}`: {message}")
    raise CheckFailed(f"`{name}` is not equivalent to the expected expression.")


def _equal_at_points(got, want, domain, points):
    rnd = random.Random(12345)
    for _ in range(points):
        subs = {}
        for name, values in domain.items():
            if isinstance(values, tuple):
                subs[sym(name)] = sympy.Float(rnd.uniform(*values), 30)
            else:
                subs[sym(name)] = sympy.Integer(rnd.choice(values))
        try:
            a = complex(got.evalf(30, subs=subs))
            b = complex(want.evalf(30, subs=subs))
        except (TypeError, ValueError, ZeroDivisionError):
            return False
        if not abs(a - b) <= 1e-9 * (1 + abs(b)):
            return False
    return True
