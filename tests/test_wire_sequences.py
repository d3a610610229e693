"""What crosses the sandbox boundary: tuples and lists that are not one array go item by item,
bounded; array arguments arrive exactly."""
import json

import numpy as np
import pytest
import sympy as sp

from mle_grading.inside_sandbox import wire


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


@pytest.mark.parametrize("array", [
    np.random.default_rng(0).normal(size=(200, 2)),
    np.array([np.nan, -0.0, np.inf, -np.inf, 5e-324, 1.7976931348623157e308]),
    np.arange(6, dtype=np.int32).reshape(2, 3),
    np.array([[True], [False]]),
    np.float32([1.5, -2.25]),
    np.arange(12.0).reshape(3, 4).T,           # not C-contiguous
    np.arange(4, dtype=">f8"),                 # big-endian
    np.zeros((0, 3)),
], ids=["features", "special-floats", "int32", "bool", "float32", "transposed", "big-endian", "empty"])
def test_an_array_argument_reaches_the_sandbox_exactly_and_writable(array):
    arrived = wire.decode_arg(json.loads(wire.dumps(wire.encode_arg(array))))
    assert arrived.shape == array.shape and arrived.dtype.name == array.dtype.name
    assert arrived.dtype.isnative and arrived.flags.writeable and arrived.flags.c_contiguous
    assert arrived.tobytes() == np.ascontiguousarray(array, dtype=arrived.dtype).tobytes()   # bit for bit: -0.0, nan


def test_an_array_argument_of_another_dtype_still_travels_as_numbers():
    encoded = wire.encode_arg(np.array([1, 2], dtype=np.int8))
    assert encoded["data"] == [1, 2] and "base64" not in encoded
    arrived = wire.decode_arg(json.loads(wire.dumps(encoded)))
    assert arrived.dtype == np.int8 and arrived.tolist() == [1, 2]
