"""Every optimizer, through its real class over several steps, against Keras 3's Optimizer.apply written
out in NumPy (kernels.reference.KerasOptimizer): weights, slots, moving averages and iterations."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad import optimizers
from minigrad.kernels import reference as R
from minigrad.optimizers import schedules
from minigrad.tensor import Tensor

OPTIMIZERS = {cls.__name__.lower(): cls for cls in (getattr(optimizers, n) for n in optimizers.__all__)
              if isinstance(cls, type) and issubclass(cls, optimizers.Optimizer) and cls is not optimizers.Optimizer}
F64 = dict(rtol=1e-11, atol=1e-13)

# the options each rule adds to the base ones (Keras' constructor arguments)
_EPSILON = st.sampled_from([1e-7, 1e-4, 0.1])
_ADAM = dict(beta_1=st.floats(0.0, 0.99), beta_2=st.floats(0.5, 0.9999), epsilon=_EPSILON,
             amsgrad=st.booleans())
RULE_OPTIONS: dict[str, dict[str, st.SearchStrategy]] = {
    "sgd": dict(momentum=st.sampled_from([0.0, 0.5, 0.9, 1.0]) | st.floats(0.0, 1.0), nesterov=st.booleans()),
    # rho near 0 makes centered's v - a^2 a cancellation to rounding error: no tolerance would be honest
    "rmsprop": dict(rho=st.floats(0.1, 0.99), momentum=st.sampled_from([0.0, 0.9]) | st.floats(0.0, 0.99),
                    epsilon=_EPSILON, centered=st.booleans()),
    "adam": _ADAM,
    "adamw": {**_ADAM, "weight_decay": st.floats(0.0, 0.5)},
    "adagrad": dict(initial_accumulator_value=st.floats(0.0, 1.0), epsilon=_EPSILON),
}
# a schedule is called with the step by both (its own formula is tested in test_schedules.py)
SCHEDULES = st.builds(schedules.ExponentialDecay, st.floats(1e-3, 0.5), st.integers(1, 3), st.floats(0.5, 1.0))
BASE_OPTIONS = dict(learning_rate=st.floats(1e-4, 0.5) | SCHEDULES, weight_decay=st.none() | st.floats(0.0, 0.5),
                    use_ema=st.booleans(), ema_momentum=st.floats(0.0, 0.999),
                    ema_overwrite_frequency=st.none() | st.integers(1, 3))
CLIPPING = st.sampled_from(["clipnorm", "clipvalue", "global_clipnorm"])

CASES = [  # each option at least once, whatever hypothesis draws
    ("sgd", dict(learning_rate=0.1)), ("sgd", dict(learning_rate=0.1, momentum=0.9)),
    ("sgd", dict(learning_rate=0.1, momentum=0.8, nesterov=True, clipnorm=0.5)),
    ("rmsprop", dict()), ("rmsprop", dict(learning_rate=0.01, momentum=0.5, global_clipnorm=0.7)),
    ("rmsprop", dict(learning_rate=0.01, centered=True, momentum=0.3, rho=0.8, use_ema=True, ema_momentum=0.9)),
    ("adam", dict(learning_rate=0.01, clipvalue=0.3)), ("adam", dict(learning_rate=0.01, amsgrad=True, beta_1=0.8)),
    ("adamw", dict(learning_rate=0.01, weight_decay=0.004, use_ema=True, ema_overwrite_frequency=2)),
    ("adagrad", dict(learning_rate=0.05)),
    ("adagrad", dict(learning_rate=0.05, initial_accumulator_value=0.5, weight_decay=0.1)),
]


@st.composite
def configs(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """Some of the rule's and the base options (the rest stay at their defaults)."""
    options = {**BASE_OPTIONS, **RULE_OPTIONS[name]}
    config = {key: draw(strategy) for key, strategy in options.items() if draw(st.booleans())}
    if draw(st.booleans()):  # Keras allows one kind of clipping at a time
        config[draw(CLIPPING)] = draw(st.floats(0.05, 2.0))
    return config


def _weights(shapes: list[tuple[int, ...]], rng: np.random.Generator, dtypes: Any = (np.float64,)) -> list[Tensor]:
    return [Tensor(rng.normal(size=s).astype(dtypes[i % len(dtypes)]), requires_grad=True)
            for i, s in enumerate(shapes)]


