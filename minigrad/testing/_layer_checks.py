"""The checks behind check_layer: structure (config, build, shapes, weights, a training step) and gradients.

Layer classes describe a small example through class attributes (docs/CONTRACTS.md, "Checking
layers"): `example_config` (constructor kwargs), `example_input_shape` (with batch axis; a list of
shapes for multi-input layers; None = not checkable alone), `example_input_dtype`, `example_input_range`.
"""
from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from minigrad.tensor import Tensor, no_grad
from minigrad.testing.checks import CheckReport, describe_example, kernel_threads, run_hypothesis
from minigrad.testing.gradcheck import Problem, Target, compare

_MISSING = object()
_LEARNING_RATE = 0.05
_KINK_MARGIN = 1e-2  # finite differences (eps 1e-6) must not straddle a kink or a tie


def _is_multi(shape: Any) -> bool:
    return isinstance(shape, list) and all(isinstance(s, (list, tuple)) for s in shape)


def _input_kind(cls: type) -> tuple[np.dtype, float, float]:
    dtype = np.dtype(getattr(cls, "example_input_dtype", "float64"))
    low, high = getattr(cls, "example_input_range", (-2.0, 2.0))
    return dtype, float(low), float(high)


def _random_input(cls: type, shape: Any, rng: np.random.Generator, float_dtype: Any) -> Any:
    if _is_multi(shape):
        return [_random_input(cls, tuple(s), rng, float_dtype) for s in shape]
    dtype, low, high = _input_kind(cls)
    if dtype.kind in "iu":
        return rng.integers(int(low), int(high), size=tuple(shape)).astype(dtype)
    return rng.uniform(low, high, size=tuple(shape)).astype(float_dtype)


def _input_strategy(cls: type, shape: Any) -> Any:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    from minigrad.testing import strategies

    if _is_multi(shape):
        return st.tuples(*(_input_strategy(cls, tuple(s)) for s in shape)).map(list)
    dtype, low, high = _input_kind(cls)
    if dtype.kind in "iu":
        return hnp.arrays(dtype, tuple(shape), elements=st.integers(int(low), int(high) - 1))
    # distinct values (no ties for max pooling) kept _KINK_MARGIN away from 0 (relu-like kinks)
    gap = _KINK_MARGIN / 2
    return strategies.distinct_arrays(tuple(shape), gap=gap, low=low, high=high).map(
        lambda a: np.where(a >= 0, a + _KINK_MARGIN, a - _KINK_MARGIN))


def _as_tensors(x: Any, track: bool = False) -> Any:
    if isinstance(x, list):
        return [_as_tensors(a, track) for a in x]
    return Tensor(x, requires_grad=track and x.dtype.kind == "f")


def _shape_of(x: Any) -> Any:
    return [tuple(a.shape) for a in x] if isinstance(x, list) else tuple(x.shape)


def _batchless(shape: Any) -> Any:
    return [(None, *s[1:]) for s in shape] if isinstance(shape, list) else (None, *shape[1:])


def _normalized(config: dict[str, Any], what: str) -> Any:
    try:
        return json.loads(json.dumps(config))
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{what} is not JSON-serializable ({exc}): {config!r}") from exc


def _check_structure(layer: Any, shape: Any, rng: np.random.Generator) -> None:
    """Config and registry round trips, build, output shape, weight count, training step, weight reload."""
    from minigrad import layers as layers_module
    from minigrad.errors import UnknownNameError
    from minigrad.saving import custom_object_scope

    cls = type(layer)
    config = _normalized(layer.get_config(), "get_config()")
    clone_config = _normalized(cls.from_config(config).get_config(), "from_config(config).get_config()")
    if clone_config != config:
        raise AssertionError(f"config round trip changed the config: {config} -> {clone_config}")
    try:
        entry = _normalized(layers_module.serialize(layer), "layers.serialize(layer)")
    except UnknownNameError:
        entry = None  # a class no registry can name: only its own round trip
    if entry is not None:
        with custom_object_scope({cls.__name__: cls}):  # an unregistered class is saved by class name
            rebuilt = layers_module.deserialize(entry)
        if type(rebuilt) is not cls or _normalized(rebuilt.get_config(), "config") != config:
            raise AssertionError(f"layers.deserialize(layers.serialize(layer)) gave {rebuilt!r}, "
                                 f"config {rebuilt.get_config()}")
    x = _random_input(cls, shape, rng, layer.dtype)
    out = layer(_as_tensors(x))
    if not layer.built:
        raise AssertionError("the layer is not marked built after its first call")
    expected = tuple(layer.compute_output_shape(_batchless(shape)))
    if len(expected) != out.ndim or tuple(expected[1:]) != tuple(out.shape[1:]) or \
            expected[0] not in (None, out.shape[0]):
        raise AssertionError(f"compute_output_shape({_batchless(shape)}) = {expected}, but calling on "
                             f"{_shape_of(x)} gave {tuple(out.shape)}")
    n_weights = sum(w.data.size for w in layer.weights)
    if layer.count_params() != n_weights:
        raise AssertionError(f"count_params() = {layer.count_params()}, but the weights hold {n_weights}")
    if len(layer.trainable_weights) + len(layer.non_trainable_weights) != len(layer.weights):
        raise AssertionError("trainable_weights + non_trainable_weights differ from weights")
    _check_training_step(layer, x, rng)
    _check_weight_reload(layer, config, x)
    if entry is not None:  # saving resolves layers only through the registry
        _check_save_load(layer, config, x)


