"""Optimizers against a plain per-weight NumPy transcription of Keras 3's update formulas."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import optimizers
from minigrad.kernels import optim as kernels
from minigrad.optimizers import schedules
from minigrad.tensor import Tensor

SHAPES = [(3, 4), (5,), (2, 3, 2)]


class W(Tensor):
    """A stand-in for layers.Weight: a Tensor with name, trainable and constraint attributes."""

    def __init__(self, data, name="w", constraint=None, trainable=True):
        super().__init__(data, requires_grad=True)
        self.name, self.constraint, self.trainable = name, constraint, trainable


class KerasRef:
    """Keras' optimizer.apply(): clip, weight decay, update_step per variable, EMA, iterations += 1."""

    def __init__(self, rule, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, **hp):
        self.rule, self.lr, self.wd, self.hp = rule, learning_rate, weight_decay, hp
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.use_ema, self.ema_momentum = use_ema, ema_momentum
        self.t, self.slots, self.ema = 0, {}, None

    def _clip(self, gs):
        if self.clipnorm:
            return [None if g is None else g * self.clipnorm / max(np.sqrt(np.sum(g * g)), self.clipnorm) for g in gs]
        if self.global_clipnorm:
            norm = np.sqrt(sum(np.sum(g * g) for g in gs if g is not None))
            return [None if g is None else g * (self.global_clipnorm / max(norm, self.global_clipnorm)) for g in gs]
        if self.clipvalue:
            return [None if g is None else np.clip(g, -self.clipvalue, self.clipvalue) for g in gs]
        return gs

    def slot(self, name, i, w):
        init = self.hp.get("initial_accumulator_value", 0.1) if name == "acc" else 0.0
        return self.slots.setdefault((name, i), np.full_like(w, init))

    def step(self, ws, gs):
        lr, gs = self.lr, self._clip(gs)
        for i, (w, g) in enumerate(zip(ws, gs)):
            if g is None:
                continue
            if self.wd:
                w -= w * self.wd * lr
            getattr(self, "_" + self.rule)(i, w, g, lr)
        if self.use_ema:
            if self.ema is None:
                self.ema = [np.zeros_like(w) for w in ws]
            mom = self.ema_momentum if self.t != 0 else 0.0
            for a, w in zip(self.ema, ws):
                a[...] = mom * a + (1 - mom) * w
        self.t += 1

    def _sgd(self, i, w, g, lr):
        mu = self.hp.get("momentum", 0.0)
        if mu == 0:
            w -= g * lr
            return
        m = self.slot("m", i, w)
        m[...] = m * mu - g * lr
        w += (m * mu - g * lr) if self.hp.get("nesterov") else m

    def _rmsprop(self, i, w, g, lr):
        rho, mu, eps = self.hp.get("rho", 0.9), self.hp.get("momentum", 0.0), self.hp.get("epsilon", 1e-7)
        v = self.slot("v", i, w)
        v[...] = rho * v + (1 - rho) * g * g
        if self.hp.get("centered"):
            a = self.slot("a", i, w)
            a[...] = rho * a + (1 - rho) * g
            den = v - a * a + eps
        else:
            den = v + eps
        inc = lr * g / np.sqrt(den)
        if mu > 0:
            m = self.slot("m", i, w)
            m[...] = mu * m + inc
            w -= m
        else:
            w -= inc

    def _adam(self, i, w, g, lr):
        b1, b2, eps = self.hp.get("beta_1", 0.9), self.hp.get("beta_2", 0.999), self.hp.get("epsilon", 1e-7)
        t = self.t + 1
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m, v = self.slot("m", i, w), self.slot("v", i, w)
        m += (g - m) * (1 - b1)
        v += (g * g - v) * (1 - b2)
        if self.hp.get("amsgrad"):
            vh = self.slot("vh", i, w)
            vh[...] = np.maximum(vh, v)
            v = vh
        w -= m * alpha / (np.sqrt(v) + eps)

    def _adagrad(self, i, w, g, lr):
        acc = self.slot("acc", i, w)
        acc += g * g
        w -= lr * g / np.sqrt(acc + self.hp.get("epsilon", 1e-7))