def _compare(opt: optimizers.Optimizer, twin: R.KerasOptimizer, weights: list[Tensor],
             twin_weights: list[np.ndarray], **tol: float) -> None:
    assert opt.iterations == twin.iterations
    for w, t in zip(weights, twin_weights):
        np.testing.assert_allclose(w.data, t, **tol)
    state = opt.get_state()
    assert {k.rpartition("/")[0] for k in state if "/" in k} - {"ema"} == set(twin.slots)  # Keras' slot names
    for name, arrays in twin.slots.items():
        for i, t in enumerate(arrays):
            np.testing.assert_allclose(state[f"{name}/{i}"], t, **tol, err_msg=f"slot {name}/{i}")
    if twin.averages is not None:
        for a, t in zip(opt.ema_weights(), twin.averages):
            np.testing.assert_allclose(a, t, **tol, err_msg="moving average")


def run(name: str, config: dict[str, Any], weights: list[Tensor], grads: list[list[np.ndarray | None]],
        **tol: float) -> None:
    """Step the optimizer and its Keras twin (in float64) through the same gradients, comparing each step."""
    opt, twin = OPTIMIZERS[name](**config), R.KerasOptimizer(name, **config)
    twin_weights = [w.data.astype(np.float64) for w in weights]
    for step in grads:
        opt.apply(step, weights)  # Keras 3's apply(grads, trainable_variables); None skips a weight
        twin.apply([None if g is None else g.astype(np.float64) for g in step], twin_weights)
        _compare(opt, twin, weights, twin_weights, **tol)
    if twin.averages is not None:
        opt.finalize_variable_values()
        twin.finalize_variable_values(twin_weights)
        _compare(opt, twin, weights, twin_weights, **tol)


def _gradients(rng: np.random.Generator, weights: list[Tensor], steps: int,
               missing: set[tuple[int, int]] = frozenset()) -> list[list[np.ndarray | None]]:
    return [[None if (s, i) in missing else rng.normal(size=w.shape).astype(w.dtype) for i, w in enumerate(weights)]
            for s in range(steps)]


def test_every_optimizer_has_a_twin_and_keras_defaults() -> None:
    assert set(OPTIMIZERS) == set(R.KERAS_DEFAULTS)
    for name, cls in OPTIMIZERS.items():
        assert type(optimizers.get(name)) is cls
        config = cls().get_config()
        for key, value in {**R.KERAS_BASE_DEFAULTS, **R.KERAS_DEFAULTS[name]}.items():
            assert config[key] == value, f"{name}: {key}"


@pytest.mark.parametrize("name,config", CASES, ids=[f"{n}-{'-'.join(c)}" for n, c in CASES])
def test_cases_match_the_keras_twin_float64(name: str, config: dict[str, Any]) -> None:
    rng = np.random.default_rng(0)
    weights = _weights([(3, 4), (5,), (2, 3, 2)], rng)
    run(name, config, weights, _gradients(rng, weights, 5), **F64)


@pytest.mark.parametrize("name", sorted(R.KERAS_DEFAULTS))
@given(data=st.data(), shapes=st.lists(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), min_size=1, max_size=3),
       steps=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_any_options_match_the_keras_twin_float64(name: str, data: st.DataObject, shapes: list[tuple[int, ...]],
                                                  steps: int, seed: int) -> None:
    config = data.draw(configs(name), label="config")
    rng = np.random.default_rng(seed)
    weights = _weights(shapes, rng)
    missing = {(s, i) for s in range(steps) for i in range(len(shapes)) if i and rng.random() < 0.3}
    run(name, config, weights, _gradients(rng, weights, steps, missing), **F64)


@pytest.mark.parametrize("name,config", CASES[::2], ids=[n for n, _ in CASES[::2]])
def test_float32_and_mixed_dtypes_follow_the_twin(name: str, config: dict[str, Any]) -> None:
    rng = np.random.default_rng(1)
    weights = _weights([(3, 4), (5,), (4,)], rng, dtypes=(np.float32, np.float32, np.float64))
    run(name, config, weights, _gradients(rng, weights, 4), rtol=2e-5, atol=1e-6)
    assert [w.dtype for w in weights] == [np.float32, np.float32, np.float64]


def test_weights_without_a_gradient_keep_their_values_and_slots() -> None:
    rng = np.random.default_rng(2)
    weights = _weights([(3, 4), (5,), (2, 3, 2)], rng)
    missing = {(1, 1), (2, 1), (2, 0), (3, 2)}
    run("adam", dict(learning_rate=0.1, weight_decay=0.1), weights, _gradients(rng, weights, 4, missing), **F64)