def _check_training_step(layer: Any, x: Any, rng: np.random.Generator) -> None:
    """One SGD step on sum(out * r) + sum(layer.losses): trainable weights move, frozen ones do not."""
    for w in layer.weights:
        w.grad = None
    out = layer(_as_tensors(x), training=True)
    loss = (out * Tensor(rng.uniform(0.5, 1.5, size=out.shape).astype(out.dtype))).sum()
    for penalty in layer.losses:
        loss = loss + penalty
    if loss.requires_grad:  # else nothing is trainable: only check that frozen weights stay put
        loss.backward()
    frozen = {id(w): w.data.copy() for w in layer.non_trainable_weights}  # after forward: BN stats move
    for w in layer.non_trainable_weights:
        if w.grad is not None:
            raise AssertionError(f"frozen weight '{w.name}' received a gradient")
    for w in layer.trainable_weights:
        if w.grad is None:
            raise AssertionError(f"trainable weight '{w.name}' received no gradient")
        before = w.data.copy()
        w.data[...] = w.data - _LEARNING_RATE * w.grad
        w.apply_constraint()
        if np.any(w.grad != 0) and np.array_equal(before, w.data):
            raise AssertionError(f"trainable weight '{w.name}' did not change in a training step")
        w.grad = None
    for w in layer.non_trainable_weights:
        if not np.array_equal(frozen[id(w)], w.data):
            raise AssertionError(f"frozen weight '{w.name}' changed in a training step")


def _check_weight_reload(layer: Any, config: dict[str, Any], x: Any) -> None:
    """A layer rebuilt from its config and given get_weights() computes the same output."""
    fresh = type(layer).from_config(config)
    fresh(_as_tensors(x))

    def layout(of: Any) -> list[tuple[str, tuple[int, ...], bool]]:
        return [(w.name.rpartition("/")[2], w.data.shape, w.trainable) for w in of.weights]

    if layout(fresh) != layout(layer):
        raise AssertionError(f"from_config(get_config()) builds other weights (name, shape, trainable): "
                             f"{layout(fresh)} instead of {layout(layer)}; does get_config() miss an argument?")
    fresh.set_weights(layer.get_weights())
    with no_grad():
        a, b = layer(_as_tensors(x)).numpy(), fresh(_as_tensors(x)).numpy()
    tol = 1e-12 if a.dtype == np.float64 else 1e-6
    np.testing.assert_allclose(b, a, rtol=tol, atol=tol,
                               err_msg="from_config + set_weights(get_weights()) changed the output")


def _check_save_load(layer: Any, config: dict[str, Any], x: Any) -> None:
    """The layer in a functional Model survives save_model/load_model with the same output."""
    import os
    import tempfile

    from minigrad import models
    from minigrad.layers import Input

    items = x if isinstance(x, list) else [x]
    inputs = [Input(batch_shape=(None, *a.shape[1:]), dtype=a.dtype.name) for a in items]
    fresh = type(layer).from_config(config)
    model = models.Model(inputs if isinstance(x, list) else inputs[0],
                         fresh(inputs if isinstance(x, list) else inputs[0]))
    fresh.set_weights(layer.get_weights())
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "layer.minigrad")
        model.save(path)
        loaded = models.load_model(path, custom_objects={type(layer).__name__: type(layer)})
    with no_grad():
        expected = layer(_as_tensors(x)).numpy()
    actual = np.asarray(loaded.predict(x, verbose=0))
    tol = 1e-12 if expected.dtype == np.float64 else 1e-6
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol,
                               err_msg="save_model/load_model of a Model holding the layer changed its output")