CASES = [
    ("sgd", optimizers.SGD, dict(learning_rate=0.1)),
    ("sgd", optimizers.SGD, dict(learning_rate=0.1, momentum=0.9)),
    ("sgd", optimizers.SGD, dict(learning_rate=0.1, momentum=0.8, nesterov=True)),
    ("rmsprop", optimizers.RMSprop, dict()),
    ("rmsprop", optimizers.RMSprop, dict(learning_rate=0.01, momentum=0.5)),
    ("rmsprop", optimizers.RMSprop, dict(learning_rate=0.01, centered=True)),
    ("rmsprop", optimizers.RMSprop, dict(learning_rate=0.01, centered=True, momentum=0.3, rho=0.8)),
    ("adam", optimizers.Adam, dict(learning_rate=0.01)),
    ("adam", optimizers.Adam, dict(learning_rate=0.01, amsgrad=True, beta_1=0.8)),
    ("adam", optimizers.AdamW, dict(learning_rate=0.01, weight_decay=0.004)),
    ("adagrad", optimizers.Adagrad, dict(learning_rate=0.05)),
    ("adagrad", optimizers.Adagrad, dict(learning_rate=0.05, initial_accumulator_value=0.5, weight_decay=0.1)),
    ("sgd", optimizers.SGD, dict(learning_rate=0.1, momentum=0.9, clipnorm=0.5)),
    ("rmsprop", optimizers.RMSprop, dict(global_clipnorm=0.7)),
    ("adam", optimizers.Adam, dict(clipvalue=0.3)),
    ("rmsprop", optimizers.RMSprop, dict(use_ema=True, ema_momentum=0.9)),
]


def _weights(rng, dtype=np.float64, n=len(SHAPES)):
    return [W(rng.normal(size=s).astype(dtype), name=f"w{i}") for i, s in enumerate(SHAPES[:n])]


def _run(opt, ref, ws, rng, steps, missing=()):
    ref_ws = [w.data.copy() for w in ws]
    for step in range(steps):
        grads = [None if (step, i) in missing else rng.normal(size=w.shape).astype(w.dtype) for i, w in enumerate(ws)]
        opt.zero_grad()
        for w, g in zip(ws, grads):
            if g is None:
                w.grad = None
            elif w.grad is not None:
                w.grad += g  # in place, as backward accumulates into the zeroed flat buffer
            else:
                w.grad = g.copy()
        opt.apply_gradients(ws)
        ref.step(ref_ws, [None if g is None else g.astype(np.float64) for g in grads])
    return ref_ws


@pytest.mark.parametrize("rule,cls,cfg", CASES, ids=[f"{c[1].__name__}-{'-'.join(c[2])}" for c in CASES])
def test_update_matches_keras_formula_float64(rule, cls, cfg):
    rng = np.random.default_rng(0)
    ws = _weights(rng)
    opt, ref = cls(**cfg), KerasRef(rule, **{"learning_rate": cls().learning_rate, **cfg})
    ref_ws = _run(opt, ref, ws, rng, steps=5)
    for w, r in zip(ws, ref_ws):
        np.testing.assert_allclose(w.data, r, rtol=1e-12, atol=1e-14)
    assert opt.iterations == 5
    if cfg.get("use_ema"):
        for a, r in zip(opt.ema_weights(), ref.ema):
            np.testing.assert_allclose(a, r, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("rule,cls,cfg", CASES[:12:2], ids=[c[1].__name__ for c in CASES[:12:2]])
def test_float32_and_mixed_dtypes_match_reference(rule, cls, cfg):
    rng = np.random.default_rng(1)
    ws = _weights(rng, np.float32, 2) + [W(rng.normal(size=(4,)), name="f64")]
    opt, ref = cls(**cfg), KerasRef(rule, **{"learning_rate": cls().learning_rate, **cfg})
    ref_ws = _run(opt, ref, ws, rng, steps=4)
    for w, r in zip(ws, ref_ws):
        assert w.dtype == r.dtype
        np.testing.assert_allclose(w.data, r, rtol=2e-5, atol=1e-6)
    assert len(opt._layout.groups) == 2


@settings(max_examples=10)
@given(lr=st.floats(1e-4, 0.5), momentum=st.floats(0.0, 0.99), rho=st.floats(0.5, 0.99),
       centered=st.booleans(), seed=st.integers(0, 2**16))
def test_rmsprop_property(lr, momentum, rho, centered, seed):
    rng = np.random.default_rng(seed)
    ws = _weights(rng)
    cfg = dict(learning_rate=lr, momentum=momentum, rho=rho, centered=centered)
    ref_ws = _run(optimizers.RMSprop(**cfg), KerasRef("rmsprop", **cfg), ws, rng, steps=3)
    for w, r in zip(ws, ref_ws):
        np.testing.assert_allclose(w.data, r, rtol=1e-10, atol=1e-12)


def test_weights_without_gradient_are_untouched_with_their_slots():
    rng = np.random.default_rng(2)
    ws = _weights(rng)
    opt, ref = optimizers.Adam(learning_rate=0.1, weight_decay=0.1), KerasRef("adam", learning_rate=0.1, weight_decay=0.1)
    missing = {(1, 1), (2, 1), (2, 0), (3, 2)}
    ref_ws = _run(opt, ref, ws, rng, steps=4, missing=missing)
    for w, r in zip(ws, ref_ws):
        np.testing.assert_allclose(w.data, r, rtol=1e-12)
    before = ws[1].data.copy(), opt.get_state()["momentum/1"]
    ws[1].grad = None
    ws[0].grad, ws[2].grad = np.ones(SHAPES[0]), np.ones(SHAPES[2])
    opt.step(ws)
    np.testing.assert_array_equal(ws[1].data, before[0])
    np.testing.assert_array_equal(opt.get_state()["momentum/1"], before[1])


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
    opt, ref = optimizers.SGD(learning_rate=0.1, momentum=0.9), KerasRef("sgd", learning_rate=0.1, momentum=0.9)
    ref_ws = _run(opt, ref, ws, rng, steps=2)
    ws[1].trainable = False  # a frozen layer: excluded, untouched
    frozen = ws[1].data.copy()
    for step in range(2):
        gs = [rng.normal(size=w.shape) for w in ws]
        for w, g in zip(ws, gs):
            w.grad = g.copy()
        opt.step(ws)
        ref.step(ref_ws, [gs[0], None, gs[2]])
    np.testing.assert_array_equal(ws[1].data, frozen)
    for i in (0, 2):
        np.testing.assert_allclose(ws[i].data, ref_ws[i], rtol=1e-12)
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("variant", ["sgd", "sgd_momentum", "sgd_nesterov", "rmsprop", "rmsprop_centered_momentum",
                                     "adam", "adam_amsgrad", "adagrad", "ema"])
def test_kernels_match_numpy_on_buffers_split_across_threads(variant, dtype):
    # 50,000 elements: above the parallel threshold, so each thread updates its own span
    rng = np.random.default_rng(7)
    n = 50_000
    w0, g = rng.normal(size=n).astype(dtype), rng.normal(size=n).astype(dtype)
    s = [np.abs(rng.normal(size=n)).astype(dtype) * dtype(scl) for scl in (1.0, 1.0, 0.01)]  # centered: v > a^2
    w, slots = w0.copy(), [a.copy() for a in s]
    threads = minigrad.get_num_threads()
    minigrad.set_num_threads(2)
    try:
        ref = _apply_kernel_variant(variant, dtype, w, g, w0, s, slots)
    finally:
        minigrad.set_num_threads(threads)
    if variant == "ema":
        w = slots[0]
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w, ref, **tol)


