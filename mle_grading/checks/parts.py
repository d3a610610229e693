"""Checks of contract functions that return a tuple of arrays (gradients: (dW, db), ...).

The tuple counterpart of `families.Graded` and `families.values`: the same
reference guarded by torch, the same judging, each part named in messages. A
recognised mistake may concern one part only (the other part is then right), so
it is named only when every part agrees with it.
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np

from mle_grading.checks import CheckFailed, ReferenceDisagrees, naming_the_mistake
from mle_grading.checks.api import TORCH_ATOL, TORCH_RTOL, close, describe_failure, f64, judge, matches
from mle_grading.checks.families import _always, _no_mistakes, named


@dataclass(frozen=True)
class Parts:
    """A contract function returning a tuple of arrays, as its checks see it."""
    function: str
    names: tuple                              # the parts' names, in the contract's order
    reference: Callable
    torch: Callable = None
    mistakes: Callable = _no_mistakes         # (*args) -> [(message, part 0 or None, part 1 or None, ...)]
    torch_applies: Callable = _always
    nonfinite: str = ""                       # the likely cause when a part holds NaN or inf

    def want(self, args):
        want = [f64(p) for p in self.reference(*args)]
        if self.torch is not None and self.torch_applies(*args):
            theirs = [f64(p) for p in self.torch(*args)]
            for ours, other in zip(want, theirs):
                if ours.shape != other.shape or not np.allclose(ours, other, rtol=TORCH_RTOL, atol=TORCH_ATOL):
                    raise ReferenceDisagrees(f"{self.function}: the reference and torch disagree")
        return want

    def got(self, student, case):
        outcome = student.call(self.function, *case.args)
        if outcome.kind != "returned":
            hint = case.hint(outcome.error_type) if callable(case.hint) else case.hint
            hint = f" {hint}" if hint and outcome.kind == "raised" else ""
            raise CheckFailed(f"{case.what}: {describe_failure(self.function, outcome)}{hint}")
        value, k = outcome.value, len(self.names)
        if value is None:
            raise CheckFailed(f"{case.what}: `{self.function}` returned None: did you forget `return`?")
        if isinstance(value, tuple) and len(value) == k and all(isinstance(p, np.ndarray) for p in value):
            return [f64(p) for p in value]
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == k:
            return [f64(p) for p in value]   # np.array((a, b)) of equal shapes: the same two arrays
        raise CheckFailed(f"{case.what}: `{self.function}` should return a tuple ({', '.join(self.names)}) "
                          f"of {k} arrays.")

    def diagnose(self, got, want, args):
        """The message of the first recognised mistake every part agrees with, or None."""
        if any(g.shape != w.shape for g, w in zip(got, want)):
            return None
        for message, *values in self.mistakes(*args):
            if all(matches(g, w if v is None else v) for g, w, v in zip(got, want, values)):
                return message
        return None

    def right_or_recognised(self, got, want, args, tol):
        if all(g.shape == w.shape and close(g, w, **tol) for g, w in zip(got, want)):
            return True
        return self.diagnose(got, want, args) is not None

    def check(self, student, case, shape_hint=""):
        """Every part on this case must be the reference's."""
        want = self.want(case.args)
        got = self.got(student, case)
        if all(g.shape == w.shape and close(g, w, **case.tol) for g, w in zip(got, want)):
            return
        message = self.diagnose(got, want, case.args)
        if message:
            raise CheckFailed(f"{case.what}: {message}", hint=f"{case.what}: {naming_the_mistake(message)}")
        for name, g, w in zip(self.names, got, want):
            judge(g, w, f"{case.what}, {name}", shape_hint=shape_hint, nonfinite=self.nonfinite, **case.tol)


def parts_values(spec, *sources, shape_hint=""):
    """Every case must give the reference's parts."""
    def run(student, rng):
        for source in sources:
            for case in named(spec.function, source)(rng):
                spec.check(student, case, shape_hint)
    return run
