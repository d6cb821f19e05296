"""What Layer learns about user code by looking at it: call() arguments, __init__ arguments, output shapes.

Keras 3 passes `training`/`mask` to call() only when its signature names them, rebuilds layers
that define no get_config() from the plain Python arguments their __init__ received, and finds the
output shape of a layer without compute_output_shape() by tracing call(). Each of these is done
here once per class (signatures) or once per symbolic call (traces), never per training step.
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import numpy as np

from minigrad.errors import ShapeError

__all__ = ["checked_shape", "call_flags", "init_arguments", "auto_config", "trace_output_shape", "find_layers"]

_PLAIN = (str, int, float, bool, type(None))


def checked_shape(compute: Any) -> Any:
    """compute_output_shape() that checks the input shape against input_spec first (naming the layer)."""
    @functools.wraps(compute)
    def wrapper(self: Any, input_shape: Any) -> Any:
        if not self._multi_input:
            input_shape = tuple(input_shape)
            self._check_shape(input_shape)
        return compute(self, input_shape)
    return wrapper


def call_flags(call: Callable[..., Any]) -> tuple[bool, bool]:
    """(takes training, takes mask): whether call() names these parameters (Keras' call_spec)."""
    try:
        params = inspect.signature(call).parameters
    except (TypeError, ValueError):  # builtins without a signature: pass nothing extra
        return False, False
    return "training" in params, "mask" in params


def _init_parameters(cls: type) -> tuple[list[str], bool]:
    """(__init__ parameter names after self, whether it takes **kwargs), cached on the class."""
    cached = cls.__dict__.get("_init_parameters_cache")
    if cached is None:
        try:
            params = list(inspect.signature(cls.__init__).parameters.values())[1:]
        except (TypeError, ValueError):
            params = []
        names = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        cached = (names, any(p.kind is p.VAR_KEYWORD for p in params))
        type.__setattr__(cls, "_init_parameters_cache", cached)
    return cached


def _is_plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def init_arguments(cls: type, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The arguments __init__ receives by name, or None if one is not a plain Python value.

    Keras' rule for auto-configs: only str, int, float, bool, None and lists/dicts of them are
    trusted to rebuild the layer; anything else (a layer, an array) needs get_config().
    """
    names, _ = _init_parameters(cls)
    if len(args) > len(names):
        return None
    found = dict(zip(names, args))
    found.update(kwargs)
    if not all(_is_plain(v) for v in found.values()):
        return None
    return {k: list(v) if isinstance(v, tuple) else v for k, v in found.items()}


def auto_config(layer: Any, config: dict[str, Any]) -> dict[str, Any]:
    """config plus the layer's __init__ arguments; base keys __init__ cannot take are dropped."""
    cls = type(layer)
    captured = layer.__dict__.get("_init_args")
    if captured is None:
        raise NotImplementedError(
            f"{cls.__name__} '{layer.name}': get_config() is not implemented and __init__ received "
            "arguments that are not plain Python values (str, int, float, bool, None, lists or "
            "dicts of them); override get_config() (and from_config() if needed) to save this layer")
    names, takes_kwargs = _init_parameters(cls)
    merged = {**config, **captured}
    if not takes_kwargs:
        merged = {k: v for k, v in merged.items() if k in names}
    return merged


def find_layers(value: Any, is_layer: Callable[[Any], bool], found: list[Any]) -> None:
    """Append every layer held in value, directly or inside (nested) lists, tuples and dict values."""
    if is_layer(value):
        found.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            find_layers(v, is_layer, found)
    elif isinstance(value, dict):
        for v in value.values():
            find_layers(v, is_layer, found)


def _probe(shape: tuple, fill: int) -> tuple[int, ...]:
    # a batch of one: a zero-size batch breaks reshape(-1) and reductions over the batch axis
    return (1, *(fill if d is None else int(d) for d in shape[1:]))


def _shapes_of(outputs: Any, who: str) -> Any:
    if isinstance(outputs, (list, tuple)):
        return [_shapes_of(o, who) for o in outputs]
    shape = getattr(outputs, "shape", None)
    if shape is None:
        raise TypeError(f"{who}: call() must return a Tensor (or a list of them), received "
                        f"{type(outputs).__name__}")
    return tuple(shape)


def _merge(a: Any, b: Any) -> Any:
    """Shapes from two probes: the batch axis and every axis that changed with the probe become None."""
    if isinstance(a, list):
        return [_merge(x, y) for x, y in zip(a, b)]
    return (None, *(d if d == e else None for d, e in zip(a[1:], b[1:])))


def trace_output_shape(layer: Any, input_shape: Any, run: Callable[[Any], Any]) -> Any:
    """Output shape(s) of `run(inputs)` on zero batches of one; unknown axes are probed twice.

    Errors name the layer: a wrong call() fails here, not in the next layer that gets its output.
    """
    from minigrad.tensor import Tensor, no_grad

    who = f"{type(layer).__name__} '{layer.name}'"
    shapes = list(input_shape) if layer._multi_input else [tuple(input_shape)]
    unknown = any(d is None for s in shapes for d in tuple(s)[1:])
    results = []
    for fill in ((2, 3) if unknown else (2,)):
        xs = [Tensor(np.zeros(_probe(tuple(s), fill), dtype=layer.dtype)) for s in shapes]
        try:
            with no_grad(), np.errstate(all="ignore"):
                out = run(xs if layer._multi_input else xs[0])
        except (ShapeError, ValueError, TypeError) as e:
            given = [(None, *tuple(s)[1:]) for s in shapes] if layer._multi_input else (None, *shapes[0][1:])
            raise type(e)(f"{who}: calling it on inputs of shape {given} to find its output shape "
                          f"failed (define compute_output_shape() if call() cannot run on zeros): {e}") from e
        results.append(_shapes_of(out, who))
    merged = _merge(results[0], results[-1]) if len(results) > 1 else _merge(results[0], results[0])
    return merged
