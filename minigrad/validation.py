"""Argument validators: each returns the normalised value or raises "who: expected ..., received ...".

Wrong types raise TypeError, values out of range ValueError (ShapeError for shapes). bool is never
an int or a float here; numpy integer/floating scalars count as Python numbers. Ints are checked
as Python ints and must fit in 64 bits, so a size never overflows on its way into a kernel.
"""
from __future__ import annotations

import math
import os
from typing import Any, Sequence

import numpy as np

from minigrad.errors import ShapeError

__all__ = ["INT64_MIN", "INT64_MAX", "is_int", "is_real", "integer", "real", "boolean", "choice",
           "frequency", "int_tuple", "shape", "path"]

INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def is_int(value: Any) -> bool:
    """True for a Python or numpy integer that is not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def plain(*values: Any) -> bool:
    """True when every value is an exact int, str or None, or a tuple of exact ints: arguments
    equal to ones already validated are then valid alike, so a cache may key on them as given
    (a bool or numpy integer compares equal to an int and must go through the checks)."""
    for v in values:
        t = type(v)
        if not (t is int or t is str or v is None
                or (t is tuple and all(type(e) is int for e in v))):
            return False
    return True


def is_real(value: Any) -> bool:
    """True for a Python or numpy int or float that is not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _fail(error: type[Exception], who: str, name: str, what: str, value: Any) -> Exception:
    return error(f"{who}: expected {name} to be {what}, received {value!r}")


def _bounds(low: Any, high: Any, low_open: bool = False, high_open: bool = False) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low}"
    return "" if high is None else f" {'<' if high_open else '<='} {high}"


def _int_what(low: int | None, high: int | None, plural: bool = False) -> str:
    if high is None and low in (0, 1):
        kind = "positive int" if low == 1 else "non-negative int"
        return kind + "s" if plural else "a " + kind
    return ("ints" if plural else "an int") + _bounds(low, high)


def integer(value: Any, who: str, name: str, *, low: int | None = None, high: int | None = None,
            none: bool = False) -> int | None:
    """An int in [low, high] (and in int64) as a Python int; None passes through when none=True."""
    if value is None and none:
        return None
    what = _int_what(low, high) + (" or None" if none else "")
    if not is_int(value):
        raise _fail(TypeError, who, name, what, value)
    v = int(value)
    if low is not None and v < low or high is not None and v > high:
        raise _fail(ValueError, who, name, what, value)
    if not INT64_MIN <= v <= INT64_MAX:
        raise _fail(ValueError, who, name, f"{what} that fits in 64 bits", value)
    return v


def real(value: Any, who: str, name: str, *, low: float | None = None, high: float | None = None,
         low_open: bool = False, high_open: bool = False, finite: bool = True,
         none: bool = False) -> float | None:
    """A float within the bounds (open or closed), finite unless finite=False; None passes with none=True."""
    if value is None and none:
        return None
    bounded = low is not None and high is not None
    what = ("a finite float" if finite and not bounded else "a float") + _bounds(low, high, low_open, high_open)
    what += " or None" if none else ""
    if not is_real(value):
        raise _fail(TypeError, who, name, what, value)
    v = float(value)
    if (math.isnan(v) or (finite and math.isinf(v))
            or low is not None and (v <= low if low_open else v < low)
            or high is not None and (v >= high if high_open else v > high)):
        raise _fail(ValueError, who, name, what, value)
    return v


def boolean(value: Any, who: str, name: str) -> bool:
    """A Python or numpy bool as a Python bool (0 and 1 are not bools)."""
    if not isinstance(value, (bool, np.bool_)):
        raise _fail(TypeError, who, name, "a bool", value)
    return bool(value)


def choice(value: Any, options: Sequence[Any], who: str, name: str, *, fold_case: bool = False) -> Any:
    """The option equal to value (strings in any case with fold_case), as spelled in options."""
    def fold(v: Any) -> Any:
        return v.lower() if fold_case and isinstance(v, str) else v

    for option in options:  # True == 1 in Python: a bool only matches a bool; arrays match nothing
        if isinstance(option, bool) == isinstance(value, bool) and np.ndim(value) == 0 and fold(option) == fold(value):
            return option
    raise _fail(ValueError, who, name, "one of " + ", ".join(map(repr, options)), value)


def frequency(value: Any, who: str, name: str, words: tuple[str, ...] = ("epoch",)) -> str | int:
    """One of words (Keras' 'epoch') or a positive int, as Keras' save_freq and update_freq."""
    if isinstance(value, str) and value in words:
        return value
    if not is_int(value) or value < 1:
        raise _fail(ValueError, who, name, " or ".join(map(repr, words)) + " or a positive int", value)
    return integer(value, who, name)


def int_tuple(value: Any, n: int, who: str, name: str, *, low: int | None = 1,
              high: int | None = None) -> tuple[int, ...]:
    """An int, or a tuple/list of n ints, each in [low, high] -> a tuple of n Python ints (Keras' normalize_tuple)."""
    what = f"{_int_what(low, high)} or a tuple of {n} {_int_what(low, high, plural=True)}"
    values = (value,) * n if is_int(value) else value
    if not isinstance(values, (tuple, list)) or len(values) != n or not all(is_int(v) for v in values):
        raise _fail(TypeError, who, name, what, value)
    if any(low is not None and v < low or high is not None and v > high or not INT64_MIN <= v <= INT64_MAX
           for v in values):
        raise _fail(ValueError, who, name, what, value)
    return tuple(int(v) for v in values)


def shape(value: Any, who: str, name: str, *, low: int = 0, none: bool = False) -> tuple[int | None, ...]:
    """A tuple/list of dimensions >= low (None for unknown ones with none=True) as a tuple."""
    what = f"a tuple of {_int_what(low, None, plural=True)}{' or None' if none else ''}"
    if not isinstance(value, (tuple, list)) or not all(is_int(d) or (none and d is None) for d in value):
        raise _fail(TypeError, who, name, what, value)
    if any(d is not None and not low <= d <= INT64_MAX for d in value):
        raise _fail(ShapeError, who, name, what, value)
    return tuple(None if d is None else int(d) for d in value)


def path(value: Any, who: str, name: str, *, none: bool = False) -> str | None:
    """A non-empty str or os.PathLike as a str (os.fspath); None passes through when none=True."""
    if value is None and none:
        return None
    text = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
    if not isinstance(text, str) or not text:
        raise _fail(TypeError if text is None else ValueError, who, name, "a non-empty str or os.PathLike", value)
    return text
