"""minigrad.validation: accepted values round-trip, rejected ones name who, what and the value."""
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import validation as v
from minigrad.errors import ShapeError

INT64 = st.integers(v.INT64_MIN, v.INT64_MAX)
NOT_NUMBERS = st.one_of(st.booleans(), st.none(), st.text(max_size=3), st.lists(st.integers(), max_size=2))


def _raises(error: type, call, who: str, name: str, value) -> None:
    """call() raises exactly `error` in the house form: 'who: expected name to be ..., received repr'."""
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error
    assert re.fullmatch(rf"{re.escape(who)}: expected {re.escape(name)} to be .+, received {re.escape(repr(value))}",
                        str(info.value)), str(info.value)


@given(INT64, st.sampled_from([int, np.int64, np.int32, np.uint8]))
def test_integer_round_trips_python_and_numpy_ints(value: int, kind: type) -> None:
    value = value if kind is int else int(np.clip(value, np.iinfo(kind).min, np.iinfo(kind).max))
    out = v.integer(kind(value), "f", "n")
    assert out == value and type(out) is int


@given(INT64, INT64, INT64)
def test_integer_enforces_closed_bounds(value: int, a: int, b: int) -> None:
    low, high = min(a, b), max(a, b)
    if low <= value <= high:
        assert v.integer(value, "f", "n", low=low, high=high) == value
    else:
        _raises(ValueError, lambda: v.integer(value, "f", "n", low=low, high=high), "f", "n", value)


@given(st.one_of(st.integers(max_value=v.INT64_MIN - 1), st.integers(min_value=v.INT64_MAX + 1)))
def test_integer_refuses_what_does_not_fit_in_64_bits(value: int) -> None:
    _raises(ValueError, lambda: v.integer(value, "f", "size", low=None), "f", "size", value)


@given(st.one_of(NOT_NUMBERS, st.floats(), st.just(np.bool_(True)), st.just(np.float64(2.0))))
def test_integer_refuses_bools_floats_and_others_with_a_type_error(value) -> None:
    _raises(TypeError, lambda: v.integer(value, "Dense 'd'", "units", low=1), "Dense 'd'", "units", value)


def test_integer_words_and_none() -> None:
    with pytest.raises(ValueError, match="expected k to be a positive int, received 0"):
        v.integer(0, "f", "k", low=1)
    with pytest.raises(ValueError, match="expected k to be a non-negative int or None, received -1"):
        v.integer(-1, "f", "k", low=0, none=True)
    assert v.integer(None, "f", "k", none=True) is None
    with pytest.raises(TypeError, match=r"expected k to be an int in \[1, 4\], received None"):
        v.integer(None, "f", "k", low=1, high=4)


@given(st.floats(allow_nan=False, allow_infinity=False, width=32), st.sampled_from([float, np.float32, np.float64]))
def test_real_round_trips_finite_floats_and_numpy_scalars(value: float, kind: type) -> None:
    out = v.real(kind(value), "f", "x")
    assert out == float(kind(value)) and type(out) is float


@given(st.floats(-10, 10), st.floats(-10, 10), st.floats(-10, 10), st.booleans(), st.booleans())
def test_real_enforces_open_and_closed_bounds(value: float, a: float, b: float, low_open: bool,
                                              high_open: bool) -> None:
    low, high = min(a, b), max(a, b)
    inside = (low < value if low_open else low <= value) and (value < high if high_open else value <= high)
    call = lambda: v.real(value, "f", "x", low=low, high=high, low_open=low_open, high_open=high_open)  # noqa: E731
    if inside:
        assert call() == value
    else:
        _raises(ValueError, call, "f", "x", value)
        bracket = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        with pytest.raises(ValueError, match=re.escape(bracket)):
            call()


@given(st.sampled_from([math.nan, math.inf, -math.inf, np.float32("nan")]))
def test_real_refuses_non_finite_values(value: float) -> None:
    _raises(ValueError, lambda: v.real(value, "f", "x"), "f", "x", value)
    if not math.isnan(value):
        assert v.real(value, "f", "x", finite=False) == value


@given(NOT_NUMBERS.filter(lambda x: x is not None) | st.just(np.bool_(False)))
def test_real_refuses_bools_and_non_numbers_with_a_type_error(value) -> None:
    _raises(TypeError, lambda: v.real(value, "SGD", "momentum", low=0, high=1), "SGD", "momentum", value)


