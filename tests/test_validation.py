"""minigrad.validation: accepted values round-trip, rejected ones name who, what and the value."""
import math
import pathlib
import re

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from minigrad import validation as v
from minigrad.errors import ShapeError

NOT_NUMBERS = st.one_of(st.booleans(), st.just(np.bool_(True)), st.text(max_size=3),
                        st.lists(st.integers(), max_size=2))


def _raises(error: type, call, who: str, name: str, value) -> str:
    """call() raises exactly `error` in the house form 'who: expected name to be ..., received repr(value)'."""
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert type(info.value) is error
    assert re.fullmatch(rf"{re.escape(who)}: expected {re.escape(name)} to be .+, received {re.escape(repr(value))}",
                        message), message
    return message


@given(st.integers(), st.integers(-2**70, 2**70), st.integers(-2**70, 2**70),
       st.sampled_from([int, np.int64, np.int32, np.uint8]))
@example(value=2**63, a=0, b=2**64, kind=int)
@example(value=-2**63 - 1, a=-2**64, b=0, kind=int)
def test_integer_round_trips_numpy_ints_and_checks_bounds_in_64_bits(value: int, a: int, b: int, kind: type) -> None:
    if kind is not int:
        value = int(kind(np.clip(value, np.iinfo(kind).min, np.iinfo(kind).max)))
    low, high = min(a, b), max(a, b)
    call = lambda: v.integer(kind(value), "f", "n", low=low, high=high)  # noqa: E731
    if low <= value <= high and v.INT64_MIN <= value <= v.INT64_MAX:
        assert call() == value and type(call()) is int
    else:
        message = _raises(ValueError, call, "f", "n", kind(value))
        assert f"in [{low}, {high}]" in message and ("64 bits" in message) == (low <= value <= high)


@given(st.one_of(NOT_NUMBERS, st.none(), st.floats(), st.just(np.float64(2.0))))
def test_integer_refuses_bools_floats_and_others_with_a_type_error(value) -> None:
    message = _raises(TypeError, lambda: v.integer(value, "Dense 'd'", "units", low=1), "Dense 'd'", "units", value)
    assert "a positive int" in message


@given(st.floats(-10, 10, width=32), st.floats(-10, 10), st.floats(-10, 10), st.booleans(), st.booleans(),
       st.sampled_from([float, np.float32, np.float64, int]))
@example(value=1.0, a=1.0, b=2.0, low_open=True, high_open=False, kind=float)
@example(value=2.0, a=1.0, b=2.0, low_open=False, high_open=True, kind=np.float64)
@example(value=2.0, a=1.0, b=2.0, low_open=True, high_open=False, kind=int)
def test_real_round_trips_and_enforces_open_or_closed_bounds(value: float, a: float, b: float, low_open: bool,
                                                             high_open: bool, kind: type) -> None:
    value = float(kind(value))
    low, high = min(a, b), max(a, b)
    call = lambda: v.real(kind(value), "f", "x", low=low, high=high, low_open=low_open, high_open=high_open)  # noqa
    if (low < value if low_open else low <= value) and (value < high if high_open else value <= high):
        assert call() == value and type(call()) is float
    else:
        message = _raises(ValueError, call, "f", "x", kind(value))
        assert f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}" in message


@given(st.sampled_from([math.nan, math.inf, -math.inf, np.float32("nan")]))
def test_real_refuses_non_finite_values_unless_asked(value: float) -> None:
    assert "a finite float >= 0" in _raises(ValueError, lambda: v.real(value, "f", "x", low=0), "f", "x", value)
    if not math.isnan(value):
        assert v.real(value, "f", "x", finite=False) == value


@given(NOT_NUMBERS)
def test_real_and_boolean_refuse_the_wrong_kinds(value) -> None:
    _raises(TypeError, lambda: v.real(value, "SGD", "momentum", low=0, high=1), "SGD", "momentum", value)
    if isinstance(value, (bool, np.bool_)):
        assert v.boolean(value, "f", "flag") is bool(value)
    else:
        _raises(TypeError, lambda: v.boolean(value, "f", "flag"), "f", "flag", value)
    for number in (0, 1, 1.0, None):
        _raises(TypeError, lambda: v.boolean(number, "f", "flag"), "f", "flag", number)


