"""The optimizer protocol: flat buffers, constraints, learning rates, state, rebuilds, EMA, config, errors
(the update formulas against Keras' are in test_keras_twins.py)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import minigrad
from minigrad import optimizers
from minigrad.kernels import optim as kernels
from minigrad.kernels import reference as R
from minigrad.optimizers import schedules
from minigrad.tensor import Tensor

SHAPES = [(3, 4), (5,), (2, 3, 2)]


class W(Tensor):
    """A stand-in for layers.Weight: a Tensor with name, trainable and constraint attributes."""

    def __init__(self, data, name="w", constraint=None, trainable=True):
        super().__init__(data, requires_grad=True)
        self.name, self.constraint, self.trainable = name, constraint, trainable


def _weights(rng, dtype=np.float64, n=len(SHAPES)):
    return [W(rng.normal(size=s).astype(dtype), name=f"w{i}") for i, s in enumerate(SHAPES[:n])]


def test_backward_accumulates_into_the_flat_buffer_and_zero_grad_keeps_views():
    rng = np.random.default_rng(3)
    w = W(rng.normal(size=(4, 3)))
    b = W(np.zeros(3))
    x = rng.normal(size=(5, 4))
    opt = optimizers.SGD(learning_rate=0.1)
    for step in range(3):
        opt.zero_grad()
        ((Tensor(x) @ w + b) ** 2).mean().backward()
        if step:
            assert w.grad is grad_view and np.shares_memory(w.grad, opt._layout.groups[0].g)
        expected = w.data - 0.1 * w.grad
        opt.step([w, b])
        grad_view = w.grad
        np.testing.assert_allclose(w.data, expected)
        assert np.shares_memory(w.data, opt._layout.groups[0].w)
    opt.zero_grad()
    assert not w.grad.any() and w.grad is grad_view
    opt.zero_grad(set_to_none=True)
    assert w.grad is None


def test_constraints_are_applied_after_the_step():
    w = W(np.array([0.5, -0.5, 2.0]), constraint=lambda t: np.clip(t.data, 0.0, 1.0))
    free = W(np.array([3.0]))
    opt = optimizers.SGD(learning_rate=1.0)
    w.grad, free.grad = np.array([1.0, 1.0, -1.0]), np.array([-1.0])
    opt.step([w, free])
    np.testing.assert_array_equal(w.data, [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(free.data, [4.0])


def test_learning_rate_changes_take_effect():
    w = W(np.array([1.0]))
    opt = optimizers.SGD(learning_rate=0.1)
    w.grad = np.array([1.0])
    opt.step([w])
    opt.learning_rate = 0.01
    assert opt.learning_rate == 0.01
    opt.step([w])
    np.testing.assert_allclose(w.data, [1.0 - 0.1 - 0.01])
    sched = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    opt = optimizers.SGD(learning_rate=sched)
    v = W(np.array([0.0]))
    for k in range(4):
        assert opt.learning_rate == pytest.approx(0.1 * 0.5 ** (k / 2))
        v.grad = np.array([-1.0])
        opt.step([v])
    np.testing.assert_allclose(v.data, [sum(0.1 * 0.5 ** (k / 2) for k in range(4))])
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        opt.learning_rate = 0.5


def test_schedules_match_keras_formulas_and_round_trip():
    cases = [
        (schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True), lambda s: 0.1 * 0.5 ** (s // 10)),
        (schedules.InverseTimeDecay(0.1, 10, 0.5), lambda s: 0.1 / (1 + 0.5 * s / 10)),
        (schedules.PiecewiseConstantDecay([5, 10], [1.0, 0.5, 0.1]), lambda s: 1.0 if s <= 5 else 0.5 if s <= 10 else 0.1),
        (schedules.CosineDecay(0.1, 20, alpha=0.1), lambda s: 0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(s, 20) / 20)) + 0.1)),
    ]
    for sched, formula in cases:
        clone = schedules.deserialize(json.loads(json.dumps(schedules.serialize(sched))))
        for s in (0, 3, 5, 6, 10, 11, 25):
            assert sched(s) == pytest.approx(formula(s)) and clone(s) == pytest.approx(formula(s))


@pytest.mark.parametrize("cls,cfg", [(optimizers.RMSprop, dict(momentum=0.5, centered=True, use_ema=True)),
                                     (optimizers.Adam, dict(amsgrad=True)), (optimizers.Adagrad, {})])
def test_state_round_trip_continues_like_uninterrupted(tmp_path, cls, cfg):
    rng = np.random.default_rng(4)
    grads = [[rng.normal(size=s) for s in SHAPES] for _ in range(6)]
    ws, opt = _weights(np.random.default_rng(5)), cls(**cfg)
    for gs in grads[:3]:
        for w, g in zip(ws, gs):
            w.grad = g.copy()
        opt.step(ws)
    state = opt.get_state()
    np.savez(tmp_path / "opt.npz", **{k: v for k, v in state.items() if isinstance(v, np.ndarray)})
    (tmp_path / "opt.json").write_text(json.dumps({"iterations": state["iterations"], "lr": state["learning_rate"],
                                                   "config": optimizers.serialize(opt)}))
    meta = json.loads((tmp_path / "opt.json").read_text())
    restored_ws = [W(w.data.copy()) for w in ws]
    restored = optimizers.deserialize(meta["config"])
    with np.load(tmp_path / "opt.npz") as npz:
        restored.set_state({"iterations": meta["iterations"], "learning_rate": meta["lr"], **dict(npz)})
    assert restored.get_state().keys() == state.keys()
    for gs in grads[3:]:
        for a, b, g in zip(ws, restored_ws, gs):
            a.grad, b.grad = g.copy(), g.copy()
        opt.step(ws)
        restored.step(restored_ws)
    for a, b in zip(ws, restored_ws):
        np.testing.assert_array_equal(a.data, b.data)
    assert restored.iterations == opt.iterations == 6


def test_rebuild_when_weights_change_keeps_slots_of_the_others():
    rng = np.random.default_rng(6)
    ws = _weights(rng)
    opt, twin = optimizers.SGD(learning_rate=0.1, momentum=0.9), R.KerasOptimizer("sgd", learning_rate=0.1, momentum=0.9)
    twin_ws = [w.data.copy() for w in ws]
    for step in range(4):
        if step == 2:
            ws[1].trainable = False  # a frozen layer: excluded, untouched
            frozen = ws[1].data.copy()
        gs = [rng.normal(size=w.shape) for w in ws]
        for w, g in zip(ws, gs):
            w.grad = g.copy()
        opt.step(ws)
        twin.apply([gs[0], gs[1] if step < 2 else None, gs[2]], twin_ws)
    np.testing.assert_array_equal(ws[1].data, frozen)
    for i in (0, 2):
        np.testing.assert_allclose(ws[i].data, twin_ws[i], rtol=1e-12)
    ws[0].data = np.ones(SHAPES[0])  # set_weights() rebinding data is picked up
    ws[0].grad = np.zeros(SHAPES[0])
    ws[2].grad = None
    opt.step(ws)
    np.testing.assert_allclose(ws[0].data, 1.0 + opt.get_state()["momentum/0"])
    ws[2].data = np.full((7,), 2.0)  # a new shape: buffers are rebuilt (no broadcasting into the old slot)
    ws[2].grad = np.ones(7)
    opt.step(ws)
    np.testing.assert_allclose(ws[2].data, 2.0 - 0.1)  # fresh momentum slot for the reshaped weight
    assert opt.get_state()["momentum/1"].shape == (7,)  # indices count the trainable weights only


def test_keras_pairs_swap_ema_and_overwrite():
    a, b = W(np.array([1.0, 2.0])), W(np.array([3.0]))
    opt = optimizers.SGD(learning_rate=1.0, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=3)
    opt.apply_gradients([(np.array([1.0, 1.0]), a), (Tensor(np.array([2.0])), b)])
    np.testing.assert_array_equal(opt.ema_weights()[0], [0.0, 1.0])  # first average == weight
    opt.apply_gradients([(np.array([1.0, 1.0]), a), (None, b)])
    np.testing.assert_array_equal(a.data, [-1.0, 0.0])
    np.testing.assert_array_equal(opt.ema_weights()[0], [-0.5, 0.5])
    opt.swap_ema_weights()
    np.testing.assert_array_equal(a.data, [-0.5, 0.5])
    opt.swap_ema_weights()
    np.testing.assert_array_equal(a.data, [-1.0, 0.0])
    opt.apply_gradients([(np.array([0.0, 0.0]), a), (np.array([0.0]), b)])  # third step: overwrite
    np.testing.assert_array_equal(a.data, [-0.75, 0.25])


def test_get_serialize_deserialize():
    assert optimizers.get(None) is None
    for ident, cls in [("rmsprop", optimizers.RMSprop), ("RMSprop", optimizers.RMSprop), ("adamw", optimizers.AdamW),
                       ("AdamW", optimizers.AdamW), ("sgd", optimizers.SGD), (optimizers.Adagrad, optimizers.Adagrad)]:
        assert type(optimizers.get(ident)) is cls
    opt = optimizers.RMSprop()
    assert (opt.learning_rate, opt.rho, opt.momentum, opt.epsilon, opt.centered, opt.name) == (0.001, 0.9, 0.0, 1e-7, False, "rmsprop")
    assert optimizers.AdamW().weight_decay == 0.004 and optimizers.SGD().learning_rate == 0.01
    opt = optimizers.Adam(learning_rate=schedules.ExponentialDecay(0.1, 5, 0.9), amsgrad=True, clipnorm=1.0)
    clone = optimizers.get(json.loads(json.dumps(optimizers.serialize(opt))))
    assert clone.get_config() == opt.get_config() and clone.learning_rate == opt.learning_rate
    with pytest.raises(ValueError, match="rmsprop"):
        optimizers.get("rmsporp")


def test_bad_input_is_reported():
    with pytest.raises(ValueError, match="only one of"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.SGD(learning_rate=-1.0)
    with pytest.raises(TypeError, match="learning_rate"):
        optimizers.Adam(learning_rate="fast")
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(TypeError, match="dtype int64"):
        optimizers.SGD().step([Tensor(np.arange(3))])
    w = W(np.zeros(3))
    with pytest.raises(ValueError, match="no gradients"):
        optimizers.SGD().step([w])
    with pytest.raises(ValueError, match="listed twice"):
        optimizers.SGD().step([w, w])
    opt = optimizers.SGD(momentum=0.9)
    w.grad = np.ones(3)
    opt.step([w])
    with pytest.raises(ValueError, match="unknown entry 'velocity/0'"):
        opt.set_state({"iterations": 1, "velocity/0": np.zeros(3)})
    with pytest.raises(ValueError, match=r"has shape \(4,\)"):
        opt.set_state({"iterations": 1, "momentum/0": np.zeros(4)})
    with pytest.raises(ValueError, match="iterations"):
        opt.set_state({"iterations": -1})
    w.grad = np.ones(4)
    with pytest.raises(ValueError, match="has shape"):
        opt.step([w])
    with pytest.raises(ValueError, match="use_ema=False"):
        opt.ema_weights()


def test_kernel_wrappers_validate():
    w, g = np.zeros(8), np.zeros(8)
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.sgd_update(w[::2], g[::2], None, lr=0.1)
    with pytest.raises(ValueError, match="must match w"):
        kernels.sgd_update(w, g.astype(np.float32), None, lr=0.1)
    with pytest.raises(ValueError, match="momentum buffer is required"):
        kernels.sgd_update(w, g, None, lr=0.1, momentum=0.9)
    with pytest.raises(TypeError, match="float32 or float64"):
        kernels.adagrad_update(np.zeros(3, np.int32), g[:3], np.zeros(3), lr=0.1)
    with pytest.raises(ValueError, match="expected lr to be a finite float"):
        kernels.rmsprop_update(w, g, np.zeros(8), None, None, lr=math.nan)
    frozen = np.zeros(8)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        kernels.ema_update(frozen, w, 0.9)


def test_public_module_is_exposed():
    assert minigrad.optimizers is optimizers
