"""Equivalence of a student's SymPy answer with the expected expression, and where it differs.

Judged numerically at many points in high precision: any algebraically
equivalent form passes, whatever SymPy's simplifier manages. Expressions reach
here only through `wire` (whitelisted classes, bounded size, rebuilt unevaluated);
they are never simplified, `evalf`-ed or combined with other expressions here:
`tree_value.value_at` computes their values with bounds, so a huge power or a deep
tree costs a failed check, not a stall.

When the answer is wrong, the same kind of points say how, where that can be
recognised: the sign, a constant term, a constant factor, the likelihood instead
of its negative log, one symbol in place of another (or two swapped), or a
difference that depends on one symbol alone (a missing normalising constant). Only
the trusted expected expression is ever transformed (negated, exponentiated,
substituted); the student's is only evaluated.
"""
import itertools
import random

import sympy

from mle_grading.checks import CheckFailed, SYMBOLS, naming_the_mistake
from mle_grading.checks.api import variable
from mle_grading.checks.tree_value import value_at

REL = 1e-9


def sym(name):
    return SYMBOLS.get(name)


def expect_equivalent(student, name, expected, domain, mistakes=(), points=24, rng=None):
    """`domain` maps each symbol name to a list of values or a (low, high) range.

    `expected` is one expression, or a list of them for an answer of several entries
    (a list or an `sp.Matrix`); a one-element list (what `sp.solve` returns) answers
    a one-expression question. The points are drawn from `rng` (the check's
    generator) when given.
    """
    gots, wants, many = _answer(student, name, expected, domain)
    seed = int(rng.integers(2 ** 63)) if rng is not None else 12345
    pts = _points(domain, points, seed)
    if all(_equal(g, w, pts) for g, w in zip(gots, wants)):
        return
    for wrong, message in mistakes:
        wrongs = list(wrong) if isinstance(wrong, (list, tuple)) else [wrong]
        if len(wrongs) == len(gots) and all(_equal(g, w, pts[:8]) for g, w in zip(gots, wrongs)):
            raise CheckFailed(f"`{name}`: {message}", hint=f"`{name}`: {naming_the_mistake(message)}")
    for k, (g, w) in enumerate(zip(gots, wants)):
        if not _equal(g, w, pts):
            where = f"entry {k} of `{name}`" if many else f"`{name}`"
            raise CheckFailed(f"{where} is not equivalent to the expected expression{diagnose(g, w, domain, seed)}")


# -- the form of a derivation (as Moodle STACK's answer tests judge form apart from value) ---------

FORBIDDEN = {sympy.Derivative: "an unevaluated derivative", sympy.Subs: "an unevaluated substitution",
             sympy.log: "a logarithm"}


def size(expr):
    """The number of nodes of an expression's tree: len(list(sp.preorder_traversal(expr)))."""
    return sum(1 for _ in sympy.preorder_traversal(expr))


def expect_form(student, name, expected, domain, asked, max_size, mistakes=(), sigmoid_of=None, rng=None):
    """The derivation is in the form asked for: no derivative, substitution or logarithm left in it,
    at most `max_size` nodes per entry (`size`), and, with `sigmoid_of` (a symbol name), every
    exponential inside a sigmoid, 1/(1 + exp(+-z)) or exp(+-z)/(1 + exp(+-z)) (any power of
    either): written in sigma(z).

    Judged only on a derivation whose value is the expected one or a recognised mistake
    (which the value check charges), so that no form of nothing earns the point. `asked` says
    the form in words, for the message.
    """
    gots, wants, _ = _answer(student, name, expected, domain)
    seed = int(rng.integers(2 ** 63)) if rng is not None else 12345
    pts = _points(domain, 8, seed)
    candidates = [wants] + [list(w) if isinstance(w, (list, tuple)) else [w] for w, _ in mistakes]
    if not any(len(c) == len(gots) and all(_equal(g, w, pts) for g, w in zip(gots, c)) for c in candidates):
        raise CheckFailed(f"`{name}`: its form is judged once its value is the derivative asked for; "
                          "see the check of its value.")
    for g in gots:
        for node in sympy.preorder_traversal(g):
            for kind, what in FORBIDDEN.items():
                if isinstance(node, kind):
                    raise CheckFailed(f"`{name}` still holds {what}: the form asked for is {asked}.")
        if sigmoid_of is not None and not _exp_only_in_sigmoid(g, sym(sigmoid_of)):
            raise CheckFailed(f"`{name}` has an exponential outside sigma({sigmoid_of}): the form asked for is "
                              f"{asked}, with sp_sigmoid({sigmoid_of}) for sigma({sigmoid_of}).")
        if size(g) > max_size:
            raise CheckFailed(f"`{name}` is not simplified: {size(g)} nodes of SymPy's tree where the form asked "
                              f"for ({asked}) needs at most {max_size}.")


def _exp_only_in_sigmoid(expr, t):
    """Is every exp(...) of `expr` the exp(+-t) of a power (1 + exp(+-t))**(-k), or of a factor
    exp(k s t) / (1 + exp(s t))**k, sigma(s t)**k written the other common way?"""
    if isinstance(expr, sympy.Pow) and expr.exp.is_Integer and expr.exp < 0 and _is_one_plus_exp(expr.base, t):
        return True
    if isinstance(expr, sympy.exp):
        return False
    if isinstance(expr, sympy.Mul):
        return all(_exp_only_in_sigmoid(a, t) for a in _without_sigmoid_fractions(expr.args, t))
    return all(_exp_only_in_sigmoid(a, t) for a in expr.args)


