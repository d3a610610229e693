"""The checks every graded function gets, declared once and instantiated from a table.

A notebook's check module describes each contract function once, as a `Graded`
(its name, the reference, the torch version, the mistakes it recognises), says how
to draw valid inputs, and lists its checks as a table::

    MSE = Graded("mse", ref.mse, tref.mse, mistakes=mse_mistakes, scalar=True)

    def pair(rng, shape):
        return rng.normal(size=shape) * 3, rng.normal(size=shape)

    register(NB, [
        ("mse_matches_torch", "mse agrees with F.mse_loss on arrays of any shape",
         values(MSE, drawn(pair, [(7,), (3, 4), (2, 3, 5)]))),
        ("mse_accepts_lists_and_float32", "mse accepts Python lists, scalars and float32 arrays",
         values(MSE, lists_scalars_float32(pair, (2, 3), scalars=[(2.5, 1.0)]))),
        ("laplace_nll_rejects_nonpositive_scale", "laplace_nll raises ValueError for b <= 0",
         rejects(LAPLACE, [(([1.0], [2.0], 0.0), "for b=0")], valid=drawn(pair, [(6,)]))),
    ])

A case source is a function of the check's `rng` returning `Case`s: `given` (fixed
inputs, such as the contract's printed example), `drawn` (fresh inputs of given
shapes), `lists_scalars_float32`; add them with `+` inside a list, or pass several.
The families:

- `values(spec, *sources)`: every case must give the reference's value (the
  families "matches torch on many shapes", "extreme inputs", "seed value").
- `values(..., witness=source)`: as above, and on the witness inputs (ordinary,
  fresh) the function must compute the loss, right or a recognised mistake: a
  property that a constant satisfies (log C, 0 at p == y, +-1e4 saturating to 0 and
  1) is credited only to a function that computes something.
- `rejects(spec, invalid, valid)`: each invalid input raises the named error, and
  each valid input gives the right value or a recognised mistake (always raising,
  or raising for everything, earns nothing).

A particular check is an ordinary `@check` function; it uses `Graded.check` and
`Graded.computes` on its own cases.
"""
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from mle_grading.checks import CheckFailed, check
from mle_grading.checks.api import F32, LISTS_HINT, call, expect_raises, judge, number_hint, recognised, trusted


@dataclass(frozen=True)
class Case:
    args: tuple
    what: str
    tol: dict = field(default_factory=dict)
    hint: str = ""          # advice added when the function raised on this input


def _no_mistakes(*args):
    return []


def _always(*args):
    return True


@dataclass(frozen=True)
class Graded:
    """One contract function, as its checks see it."""
    function: str                            # the contract's name
    reference: Callable                      # mle_grading.checks.reference
    torch: Callable = None                   # mle_grading.checks.torch_reference, or None
    mistakes: Callable = _no_mistakes        # (*args) -> [(value the mistake gives, message)]
    scalar: bool = False                     # a loss: one number
    torch_applies: Callable = _always        # (*args) -> is torch's version defined the same here?
    hint: object = ""                        # advice when it raised: str or f(error_type)
    advice: Callable = None                  # (args, want) -> judge() keywords: nonfinite, shape_hint, ...
    inspect: Callable = None                 # (got, want, case) -> raise CheckFailed for a particular cause
    explain: Callable = None                 # (student, args, got) -> message for an unrecognised wrong value

    def want(self, args):
        return trusted(self.reference, self.torch if self.torch_applies(*args) else None, *args)

    def got(self, student, case):
        hint = case.hint or self.hint
        return call(student, self.function, *case.args, what=case.what, hint=hint, scalar=self.scalar)

    def check(self, student, case):
        """The value on this case must be the reference's."""
        want = self.want(case.args)
        got = self.got(student, case)
        if self.inspect is not None:
            self.inspect(got, want, case)
        extra = self.advice(case.args, want) if self.advice else {}
        if self.explain is not None:
            extra["explain"] = lambda value: self.explain(student, case.args, value)
        judge(got, want, case.what, self.mistakes(*case.args), **case.tol, **extra)

    def computes(self, student, case):
        """The function computes the quantity on this case: right, or a recognised mistake."""
        want = self.want(case.args)
        got = self.got(student, case)
        if not recognised(got, want, self.mistakes(*case.args), **case.tol):
            raise CheckFailed(f"{case.what}: the value is wrong, so the behaviour this test names cannot be "
                              f"credited either. `{self.function}` must compute the value on ordinary inputs "
                              "too: its value tests say more.")


# -- case sources -------------------------------------------------------------------

def _copy(args):
    return tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in args)


def given(args, what, hint="", **tol):
    """One fixed input (copied afresh for every call)."""
    return lambda rng: [Case(_copy(args), what, dict(tol), hint)]


def drawn(draw, shapes, what="on inputs of shape {shape}", hint="", **tol):
    """Fresh inputs `draw(rng, shape)` for each shape; `what` may use {shape}."""
    def source(rng):
        return [Case(tuple(draw(rng, shape)), what.format(shape=shape), dict(tol), hint) for shape in shapes]
    return source


def named(function, source):
    """Prefix each case's description with the function's name."""
    def prefixed(rng):
        return [Case(c.args, f"`{function}` {c.what}", c.tol, c.hint) for c in source(rng)]
    return prefixed


def _as_lists(args):
    return tuple(np.asarray(a).tolist() if isinstance(a, np.ndarray) else a for a in args)


def lists_scalars_float32(draw, list_shape, scalars=(), float32_shape=None, float32_tol=F32):
    """The contract's other input types: nested Python lists, Python numbers, float32 arrays."""
    def source(rng):
        found = [Case(_as_lists(draw(rng, list_shape)), "on Python lists", {}, LISTS_HINT)]
        found += [Case(tuple(args), "on Python numbers", {}, number_hint) for args in scalars]
        if float32_shape is not None:
            args = tuple(a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
                         for a in draw(rng, float32_shape))
            found.append(Case(args, "on float32 arrays", dict(float32_tol)))
        return found
    return source


def _cases(sources, rng):
    found = []
    for source in sources:
        found.extend(source(rng))
    return found


# -- the families ---------------------------------------------------------------------

def values(spec, *sources, witness=None):
    """Every case must give the reference's value; `witness` cases must give a real value."""
    def run(student, rng):
        for case in _cases([named(spec.function, s) for s in sources], rng):
            spec.check(student, case)
        if witness is not None:
            for case in named(spec.function, witness)(rng):
                spec.computes(student, case)
    return run


def rejects(spec, invalid, valid, error="ValueError", drawn_invalid=None):
    """Each invalid input raises `error`; each valid one gives a real value (never always-raise).

    `invalid` lists (args, why) at the contract's boundaries; `drawn_invalid(rng)`
    gives more (args, why) drawn afresh, so that no list of known bad inputs suffices.
    """
    def run(student, rng):
        bad = list(invalid) + (list(drawn_invalid(rng)) if drawn_invalid else [])
        for args, why in bad:
            expect_raises(student, spec.function, error, why, *_copy(args))
        for case in named(spec.function, valid)(rng):
            spec.computes(student, case)
    return run


def one_entry_out_of_range(rng, shape, low, high, inside):
    """An array of valid values `inside(rng, shape)` with one entry, at a drawn place, in [low, high)."""
    values = np.asarray(inside(rng, shape), dtype=np.float64)
    values.flat[int(rng.integers(values.size))] = rng.uniform(low, high)
    return values


def register(notebook, table):
    """Register each (grade_id, behaviour, run) of a notebook's table as its check."""
    for grade_id, behaviour, run in table:
        check(notebook, grade_id, behaviour)(run)
