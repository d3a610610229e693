"""The numerical value of a SymPy tree at a point, computed with bounds.

A student's expression arrives through `wire` (whitelisted classes, at most
`wire.MAX_TREE_NODES` nodes and `wire.MAX_TREE_DEPTH` levels, rebuilt with
`evaluate=False`). SymPy's own `evalf`, `simplify` or automatic evaluation could
still spend unbounded time on such a tree (`exp(exp(exp(1000)))`, `3**(10**6)`);
this walks it once, node by node, in mpmath at a fixed precision, and gives up
(returns None) as soon as a value leaves a safe range. The trusted reference
expressions go through the same walk.
"""
import mpmath
import sympy

DIGITS = 30
LIMIT = mpmath.mpf(10) ** 200       # any intermediate value beyond this: not comparable here
MAX_EXP_ARGUMENT = 460               # exp(460) ~ 1e200
MAX_TRIG_ARGUMENT = 1e6              # sin/cos of larger arguments need huge precision to reduce


class _OutOfRange(Exception):
    pass


def value_at(expr, point):
    """expr's complex value with `point` ({Symbol: number}) substituted, or None."""
    with mpmath.workdps(DIGITS):
        try:
            return complex(_value(expr, point))
        except (_OutOfRange, ZeroDivisionError, ValueError, TypeError, OverflowError, KeyError):
            return None


def _bounded(v):
    if not abs(v) <= LIMIT:     # also refuses NaN and infinity (real or complex): they compare false
        raise _OutOfRange
    return v


def _real(v):
    if isinstance(v, mpmath.mpc):
        if v.imag != 0:
            raise _OutOfRange
        return v.real
    return v


def _value(e, point):
    return _bounded(_node(e, point))


def _node(e, point):  # noqa: C901 - one branch per accepted class
    if isinstance(e, sympy.Symbol):
        return mpmath.mpmathify(point[e])
    if isinstance(e, sympy.Integer):
        return mpmath.mpf(int(e))
    if isinstance(e, sympy.Rational):
        return mpmath.mpf(int(e.p)) / int(e.q)
    if isinstance(e, sympy.Float):
        return mpmath.mpf(float(e))
    if e is sympy.pi:
        return +mpmath.pi
    if e is sympy.E:
        return +mpmath.e
    if e is sympy.I:
        return mpmath.mpc(0, 1)
    args = e.args
    if isinstance(e, sympy.Add):
        total = mpmath.mpf(0)
        for a in args:
            total = _bounded(total + _value(a, point))
        return total
    if isinstance(e, sympy.Mul):
        product = mpmath.mpf(1)
        for a in args:
            product = _bounded(product * _value(a, point))
        return product
    if isinstance(e, sympy.Pow):
        base, exponent = _value(args[0], point), _value(args[1], point)
        if base == 0:
            if _real(exponent) <= 0:
                raise _OutOfRange
            return mpmath.mpf(0)
        if abs(exponent) * max(1, abs(mpmath.log(abs(base)))) > MAX_EXP_ARGUMENT:
            raise _OutOfRange
        return mpmath.power(base, exponent)
    if isinstance(e, sympy.exp):
        x = _value(args[0], point)
        if mpmath.re(x) > MAX_EXP_ARGUMENT:
            raise _OutOfRange
        return mpmath.exp(x)
    if isinstance(e, sympy.log):
        x = _value(args[0], point)
        if x == 0:
            raise _OutOfRange
        value = mpmath.log(x)
        if len(args) == 2:
            value = value / mpmath.log(_value(args[1], point))
        return value
    one_argument = {sympy.sin: mpmath.sin, sympy.cos: mpmath.cos}
    if type(e) in one_argument:
        x = _value(args[0], point)
        if abs(x) > MAX_TRIG_ARGUMENT:
            raise _OutOfRange
        return one_argument[type(e)](x)
    hyperbolic = {sympy.sinh: mpmath.sinh, sympy.cosh: mpmath.cosh, sympy.tanh: mpmath.tanh}
    if type(e) in hyperbolic:
        x = _value(args[0], point)
        if abs(mpmath.re(x)) > MAX_EXP_ARGUMENT:
            raise _OutOfRange
        return hyperbolic[type(e)](x)
    if isinstance(e, sympy.Abs):
        return abs(_value(args[0], point))
    if isinstance(e, sympy.sign):
        x = _real(_value(args[0], point))
        return mpmath.mpf((x > 0) - (x < 0))
    if isinstance(e, (sympy.Max, sympy.Min)):
        values = [_real(_value(a, point)) for a in args]
        return max(values) if isinstance(e, sympy.Max) else min(values)
    if e in (sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        raise _OutOfRange
    raise TypeError(f"no numerical value for {type(e).__name__}")