@given(st.sampled_from([True, False, np.bool_(True), np.bool_(False)]))
def test_boolean_accepts_python_and_numpy_bools(value) -> None:
    assert v.boolean(value, "f", "flag") is bool(value)


@given(st.one_of(st.integers(0, 1), st.none(), st.text(max_size=2), st.floats()))
def test_boolean_refuses_everything_else(value) -> None:
    _raises(TypeError, lambda: v.boolean(value, "f", "flag"), "f", "flag", value)


@given(st.sampled_from(["valid", "same", "VALID", "Same"]))
def test_choice_returns_the_option_as_spelled(value: str) -> None:
    assert v.choice(value, ("valid", "same"), "f", "padding", fold_case=True) == value.lower()
    assert v.choice("pr", ("ROC", "PR"), "AUC", "curve", fold_case=True) == "PR"


@given(st.one_of(st.text(max_size=4).filter(lambda s: s not in ("auto", "0", "1", "2")), st.booleans(),
                 st.integers(3, 9), st.lists(st.integers(), max_size=2)))
def test_choice_refuses_others_listing_the_options(value) -> None:
    options = ("auto", 0, 1, 2)
    _raises(ValueError, lambda: v.choice(value, options, "fit", "verbose"), "fit", "verbose", value)
    with pytest.raises(ValueError, match="one of 'auto', 0, 1, 2"):
        v.choice(value, options, "fit", "verbose")


def test_choice_keeps_bools_and_ints_apart_and_case_when_asked() -> None:
    assert v.choice(True, ("auto", True, False), "f", "jit") is True
    assert v.choice(1, (0, 1), "f", "v") == 1
    with pytest.raises(ValueError):
        v.choice(True, (0, 1), "f", "v")
    with pytest.raises(ValueError):
        v.choice("SAME", ("valid", "same"), "f", "padding")


@given(st.integers(1, 4), st.data())
def test_int_tuple_broadcasts_an_int_and_checks_each_entry(n: int, data: st.DataObject) -> None:
    value = data.draw(st.one_of(st.integers(1, 2**62), st.lists(st.integers(1, 2**62), min_size=n, max_size=n)))
    out = v.int_tuple(value, n, "Conv2D 'c'", "strides")
    assert out == ((value,) * n if isinstance(value, int) else tuple(value))
    bad = data.draw(st.lists(st.integers(-5, 0), min_size=n, max_size=n))
    _raises(ValueError, lambda: v.int_tuple(bad, n, "Conv2D 'c'", "strides"), "Conv2D 'c'", "strides", bad)
    wrong = data.draw(st.one_of(st.lists(st.integers(1, 5), min_size=n + 1, max_size=n + 2),
                                st.lists(st.booleans(), min_size=n, max_size=n), st.text(max_size=2)))
    _raises(TypeError, lambda: v.int_tuple(wrong, n, "Conv2D 'c'", "strides"), "Conv2D 'c'", "strides", wrong)


def test_int_tuple_refuses_entries_beyond_64_bits() -> None:
    with pytest.raises(ValueError, match=r"expected strides to be a positive int or a tuple of 2 positive ints"):
        v.int_tuple((1, 2**63), 2, "conv", "strides")


@given(st.lists(st.one_of(st.integers(0, 2**40), st.none()), max_size=4))
def test_shape_round_trips_and_refuses_negative_dims_with_a_shape_error(dims: list) -> None:
    if None in dims:
        _raises(TypeError, lambda: v.shape(dims, "Input", "shape"), "Input", "shape", dims)
    else:
        assert v.shape(dims, "Input", "shape") == tuple(dims)
    assert v.shape(tuple(dims), "Input", "shape", none=True) == tuple(dims)
    bad = [*dims, -1]
    _raises(ShapeError, lambda: v.shape(bad, "Input", "shape", none=True), "Input", "shape", bad)


def test_frequency_takes_a_word_or_a_positive_int() -> None:
    assert v.frequency("epoch", "ModelCheckpoint", "save_freq") == "epoch"
    assert v.frequency(np.int64(3), "ModelCheckpoint", "save_freq") == 3
    for bad in (0, True, "batch", 2.0):
        _raises(ValueError, lambda: v.frequency(bad, "ModelCheckpoint", "save_freq"), "ModelCheckpoint",
                "save_freq", bad)
    with pytest.raises(ValueError, match="expected update_freq to be 'epoch' or 'batch' or a positive int"):
        v.frequency(-1, "TensorBoard", "update_freq", ("epoch", "batch"))