def _without_sigmoid_fractions(factors, t):
    """The factors of a product left once each exp(k s t) is paired with a (1 + exp(s t))**(-k), the
    k-th power of sigma(s t) written exp(s t) / (1 + exp(s t)) (SymPy folds the powers so). The powers
    must match: exp(-t) / (1 + exp(-t))**2 is sigma'(t) unsimplified, not a sigmoid."""
    rest = list(factors)
    for e in [f for f in factors if isinstance(f, sympy.exp)]:
        for f in rest:
            if (isinstance(f, sympy.Pow) and f.exp.is_Integer and f.exp < 0 and _is_one_plus_exp(f.base, t)
                    and e.args[0] == -f.exp * _exp_of(f.base).args[0]):   # structural: no student expansion
                rest.remove(e)
                rest.remove(f)
                break
    return rest


def _exp_of(one_plus_exp):
    return next(a for a in one_plus_exp.args if isinstance(a, sympy.exp))


def _is_one_plus_exp(base, t):
    if not (isinstance(base, sympy.Add) and len(base.args) == 2):
        return False
    one, e = sorted(base.args, key=lambda a: not a.is_Number)
    return one == 1 and isinstance(e, sympy.exp) and e.args[0] in (t, -t)


def _answer(student, name, expected, domain):
    """The student's entries (validated) beside the expected ones, and whether the answer has several."""
    got = variable(student, name, "your expression")
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
        stray = {s for s in g.free_symbols if s not in allowed}
        if stray:
            # Only names the course defines are repeated: a student's own symbol name is their text.
            known = sorted(s.name for s in stray if SYMBOLS.get(s.name) is not None)
            own = len(stray) - len(known)
            parts = ([f"{known}, which do not belong in this answer"] if known else []) + \
                    ([f"{own} symbol(s) of its own"] if own else [])
            raise CheckFailed(f"`{name}` uses {' and '.join(parts)}; use only {sorted(domain)} "
                              "(the symbols defined in the locked cell).")
    return gots, wants, many


def diagnose(got, want, domain, seed=12345):
    """How `got` differs from `want`, as the end of a sentence ('.' when nothing is recognised)."""
    pts = _points(domain, 16, seed + 1)
    a, b = _values(got, pts), _values(want, pts)
    if a is None or b is None:
        return ": it cannot be evaluated at some points of the domain (a division by zero or a log of 0?)."
    if _same(a, [-v for v in b]):
        return ": it has the wrong sign (the log-likelihood instead of its negative, or a sign lost on the way)."
    likelihood = _values(sympy.exp(-want), pts)
    if likelihood is not None and _same(a, likelihood):
        return ": it is the likelihood itself; take its logarithm and negate it."
    if likelihood is not None and _same(a, [-v for v in likelihood]):
        return ": it is minus the likelihood; take the logarithm of the likelihood and negate it."
    if _constant([x - y for x, y in zip(a, b)]):
        return (": it differs from the expected one by a constant term (a term that depends on none of the "
                "symbols is missing, extra or wrong).")
    if all(abs(y) > 1e-12 for y in b) and _constant([x / y for x, y in zip(a, b)]):
        return ": it differs from the expected one by a constant factor (a factor such as 2 or 1/2 is missing or extra)."
    swapped = _swapped_symbols(got, want, domain, seed)
    if swapped:
        return swapped
    only = _difference_depends_only_on(got, want, domain, seed)
    if only:
        return (f": it differs from the expected one by a term that depends on `{only}` alone (a term in "
                f"`{only}` only, such as a normalising constant, is missing, extra or wrong).")
    return "."


def _swapped_symbols(got, want, domain, seed):
    continuous = [n for n, v in domain.items() if isinstance(v, tuple)]
    pts = _points(domain, 12, seed + 2)
    for first, second in itertools.permutations(continuous, 2):
        if _equal(got, want.subs(sym(second), sym(first)), pts):
            return f": it uses `{first}` where `{second}` belongs."
    for first, second in itertools.combinations(continuous, 2):
        swapped = want.subs({sym(first): sym(second), sym(second): sym(first)}, simultaneous=True)
        if _equal(got, swapped, pts):
            return f": `{first}` and `{second}` are swapped."
    return ""


def _difference_depends_only_on(got, want, domain, seed):
    """The one symbol the difference got - want depends on, if there is one."""
    names = list(domain)
    if len(names) < 2:
        return ""
    base, other = _points(domain, 6, seed + 3), _points(domain, 6, seed + 4)
    for keep in names:
        # Move every symbol but `keep`: if the difference never changes, it depends on `keep` alone.
        steady = True
        for p, q in zip(base, other):
            moved = dict(q)
            moved[sym(keep)] = p[sym(keep)]
            d = _values(got, [p, moved])
            e = _values(want, [p, moved])
            if d is None or e is None or not _same([d[0] - e[0]], [d[1] - e[1]]):
                steady = False
                break
        if steady:
            return keep
    return ""


def _points(domain, count, seed):
    rnd = random.Random(seed)
    found = []
    for _ in range(count):
        subs = {}
        for name, values in domain.items():
            subs[sym(name)] = rnd.uniform(*values) if isinstance(values, tuple) else rnd.choice(values)
        found.append(subs)
    return found


def _values(expr, pts):
    out = []
    for point in pts:
        v = value_at(expr, point)
        if v is None:
            return None
        out.append(v)
    return out


def _same(a, b):
    return all(abs(x - y) <= REL * (1 + abs(y)) for x, y in zip(a, b))


def _constant(values):
    return all(abs(v - values[0]) <= REL * (1 + abs(values[0])) for v in values)


def _equal(got, want, pts):
    a, b = _values(got, pts), _values(want, pts)
    return a is not None and b is not None and _same(a, b)