def _apply_kernel_variant(variant, dtype, w, g, w0, s, slots):
    lr, scale, clip, wd = 0.01, 0.8, 0.3, 0.1
    gc = np.clip(g * dtype(scale), -clip, clip).astype(np.float64)
    ref = w0.astype(np.float64)
    ref = ref - ref * wd * lr
    common = dict(grad_scale=scale, clip_value=clip, weight_decay=wd)
    if variant.startswith("sgd"):
        mu = 0.0 if variant == "sgd" else 0.9
        kernels.sgd_update(w, g, slots[0] if mu else None, lr=lr, momentum=mu, nesterov=variant == "sgd_nesterov", **common)
        m = s[0] * mu - gc * lr
        ref = ref - gc * lr if not mu else ref + (m * mu - gc * lr if variant == "sgd_nesterov" else m)
    elif variant.startswith("rmsprop"):
        centered = variant != "rmsprop"
        mu = 0.5 if centered else 0.0
        kernels.rmsprop_update(w, g, slots[0], slots[1] if mu else None, slots[2] if centered else None, lr=lr,
                               rho=0.9, momentum=mu, centered=centered, **common)
        v = 0.9 * s[0] + 0.1 * gc * gc
        a = 0.9 * s[2] + 0.1 * gc
        inc = lr * gc / np.sqrt((v - a * a if centered else v) + 1e-7)
        ref = ref - (mu * s[1] + inc if mu else inc)
    elif variant.startswith("adam"):
        ams = variant == "adam_amsgrad"
        kernels.adam_update(w, g, slots[0], slots[1], slots[2] if ams else None, alpha=0.02, amsgrad=ams, lr=lr, **common)
        m, v = s[0] + (gc - s[0]) * 0.1, s[1] + (gc * gc - s[1]) * 0.001
        ref = ref - m * 0.02 / (np.sqrt(np.maximum(v, s[2]) if ams else v) + 1e-7)
    elif variant == "adagrad":
        kernels.adagrad_update(w, g, slots[0], lr=lr, **common)
        ref = ref - lr * gc / np.sqrt(s[0] + gc * gc + 1e-7)
    else:
        kernels.ema_update(slots[0], w0, 0.7)
        ref = 0.7 * s[0] + 0.3 * w0
    return ref