def layer_gradcheck(layer: Any, x: Any, *, seed: int = 0, eps: float = 1e-6, atol: float = 1e-6,
                    rtol: float = 1e-4) -> float:
    """gradcheck's comparison for the float64 inputs and trainable weights of a layer (nudged in place).

    Returns the worst relative error; raises GradcheckError in gradcheck's form, naming the input or
    weight and its element. Tensors above DIRECTIONAL_ABOVE elements are checked along random directions.
    """
    __tracebackhide__ = True
    inputs = _as_tensors(x, track=True)
    flat = inputs if isinstance(inputs, list) else [inputs]
    tracked = [(f"input {i}", f"x{i}", t) for i, t in enumerate(flat) if t.requires_grad]
    tracked += [(f"weight '{w.name}'", w.name.rpartition("/")[2], w) for w in layer.trainable_weights]

    def gradients(weights: np.ndarray) -> list[np.ndarray]:
        for *_, t in tracked:
            t.grad = None
        layer(inputs, training=False).backward(weights)
        return [np.zeros_like(t.data) if t.grad is None else t.grad for *_, t in tracked]

    def outputs() -> np.ndarray:
        with no_grad():
            return np.array(layer(inputs, training=False).numpy(), dtype=np.float64, copy=True)

    r = np.random.default_rng(seed).uniform(0.5, 1.5, size=outputs().shape)
    targets = [Target(what, symbol, t.data, g) for (what, symbol, t), g in zip(tracked, gradients(r))]
    report = compare(type(layer).__name__, Problem(targets, outputs, gradients), r, eps=eps, atol=atol,
                     rtol=rtol, seed=seed, mode="auto")
    return report.max_rel_error


def _float64_twin(layer: Any, shape: Any) -> Any:
    cls = type(layer)
    twin = cls.from_config({**layer.get_config(), "dtype": "float64"})
    twin(_as_tensors(_random_input(cls, shape, np.random.default_rng(0), np.float64)))
    twin.set_weights([w.astype(np.float64) for w in layer.get_weights()])
    return twin


def run_layer_check(layer: Any, input_shape: Any = None, *, examples: int = 3, seed: int | None = None,
                    gradients: bool = True, threads: int | None = 1) -> CheckReport:
    """Every check_layer check, as a report (never raises for a failing layer)."""
    cls = layer if isinstance(layer, type) else type(layer)
    label = _registered_name(cls)
    shape = input_shape if input_shape is not None else getattr(cls, "example_input_shape", _MISSING)
    if shape is _MISSING:
        return CheckReport("layer", label, failure=f"{cls.__name__} declares no example_input_shape "
                           "(see docs/CONTRACTS.md, 'Checking layers'); pass input_shape=...")
    if shape is None:
        return CheckReport("layer", label, skipped="example_input_shape = None (not checkable alone)")
    shape = [tuple(s) for s in shape] if _is_multi(shape) else tuple(shape)
    start = time.perf_counter()
    try:
        instance = cls(**dict(getattr(cls, "example_config", {}))) if isinstance(layer, type) else layer
        with kernel_threads(threads):
            _check_structure(instance, shape, np.random.default_rng(0 if seed is None else seed))
            twin = _float64_twin(instance, shape) if gradients else None
    except Exception as exc:  # noqa: BLE001 - the report carries any failure
        return CheckReport("layer", label, examples=1, seconds=time.perf_counter() - start,
                           failure=f"{type(exc).__name__}: {exc}")
    if twin is None:
        return CheckReport("layer", label, examples=1, seconds=time.perf_counter() - start)
    strategy = _input_strategy(cls, shape)

    def body(data: Any) -> float:
        x = data.draw(strategy, describe_example)
        return layer_gradcheck(twin, x)

    report = run_hypothesis("layer", label, body, examples, seed, threads)
    report.seconds = time.perf_counter() - start  # structure checks included
    return report


def _registered_name(cls: type) -> str:
    from minigrad import layers as layers_module

    try:
        name, _ = layers_module.registry.name_of(cls)
    except Exception:  # noqa: BLE001 - an unregistered class is named by its class name
        return cls.__name__
    return name
