"""FlatLayout: an optimizer's trainable weights, their gradients and slots packed into flat buffers.

Why: updating a model weight by weight costs a Python loop of small array calls per step (PyTorch's
per-tensor loop spends ~0.5 ms per step on the reference CNN's 8 tensors). Packing every weight of
one dtype into one contiguous buffer lets the optimizer update all of them with one fused kernel
call, and backward accumulates straight into the flat gradient buffer through per-weight views.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["FlatGroup", "FlatLayout", "weight_label"]


def weight_label(weight: Any, index: int) -> str:
    """'conv2d/kernel (#0)' style name for messages."""
    name = getattr(weight, "name", None)
    return f"'{name}' (#{index})" if name else f"#{index}"


class FlatGroup:
    """The weights of one dtype: flat w, g, slot and EMA buffers plus each weight's [start, stop)."""

    def __init__(self, dtype: np.dtype, sizes: list[int], slots: dict[str, float], ema: bool) -> None:
        self.dtype = dtype
        self.bounds = np.cumsum([0, *sizes]).tolist()
        total = self.bounds[-1]
        self.w = np.empty(total, dtype)
        self.g = np.zeros(total, dtype)
        self.slots = {name: np.full(total, init, dtype) for name, init in slots.items()}
        self.ema = np.empty(total, dtype) if ema else None
        self.empty = np.empty(0, dtype)  # passed to a kernel for a slot the rule does not use


class FlatLayout:
    """Weights (in the order given) -> (group, start, stop); data and .grad rebound to views."""

    def __init__(self, weights: Sequence[Any], slots: dict[str, float], ema: bool) -> None:
        self.weights = list(weights)
        by_dtype: dict[np.dtype, list[int]] = {}
        for i, w in enumerate(self.weights):
            by_dtype.setdefault(w.data.dtype, []).append(i)
        self.groups: list[FlatGroup] = []
        self.where: list[tuple[FlatGroup, int, int]] = [None] * len(self.weights)  # type: ignore[list-item]
        for dtype, members in by_dtype.items():
            group = FlatGroup(dtype, [self.weights[i].data.size for i in members], slots, ema)
            self.groups.append(group)
            for k, i in enumerate(members):
                self.where[i] = (group, group.bounds[k], group.bounds[k + 1])
        self._full_runs: list[tuple[FlatGroup, int, int, list[int]]] | None = None
        # weights that can carry a constraint (layers.Weight); plain Tensors have no such attribute
        self.constrainable = [i for i, w in enumerate(self.weights) if hasattr(w, "constraint")]
        self.data_views = [self._view(i, "w") for i in range(len(self.weights))]
        self.grad_views = [self._view(i, "g") for i in range(len(self.weights))]
        for i, w in enumerate(self.weights):
            self.data_views[i][...] = w.data
            if w.grad is not None:
                self.grad_views[i][...] = w.grad
                w.grad = self.grad_views[i]
            w.data = self.data_views[i]
            group, start, stop = self.where[i]
            if group.ema is not None:
                group.ema[start:stop] = group.w[start:stop]

    def _view(self, i: int, buffer: str) -> np.ndarray:
        group, start, stop = self.where[i]
        flat = group.w if buffer == "w" else group.g if buffer == "g" else group.ema if buffer == "ema" \
            else group.slots[buffer]
        return flat[start:stop].reshape(self.weights[i].data.shape)

    def slot_view(self, i: int, name: str) -> np.ndarray:
        """Weight i's part of slot `name` (or 'ema'), shaped like the weight (a view)."""
        return self._view(i, name)

    def matches(self, weights: Sequence[Any]) -> bool:
        """Same weights, in the same order, with unchanged shapes and dtypes."""
        if len(weights) != len(self.weights):
            return False
        for w, mine, view in zip(weights, self.weights, self.data_views):
            if w is not mine or (w.data is not view and (w.data.shape != view.shape or w.data.dtype != view.dtype)):
                return False
        return True

    def same(self, weights: Sequence[Any]) -> bool:
        """Fast check for the common step: exactly these weight objects, in order, all still trainable."""
        mine = self.weights
        if len(weights) != len(mine):
            return False
        for w, m in zip(weights, mine):
            if w is not m or not getattr(w, "trainable", True):
                return False
        return True

    def sync(self) -> list[bool] | None:
        """Re-bind data/grad replaced since the last step (copying them in); True where a grad exists.

        None when a weight's data changed shape or dtype: the buffers must be rebuilt.
        """
        active = []
        for i, w in enumerate(self.weights):
            view = self.data_views[i]
            if w.data is not view:  # e.g. set_weights() assigned a new array
                if w.data.shape != view.shape or w.data.dtype != view.dtype:
                    return None
                view[...] = w.data
                w.data = view
            g = w.grad
            if g is None:
                active.append(False)
                continue
            gview = self.grad_views[i]
            if g is not gview:  # grad set to None earlier, then backward stored a fresh array
                g = np.asarray(g)
                if g.shape != gview.shape:
                    raise ValueError(
                        f"optimizer: weight {weight_label(w, i)} has shape {gview.shape} but its .grad "
                        f"has shape {g.shape}"
                    )
                gview[...] = g
                w.grad = gview
            active.append(True)
        return active

    def runs(self, active: list[bool], per_weight: bool) -> list[tuple[FlatGroup, int, int, list[int]]]:
        """Contiguous [start, stop) spans of active weights per group (one per weight if per_weight)."""
        if not per_weight and all(active):  # the usual step: one span per dtype, computed once
            if self._full_runs is None:
                self._full_runs = self._spans(active, False)
            return self._full_runs
        return self._spans(active, per_weight)

    def _spans(self, active: list[bool], per_weight: bool) -> list[tuple[FlatGroup, int, int, list[int]]]:
        out: list[tuple[FlatGroup, int, int, list[int]]] = []
        for group in self.groups:
            members = sorted((self.where[i][1], i) for i in range(len(self.weights)) if self.where[i][0] is group)
            for _, i in members:
                if not active[i]:
                    continue
                _, start, stop = self.where[i]
                if out and not per_weight and out[-1][0] is group and out[-1][2] == start:
                    out[-1] = (group, out[-1][1], stop, [*out[-1][3], i])
                else:
                    out.append((group, start, stop, [i]))
        return out
