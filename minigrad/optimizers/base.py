"""Optimizer: Keras' optimizer protocol over flat buffers, one fused kernel call per dtype per step.

A step (Keras' order): clip gradients (clipnorm per weight, or global_clipnorm, or clipvalue),
decoupled weight decay, the update rule, EMA of the weights, iterations += 1, then constraints.
Weights whose .grad is None in a step are skipped entirely (no decay, no slot update), as Keras
skips variables with no gradient.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from minigrad import validation
from minigrad.distributed import _state as _distributed  # hook: data-parallel gradient average
from minigrad.optimizers import schedules
from minigrad.optimizers.flat import FlatGroup, FlatLayout, weight_label
from minigrad.tensor import TensorBase, no_grad

__all__ = ["Optimizer"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class Optimizer:
    """Base optimizer: subclasses declare slots and run one fused kernel over a flat span."""

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, use_ema: bool = False, ema_momentum: float = 0.99,
                 ema_overwrite_frequency: int | None = None, name: str | None = None) -> None:
        owner = type(self).__name__
        self.name = name or owner.lower()  # Keras: 'rmsprop', 'adamw', ...
        self._learning_rate: Any = None
        self.learning_rate = learning_rate
        self.weight_decay = validation.real(weight_decay, owner, "weight_decay", low=0, none=True)
        self.clipnorm = validation.real(clipnorm, owner, "clipnorm", low=0, none=True)
        self.clipvalue = validation.real(clipvalue, owner, "clipvalue", low=0, none=True)
        self.global_clipnorm = validation.real(global_clipnorm, owner, "global_clipnorm", low=0, none=True)
        if sum(c is not None for c in (self.clipnorm, self.clipvalue, self.global_clipnorm)) > 1:
            raise ValueError(f"{owner}: only one of clipnorm, clipvalue and global_clipnorm can be set, "
                             f"received clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")
        self.use_ema = bool(use_ema)
        self.ema_momentum = validation.real(ema_momentum, owner, "ema_momentum", low=0, high=1)
        self.ema_overwrite_frequency = validation.integer(ema_overwrite_frequency, owner, "ema_overwrite_frequency",
                                                          low=1, none=True)
        self.iterations = 0
        self._layout: FlatLayout | None = None
        self._pending_state: dict[str, np.ndarray] | None = None

    # ----- what subclasses provide
    def _slots(self) -> dict[str, float]:
        """Slot name -> initial value (e.g. {'velocity': 0.0})."""
        return {}

    def _update(self, group: FlatGroup, start: int, stop: int, lr: float, scale: float, clip: float,
                weight_decay: float) -> None:
        """Apply the rule to group's [start, stop) in place with one kernel call."""
        raise NotImplementedError(f"{type(self).__name__}: _update is not implemented")

    # ----- learning rate (a float, a LearningRateSchedule of the step, or a no-argument callable)
    @property
    def learning_rate(self) -> float:
        """The learning rate of the next step (schedules are evaluated at `iterations`)."""
        lr = self._learning_rate
        if not callable(lr):
            return lr  # validated when assigned
        value = lr(self.iterations) if isinstance(lr, schedules.LearningRateSchedule) else lr()
        return validation.real(value.item() if isinstance(value, TensorBase) else value, type(self).__name__,
                               "learning_rate")

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if isinstance(value, schedules.LearningRateSchedule) or (callable(value) and not isinstance(value, type)):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            raise TypeError(f"{type(self).__name__}: this optimizer was created with a LearningRateSchedule, so "
                            "its learning rate is not settable to a number; assign a new schedule instead")
        if isinstance(value, TensorBase):
            value = value.item()
        self._learning_rate = validation.real(value, type(self).__name__, "learning_rate", low=0)

    # ----- building and stepping
    def build(self, weights: Iterable[Any]) -> None:
        """Pack the trainable weights into flat buffers (done by the first step; again if they change)."""
        weights = self._trainable(weights)
        old, self._layout = self._layout, FlatLayout(weights, self._slots(), self.use_ema)
        if old is not None:
            self._carry_over(old)
        if self._pending_state is not None:
            pending, self._pending_state = self._pending_state, None
            self._load_arrays(pending)

    def apply_gradients(self, weights: Iterable[Any]) -> None:
        """Update every trainable weight from its .grad (or (grad, weight) pairs, as Keras) in one fused pass."""
        items = weights if isinstance(weights, list) else list(weights)
        layout = self._layout
        if layout is None or not layout.same(items):  # first step, pairs, or the weights changed
            items = self._with_grads(items)
            if layout is None or not layout.matches(items):
                self.build(items)
        active = self._layout.sync()
        if active is None:  # a weight's data was replaced by an array of another shape or dtype
            self.build(self._layout.weights)
            active = self._layout.sync()
        layout = self._layout
        if _distributed.world is not None:  # hook (minigrad.distributed): average grads over ranks
            active = _distributed.world.reduce_gradients(layout, active)
        if not any(active):
            raise ValueError(f"{type(self).__name__}: no gradients provided for any weight "
                             "(every .grad is None; did backward() run?)")
        lr = self.learning_rate
        wd = self.weight_decay or 0.0
        clip = self.clipvalue or 0.0
        runs = layout.runs(active, per_weight=self.clipnorm is not None)
        scales = self._scales(runs)
        for (group, start, stop, _), scale in zip(runs, scales):
            self._update(group, start, stop, lr, scale, clip, wd)
        if self.use_ema:
            self._update_ema()
        self.iterations += 1
        self._apply_constraints(active)

    step = apply_gradients

    def apply(self, grads: Iterable[Any], trainable_variables: Iterable[Any]) -> None:
        """Keras 3's apply(grads, trainable_variables): one step from explicit gradients (None: skipped)."""
        grads, weights = list(grads), list(trainable_variables)
        if len(grads) != len(weights):
            raise ValueError(f"{type(self).__name__}.apply: received {len(grads)} gradients for "
                             f"{len(weights)} variables; pass one gradient per variable")
        self.apply_gradients(list(zip(grads, weights)))

    def zero_grad(self, weights: Iterable[Any] | None = None, set_to_none: bool = False) -> None:
        """Zero the flat gradient buffer in place; grads stay views, so backward accumulates into it.

        A weight that backward then does not reach counts as having a zero gradient (its slots
        still decay, as Keras does for a zero gradient). With set_to_none=True grads become None
        instead and such weights are skipped entirely, as Keras skips a None gradient; reached
        weights then get fresh arrays that the step copies into the buffer (a little slower).
        """
        layout = self._layout
        if weights is not None:
            weights = weights if isinstance(weights, list) else list(weights)
            if layout is None or not (layout.same(weights) or layout.matches(self._trainable(weights))):
                for w in self._trainable(weights):
                    w.grad = None  # not packed (yet): the next step packs whatever backward leaves
                return
        if layout is None:
            return
        for group in layout.groups:
            group.g.fill(0)
        for i, w in enumerate(layout.weights):
            w.grad = None if set_to_none else layout.grad_views[i]

    def _trainable(self, weights: Iterable[Any]) -> list[Any]:
        out, seen = [], set()
        for i, w in enumerate(weights):
            if not isinstance(w, TensorBase):
                raise TypeError(f"{type(self).__name__}: expected weights (Tensors), received {type(w).__name__} at #{i}")
            if not getattr(w, "trainable", True):
                continue
            if w.data.dtype not in _FLOATS:
                raise TypeError(f"{type(self).__name__}: weight {weight_label(w, i)} has dtype {w.data.dtype}; "
                                "only float32/float64 weights can be trained")
            if id(w) in seen:
                raise ValueError(f"{type(self).__name__}: weight {weight_label(w, i)} is listed twice")
            seen.add(id(w))
            out.append(w)
        return out

    def _with_grads(self, items: Iterable[Any]) -> list[Any]:
        weights = []
        for item in items:
            if isinstance(item, tuple):  # Keras' (gradient, variable) pairs
                grad, w = item
                if isinstance(grad, TensorBase):
                    grad = grad.data
                w.grad = None if grad is None else np.asarray(grad, dtype=w.data.dtype)
                item = w
            weights.append(item)
        return self._trainable(weights)

    def _scales(self, runs: list[tuple[FlatGroup, int, int, list[int]]]) -> list[float]:
        def norm(spans: list[tuple[FlatGroup, int, int, list[int]]]) -> float:
            return math.sqrt(sum(float(np.dot(g.g[a:b], g.g[a:b])) for g, a, b, _ in spans))

        owner = type(self).__name__
        if self.clipnorm is not None:  # one run per weight: g * clipnorm / max(|g|, clipnorm)
            norms = [norm([r]) for r in runs]
            if not all(math.isfinite(n) for n in norms):
                raise FloatingPointError(f"{owner}: a gradient norm is not finite; cannot apply clipnorm")
            return [self.clipnorm / max(n, self.clipnorm) if self.clipnorm > 0 else 1.0 for n in norms]
        if self.global_clipnorm is not None and self.global_clipnorm > 0:
            total = norm(runs)
            if not math.isfinite(total):
                raise FloatingPointError(f"{owner}: the global gradient norm is {total}; cannot apply global_clipnorm")
            return [self.global_clipnorm / max(total, self.global_clipnorm)] * len(runs)
        return [1.0] * len(runs)

    def _update_ema(self) -> None:
        from minigrad._ext import _optim
        from minigrad.kernels.optim import _threads

        momentum = self.ema_momentum if self.iterations != 0 else 0.0  # the first average is the weight
        overwrite = self.ema_overwrite_frequency is not None and (self.iterations + 1) % self.ema_overwrite_frequency == 0
        for group in self._layout.groups:
            _optim.ema_update(group.ema, group.w, momentum, _threads(group.w.size))
            if overwrite:
                group.w[...] = group.ema

    def _apply_constraints(self, active: list[bool]) -> None:
        for i in self._layout.constrainable:
            w = self._layout.weights[i]
            constraint = w.constraint
            if constraint is None or not active[i]:
                continue
            with no_grad():
                out = constraint(w)
            out = out.data if isinstance(out, TensorBase) else np.asarray(out)
            if out.shape != w.data.shape:
                raise ValueError(f"{type(self).__name__}: the constraint of weight {weight_label(w, i)} returned shape "
                                 f"{out.shape} for a weight of shape {w.data.shape}")
            self._layout.data_views[i][...] = out

    # ----- exponential moving average of the weights (use_ema=True)
    def _require_ema(self, what: str) -> FlatLayout:
        if not self.use_ema:
            raise ValueError(f"{type(self).__name__}.{what}: the optimizer was created with use_ema=False")
        if self._layout is None:
            raise ValueError(f"{type(self).__name__}.{what}: no step has been taken yet (no weights are known)")
        return self._layout

    def ema_weights(self) -> list[np.ndarray]:
        """Copies of the moving averages, one per trainable weight in the order given to the step."""
        layout = self._require_ema("ema_weights")
        return [layout.slot_view(i, "ema").copy() for i in range(len(layout.weights))]

    def swap_ema_weights(self) -> None:
        """Exchange weights and their moving averages in place (call again to swap back)."""
        for group in self._require_ema("swap_ema_weights").groups:
            held = group.w.copy()
            group.w[...] = group.ema
            group.ema[...] = held

    def finalize_variable_values(self) -> None:
        """Overwrite the weights with their moving averages (Keras does this at the end of fit)."""
        if self.use_ema and self._layout is not None:
            for group in self._layout.groups:
                group.w[...] = group.ema

    # ----- config and state
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (the learning rate as a number or a serialized schedule)."""
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif callable(lr):
            raise ValueError(f"{type(self).__name__}.get_config: a callable learning rate cannot be serialized; "
                             "use a LearningRateSchedule")
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "clipvalue": self.clipvalue, "global_clipnorm": self.global_clipnorm,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        """Rebuild from get_config() (schedules deserialized through their registry)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def _state_names(self) -> list[str]:
        return [*self._slots(), *(["ema"] if self.use_ema else [])]

    def get_state(self) -> dict[str, Any]:
        """{'iterations', 'learning_rate' (unless scheduled), '<slot>/<i>': array} for checkpoints.

        i is the position among the trainable weights given to the step; 'ema/<i>' with use_ema.
        """
        state: dict[str, Any] = {"iterations": self.iterations}
        if not callable(self._learning_rate):
            state["learning_rate"] = self._learning_rate
        if self._layout is not None:
            for name in self._state_names():
                for i in range(len(self._layout.weights)):
                    state[f"{name}/{i}"] = self._layout.slot_view(i, name).copy()
        elif self._pending_state:
            state.update({k: v.copy() for k, v in self._pending_state.items()})
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore get_state(); slot arrays wait for the first step if no weights are known yet."""
        owner = type(self).__name__
        if not isinstance(state, dict) or "iterations" not in state:
            raise ValueError(f"{owner}.set_state: expected a dict from get_state() with 'iterations', received {state!r:.80}")
        iterations = np.asarray(state["iterations"])
        if iterations.shape != () or iterations.dtype.kind not in "iu" or int(iterations) < 0:
            raise ValueError(f"{owner}.set_state: 'iterations' must be a non-negative int, received {state['iterations']!r}")
        arrays = {}
        for key, value in state.items():
            if key in ("iterations", "learning_rate"):
                continue
            name, _, index = key.rpartition("/")
            if name not in self._state_names() or not index.isdigit():
                raise ValueError(f"{owner}.set_state: unknown entry '{key}'; expected 'iterations', 'learning_rate' "
                                 f"or '<slot>/<index>' with slots {self._state_names()}")
            arrays[key] = np.array(value)
        if self._layout is not None:
            self._load_arrays(arrays)
        else:
            self._pending_state = arrays
        self.iterations = int(iterations)
        if "learning_rate" in state and not callable(self._learning_rate):
            self.learning_rate = float(np.asarray(state["learning_rate"]))

    def _load_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        layout = self._layout
        for key, value in arrays.items():
            name, _, index = key.rpartition("/")
            i = int(index)
            if i >= len(layout.weights):
                raise ValueError(f"{type(self).__name__}.set_state: '{key}' refers to weight #{i}, but the "
                                 f"optimizer trains {len(layout.weights)} weights")
            view = layout.slot_view(i, name)
            if value.shape != view.shape:
                raise ValueError(f"{type(self).__name__}.set_state: '{key}' has shape {value.shape}, weight "
                                 f"{weight_label(layout.weights[i], i)} has shape {view.shape}")
            view[...] = value

    def _carry_over(self, old: FlatLayout) -> None:
        index = {id(w): i for i, w in enumerate(self._layout.weights)}
        for j, w in enumerate(old.weights):
            i = index.get(id(w))
            if i is not None and old.data_views[j].shape == self._layout.data_views[i].shape:
                for name in self._state_names():
                    self._layout.slot_view(i, name)[...] = old.slot_view(j, name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} iterations={self.iterations}>"