@given(st.one_of(st.text(max_size=4), st.booleans(), st.integers(-1, 3), st.lists(st.integers(), max_size=2)))
def test_choice_matches_options_without_confusing_bools_and_ints(value) -> None:
    options = ("auto", 0, 1, 2)
    if isinstance(value, (str, int)) and not isinstance(value, bool) and value in options:
        assert v.choice(value, options, "fit", "verbose") == value
    else:
        assert "one of 'auto', 0, 1, 2" in _raises(ValueError, lambda: v.choice(value, options, "fit", "verbose"),
                                                    "fit", "verbose", value)
    assert v.choice(True, ("auto", True, False), "f", "jit") is True


@given(st.sampled_from(["valid", "same", "VALID", "Same"]))
def test_choice_folds_case_only_when_asked_and_returns_the_option(value: str) -> None:
    assert v.choice(value, ("valid", "same"), "f", "padding", fold_case=True) == value.lower()
    assert v.choice(value.upper(), ("VALID", "SAME"), "f", "padding", fold_case=True) == value.upper()
    if value != value.lower():
        _raises(ValueError, lambda: v.choice(value, ("valid", "same"), "f", "padding"), "f", "padding", value)


@given(st.integers(1, 4), st.data())
def test_int_tuple_broadcasts_an_int_and_checks_each_entry(n: int, data: st.DataObject) -> None:
    value = data.draw(st.one_of(st.integers(1, 2**62), st.lists(st.integers(1, 2**62), min_size=n, max_size=n)))
    assert v.int_tuple(value, n, "Conv2D 'c'", "strides") == ((value,) * n if isinstance(value, int) else tuple(value))
    bad = data.draw(st.lists(st.integers(-5, 0), min_size=n, max_size=n) | st.just([2**63] * n))
    _raises(ValueError, lambda: v.int_tuple(bad, n, "Conv2D 'c'", "strides"), "Conv2D 'c'", "strides", bad)
    wrong = data.draw(st.lists(st.integers(1, 5), min_size=n + 1, max_size=n + 2)
                      | st.lists(st.booleans(), min_size=n, max_size=n) | st.text(max_size=2))
    message = _raises(TypeError, lambda: v.int_tuple(wrong, n, "Conv2D 'c'", "strides"), "Conv2D 'c'", "strides", wrong)
    assert f"a positive int or a tuple of {n} positive ints" in message


@given(st.lists(st.one_of(st.integers(0, 2**40), st.none()), max_size=4))
def test_shape_round_trips_and_refuses_negative_dims_with_a_shape_error(dims: list) -> None:
    if None in dims:
        _raises(TypeError, lambda: v.shape(dims, "Input", "shape"), "Input", "shape", dims)
    else:
        assert v.shape(dims, "Input", "shape") == tuple(dims)
    assert v.shape(tuple(dims), "Input", "shape", none=True) == tuple(dims)
    _raises(ShapeError, lambda: v.shape([*dims, -1], "Input", "shape", none=True), "Input", "shape", [*dims, -1])


def test_frequency_takes_a_word_or_a_positive_int() -> None:
    assert v.frequency("epoch", "M", "save_freq") == "epoch" and v.frequency(np.int64(3), "M", "save_freq") == 3
    for bad in (0, True, "batch", 2.0, 2**63):
        _raises(ValueError, lambda: v.frequency(bad, "M", "save_freq"), "M", "save_freq", bad)
    assert "'epoch' or 'batch' or a positive int" in _raises(
        ValueError, lambda: v.frequency(-1, "T", "update_freq", ("epoch", "batch")), "T", "update_freq", -1)


@given(st.one_of(st.text(max_size=3), st.integers(), st.none(), st.binary(max_size=2)))
def test_path_takes_a_non_empty_str_or_pathlike(value) -> None:
    if isinstance(value, str) and value:
        assert v.path(value, "f", "filepath") == value
        assert v.path(pathlib.PurePosixPath(value), "f", "filepath") == str(pathlib.PurePosixPath(value))
    else:
        error = ValueError if value == "" else TypeError
        _raises(error, lambda: v.path(value, "f", "filepath"), "f", "filepath", value)
    assert v.path(None, "f", "filepath", none=True) is None
