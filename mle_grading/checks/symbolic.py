"""Equivalence of a student's SymPy answer with the expected expression, and where it differs.

Judged numerically at many points in high precision: any algebraically equivalent
form passes, whatever SymPy's simplifier manages. When the answer is wrong, the same
points say how, where that can be recognised: a sign, a constant term, a constant
factor, the likelihood instead of its negative log, one symbol in place of another,
or a difference that depends on one symbol only. Expressions reach here only through
`wire`, built from whitelisted classes.
"""
import itertools
import random

import sympy

from . import CheckFailed, SYMBOLS

REL = 1e-9


def sym(name):
    return SYMBOLS.get(name) or sympy.Symbol(name, real=True)


def expect_equivalent(student, name, expected, domain, mistakes=(), points=24):
    """`domain` maps each symbol name to a list of values or a (low, high) range.

    `expected` is one expression, or a list of them for an answer of several entries
    (a list or an `sp.Matrix`); a one-element list answers a one-expression question.
    """
    outcome = student.variable(name)
    if outcome.kind == "missing":
        raise CheckFailed(f"`{name}` is not defined: assign your expression to it.")
    if outcome.kind != "returned":
        raise CheckFailed(f"`{name}`: {outcome.message or outcome.kind}")
    got = outcome.value
    many = isinstance(expected, (list, tuple))
    wants = list(expected) if many else [expected]
    gots = list(got) if isinstance(got, tuple) else [got]
    if len(gots) != len(wants):
        if many:
            raise CheckFailed(f"`{name}` should hold {len(wants)} expressions, one per entry; it holds {len(gots)}.")
        raise CheckFailed(f"`{name}` should be one expression (or the one-element list sp.solve returns).")
    allowed = {sym(n) for n in domain}
    for g in gots:
        if not isinstance(g, sympy.Basic):
            raise CheckFailed(f"`{name}` should be a SymPy expression built from the symbols of the locked cell.")
        stray = {s.name for s in g.free_symbols if s not in allowed}
        if stray:
            raise CheckFailed(f"`{name}` uses symbols {sorted(stray)}; use only {sorted(domain)} "
                              "(the symbols defined in the locked cell).")
    subs_list = _points(domain, points)
    if all(_equal(g, w, subs_list) for g, w in zip(gots, wants)):
        return
    for wrong, message in mistakes:
        wrongs = list(wrong) if isinstance(wrong, (list, tuple)) else [wrong]
        if len(wrongs) == len(gots) and all(_equal(g, w, subs_list[:8]) for g, w in zip(gots, wrongs)):
            raise CheckFailed(f"`{name}`: {message}")
    for k, (g, w) in enumerate(zip(gots, wants)):
        if _equal(g, w, subs_list):
            continue
        where = f"entry {k} of `{name}`" if many else f"`{name}`"
        raise CheckFailed(f"{where} is not equivalent to the expected expression{diagnose(g, w, domain)}")


def diagnose(got, want, domain):
    """How `got` differs from `want`, as the end of a sentence ('.' when nothing is recognised)."""
    subs_list = _points(domain, 16)
    a, b = _values(got, subs_list), _values(want, subs_list)
    if a is None or b is None:
        return ": it cannot be evaluated at some points of the domain (a division by zero or a log of 0?)."
    if _same(a, [-v for v in b]):
        return ": it has the wrong sign (the log-likelihood instead of its negative, or a sign lost on the way)."
    likelihood = _values(sympy.exp(-want), subs_list)
    if likelihood is not None and _same(a, likelihood):
        return ": it is the likelihood itself; take its logarithm and negate it."
    if likelihood is not None and _same(a, [-v for v in likelihood]):
        return ": it is minus the likelihood; take the logarithm of the likelihood and negate it."
    differences = [x - y for x, y in zip(a, b)]
    if _constant(differences):
        return (": it differs from the expected one by a constant term (a term that depends on none of the "
                "symbols is missing, extra or wrong).")
    if all(abs(y) > 1e-12 for y in b):
        ratios = [x / y for x, y in zip(a, b)]
        if _constant(ratios):
            return ": it differs from the expected one by a constant factor (a factor such as 2 or 1/2 is missing or extra)."
    swapped = _swapped_symbols(got, want, domain)
    if swapped:
        return swapped
    only = _difference_depends_only_on(got, want, domain)
    if only:
        return (f": it differs from the expected one by a term that depends on `{only}` alone (a term in "
                f"`{only}` only, such as a normalising constant, is missing, extra or wrong).")
    return "."


def _swapped_symbols(got, want, domain):
    continuous = [n for n, v in domain.items() if isinstance(v, tuple)]
    subs_list = _points(domain, 12)
    for first, second in itertools.permutations(continuous, 2):
        replaced = want.subs(sym(second), sym(first))
        if _equal(got, replaced, subs_list):
            return f": it uses `{first}` where `{second}` belongs."
    for first, second in itertools.combinations(continuous, 2):
        swapped = want.subs({sym(first): sym(second), sym(second): sym(first)}, simultaneous=True)
        if _equal(got, swapped, subs_list):
            return f": `{first}` and `{second}` are swapped."
    return ""


def _difference_depends_only_on(got, want, domain):
    names = list(domain)
    if len(names) < 2:
        return ""
    base = _points(domain, 6)
    other = _points(domain, 6, seed=777)
    for keep in names:
        # Vary every symbol but `keep`: if the difference never changes, it depends on `keep` alone.
        steady = True
        for p, q in zip(base, other):
            moved = dict(q)
            moved[sym(keep)] = p[sym(keep)]
            d1 = _values(got - want, [p])
            d2 = _values(got - want, [moved])
            if d1 is None or d2 is None or not _same(d1, d2):
                steady = False
                break
        if steady:
            return keep
    return ""


def _points(domain, count, seed=12345):
    rnd = random.Random(seed)
    found = []
    for _ in range(count):
        subs = {}
        for name, values in domain.items():
            if isinstance(values, tuple):
                subs[sym(name)] = sympy.Float(rnd.uniform(*values), 30)
            else:
                subs[sym(name)] = sympy.Integer(rnd.choice(values))
        found.append(subs)
    return found


def _values(expr, subs_list):
    out = []
    for subs in subs_list:
        try:
            out.append(complex(sympy.sympify(expr).evalf(30, subs=subs)))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return None
    return out


def _same(a, b):
    return all(abs(x - y) <= REL * (1 + abs(y)) for x, y in zip(a, b))


def _constant(values):
    return all(abs(v - values[0]) <= REL * (1 + abs(values[0])) for v in values)


def _equal(got, want, subs_list):
    a, b = _values(got, subs_list), _values(want, subs_list)
    return a is not None and b is not None and _same(a, b)
