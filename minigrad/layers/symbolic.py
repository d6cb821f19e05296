"""The functional API's symbols: SymbolicTensor placeholders and the layer calls recorded on them.

A layer called on a SymbolicTensor records a CallNode instead of computing; models.functional.Model
turns the recorded graph between inputs and outputs into a model. The symbols live with the layers
(as Keras' KerasTensor lives below its models) so that layers never import models.
"""
from __future__ import annotations

import functools
import itertools
from typing import Any, Sequence

import numpy as np

from minigrad import validation
from minigrad.layers._introspect import trace_output_shape

__all__ = ["SymbolicTensor", "CallNode", "symbolic_call", "is_symbolic"]

_input_ids = itertools.count()


class CallNode:
    """One recorded layer call: the layer, its input symbols and the symbols it produced."""

    __slots__ = ("layer", "inputs", "outputs", "multi_input", "kwargs")

    def __init__(self, layer: Any, inputs: list[SymbolicTensor], multi_input: bool,
                 kwargs: dict[str, Any] | None = None) -> None:
        self.layer = layer
        self.inputs = inputs
        self.outputs: list[SymbolicTensor] = []
        self.multi_input = multi_input
        self.kwargs = dict(kwargs or {})  # extra call() arguments, replayed on every run

    def __repr__(self) -> str:
        return f"<CallNode {getattr(self.layer, 'name', self.layer)}>"


class SymbolicTensor:
    """A placeholder for a batch in a functional graph: shape (None, ...), dtype and its history.

    `layer`/`inputs` are the layer that produced it and that call's input symbols (None and ()
    for a model input made by `layers.Input`). `index` is its position among the call's outputs.
    """

    __slots__ = ("shape", "dtype", "node", "index", "name")

    def __init__(self, shape: Sequence[int | None], dtype: Any = "float32", *,
                 node: CallNode | None = None, index: int = 0, name: str | None = None) -> None:
        self.shape = validation.shape(tuple(shape), "SymbolicTensor", "shape", none=True)
        self.dtype = np.dtype(dtype)
        self.node = node
        self.index = index
        self.name = name if name is not None else f"input_{next(_input_ids)}" if node is None else (
            f"{node.layer.name}/out{index}")

    @property
    def layer(self) -> Any:
        """The layer whose call produced this symbol (None for a model input)."""
        return None if self.node is None else self.node.layer

    @property
    def inputs(self) -> tuple[SymbolicTensor, ...]:
        """The symbols that went into the call that produced this one (() for a model input)."""
        return () if self.node is None else tuple(self.node.inputs)

    @property
    def ndim(self) -> int:
        """Number of axes, batch included."""
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<SymbolicTensor '{self.name}' shape={self.shape} dtype={self.dtype}>"


def _as_shape(shape: Any, layer: Any) -> tuple[int | None, ...]:
    if not isinstance(shape, (tuple, list)) or any(d is not None and not validation.is_int(d) for d in shape):
        raise TypeError(f"Layer '{layer.name}': compute_output_shape returned {shape!r}, "
                        "expected a shape tuple (or a list of them for several outputs)")
    return tuple(shape)


def symbolic_call(layer: Any, inputs: SymbolicTensor | Sequence[SymbolicTensor], **kwargs: Any) -> Any:
    """Record `layer(inputs)` on symbols: build the layer on their shapes, return output symbol(s).

    The layer's own input check runs first (a ShapeError naming the layer), so wrong wiring fails
    while the graph is being written, as in Keras.
    """
    multi = isinstance(inputs, (list, tuple))
    symbols = list(inputs) if multi else [inputs]
    for s in symbols:
        if not isinstance(s, SymbolicTensor):
            raise TypeError(f"Layer '{layer.name}': cannot mix symbolic and concrete inputs in one "
                            f"functional call, received {type(s).__name__}")
    if multi != bool(getattr(layer, "_multi_input", False)):
        wanted = "a list of tensors" if not multi else "one tensor"
        raise TypeError(f"{type(layer).__name__} '{layer.name}': expected {wanted}, received "
                        f"{f'a list of {len(symbols)}' if multi else 'one tensor'}")
    shapes = [s.shape for s in symbols] if multi else symbols[0].shape
    layer.build_from(shapes)  # a no-op once built; checks the input spec before building
    layer._check_shape(shapes)
    if kwargs and getattr(type(layer).compute_output_shape, "_traces_call", False):
        out_shape = trace_output_shape(layer, shapes, functools.partial(layer._plain_call, **kwargs))
    else:
        out_shape = layer.compute_output_shape(shapes)
    node = CallNode(layer, symbols, multi, kwargs)
    many = isinstance(out_shape, list) and bool(out_shape) and all(
        isinstance(shape, (tuple, list)) for shape in out_shape)
    for i, shape in enumerate(out_shape if many else [out_shape]):
        node.outputs.append(SymbolicTensor(_as_shape(shape, layer), layer.dtype, node=node, index=i))
    layer.__dict__.setdefault("_inbound_nodes", []).append(node)  # layer.input / layer.output
    return list(node.outputs) if many else node.outputs[0]


def is_symbolic(inputs: Any) -> bool:
    """Whether inputs (one value or a list/tuple of them) hold a SymbolicTensor."""
    items = inputs if isinstance(inputs, (list, tuple)) else (inputs,)
    return any(isinstance(x, SymbolicTensor) for x in items)
