"""Tuples and lists that are not one array cross the sandbox boundary item by item, bounded."""
import numpy as np
import pytest
import sympy as sp

from mle_grading import wire


def round_trip(value):
    return wire.decode_result(wire.loads(wire.dumps(wire.encode_result(value))))


def test_a_gradient_tuple_of_an_array_and_a_number_arrives_as_a_tuple():
    grad_w, grad_b = round_trip((np.array([0.5, -1.0]), np.float64(0.25)))
    np.testing.assert_array_equal(grad_w, [0.5, -1.0])
    assert float(grad_b) == 0.25


def test_a_list_or_matrix_of_expressions_arrives_as_a_tuple_of_expressions():
    z = sp.Symbol("z")
    assert round_trip([z, 2 * z]) == (z, 2 * z)
    assert round_trip(sp.Matrix([[z, 3]])) == (z, 3)


def test_a_list_of_numbers_is_still_one_array():
    assert isinstance(round_trip([1.0, 2.0]), np.ndarray)


def test_nested_and_overlong_sequences_are_refused():
    with pytest.raises(wire.WireError):
        wire.decode_result({"kind": "seq", "items": [{"kind": "seq", "items": [{"kind": "none"}]}]})
    with pytest.raises(wire.WireError):
        wire.decode_result({"kind": "seq", "items": [{"kind": "none"}] * (wire.MAX_SEQUENCE + 1)})
    assert wire.encode_result(tuple(np.arange(k) for k in range(wire.MAX_SEQUENCE + 1)))["kind"] == "unsupported"
