"""Functional API: SymbolicTensor placeholders, recorded layer calls, and Model(inputs, outputs)."""
from __future__ import annotations

import itertools
from typing import Any, Sequence

import numpy as np

from minigrad.models.base import ModelBase
from minigrad.models.summary import GraphRow

__all__ = ["SymbolicTensor", "CallNode", "symbolic_call", "Model"]

_input_ids = itertools.count()


class CallNode:
    """One recorded layer call: the layer, its input symbols and the symbols it produced."""

    __slots__ = ("layer", "inputs", "outputs", "multi_input")

    def __init__(self, layer: Any, inputs: list[SymbolicTensor], multi_input: bool) -> None:
        self.layer = layer
        self.inputs = inputs
        self.outputs: list[SymbolicTensor] = []
        self.multi_input = multi_input

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
        shape = tuple(shape)
        if any(d is not None and (isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0)
               for d in shape):
            raise ValueError(f"SymbolicTensor: shape must hold non-negative ints or None, received {shape}")
        self.shape = tuple(None if d is None else int(d) for d in shape)
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
    if not isinstance(shape, (tuple, list)) or any(
        d is not None and not isinstance(d, (int, np.integer)) for d in shape
    ):
        raise TypeError(f"Layer '{layer.name}': compute_output_shape returned {shape!r}, "
                        "expected a shape tuple (or a list of them for several outputs)")
    return tuple(shape)


def symbolic_call(layer: Any, inputs: SymbolicTensor | Sequence[SymbolicTensor]) -> Any:
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
    out_shape = layer.compute_output_shape(shapes)
    node = CallNode(layer, symbols, multi)
    many = isinstance(out_shape, list) and bool(out_shape) and all(
        isinstance(shape, (tuple, list)) for shape in out_shape)
    for i, shape in enumerate(out_shape if many else [out_shape]):
        node.outputs.append(SymbolicTensor(_as_shape(shape, layer), layer.dtype, node=node, index=i))
    return list(node.outputs) if many else node.outputs[0]


def _flatten_symbols(value: Any, what: str) -> tuple[list[SymbolicTensor], bool]:
    many = isinstance(value, (list, tuple))
    items = list(value) if many else [value]
    if not items:
        raise ValueError(f"Model: {what} must hold at least one SymbolicTensor")
    for item in items:
        if not isinstance(item, SymbolicTensor):
            raise TypeError(f"Model: {what} must be SymbolicTensors (from layers.Input and layer "
                            f"calls on them), received {type(item).__name__}")
    return items, many


def _graph_nodes(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]) -> list[CallNode]:
    """Call nodes between inputs and outputs, producers before consumers (explicit stack)."""
    input_ids = {id(s) for s in inputs}
    order: list[CallNode] = []
    done: set[int] = set()
    stack: list[tuple[SymbolicTensor, bool]] = [(s, False) for s in reversed(outputs)]
    while stack:
        sym, expanded = stack.pop()
        if id(sym) in input_ids:
            continue
        node = sym.node
        if node is None:
            raise ValueError(f"Model: output depends on '{sym.name}', which is not among the "
                             f"model inputs {[s.name for s in inputs]}")
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        stack.append((sym, True))
        stack.extend((s, False) for s in reversed(node.inputs))
    return order


class Model(ModelBase):
    """A model defined by the graph of layer calls between `inputs` and `outputs` (Keras' functional API)."""

    _default_name = "model"

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None) -> None:
        super().__init__(name)
        self._inputs, self._multi_in = _flatten_symbols(inputs, "inputs")
        self._outputs, self._multi_out = _flatten_symbols(outputs, "outputs")
        for s in self._inputs:
            if s.node is not None:
                raise ValueError(f"Model: input '{s.name}' was produced by layer "
                                 f"'{s.layer.name}'; inputs must come from layers.Input")
        self._nodes = _graph_nodes(self._inputs, self._outputs)
        seen: dict[int, Any] = {}
        for node in self._nodes:
            seen.setdefault(id(node.layer), node.layer)
        self._layers = list(seen.values())

    # ----- structure
    @property
    def layers(self) -> list[Any]:
        """Distinct layers in call order."""
        return list(self._layers)

    @property
    def inputs(self) -> list[SymbolicTensor]:
        """The model's input symbols."""
        return list(self._inputs)

    @property
    def outputs(self) -> list[SymbolicTensor]:
        """The model's output symbols."""
        return list(self._outputs)

    def input_shapes(self) -> list[tuple[int | None, ...]]:
        """Shape of each input, batch axis None."""
        return [s.shape for s in self._inputs]

    def _input_dtypes(self) -> list[np.dtype]:
        return [s.dtype for s in self._inputs]

    def _n_outputs(self) -> int:
        return len(self._outputs)

    def _n_inputs(self) -> int:
        return len(self._inputs)

    def _first_layer_name(self, i: int) -> str:
        target = self._inputs[i]
        for node in self._nodes:
            if any(s is target for s in node.inputs):
                return node.layer.name
        return self.name

    @property
    def output_shape(self) -> Any:
        """Output shape (a list of them for several outputs)."""
        shapes = [s.shape for s in self._outputs]
        return shapes if self._multi_out else shapes[0]

    def _graph(self) -> list[GraphRow]:
        rows = [GraphRow(s.name, None, (), s.shape) for s in self._inputs]
        index = {id(s): i for i, s in enumerate(self._inputs)}
        for node in self._nodes:
            ins = tuple(index[id(s)] for s in node.inputs)
            for out in node.outputs:
                index[id(out)] = len(rows)
                name = node.layer.name if len(node.outputs) == 1 else out.name
                rows.append(GraphRow(name, node.layer, ins, out.shape))
        return rows

    # ----- forward
    def call(self, inputs: Any, training: bool = False) -> Any:
        """Run the recorded calls in order; inputs as listed at construction (one or a list)."""
        xs = list(inputs) if self._multi_in else [inputs]
        if len(xs) != len(self._inputs):
            raise ValueError(f"Model '{self.name}': expected {len(self._inputs)} inputs, "
                             f"received {len(xs)}")
        values: dict[int, Any] = {id(s): x for s, x in zip(self._inputs, xs)}
        for node in self._nodes:
            args = [values[id(s)] for s in node.inputs]
            out = node.layer(args if node.multi_input else args[0], training=training)
            if len(node.outputs) == 1:
                values[id(node.outputs[0])] = out
            else:
                for sym, value in zip(node.outputs, out):
                    values[id(sym)] = value
        results = [values[id(s)] for s in self._outputs]
        return results if self._multi_out else results[0]

    # ----- config
    def get_config(self) -> dict[str, Any]:
        """JSON-able graph: distinct layers (serialized), call nodes by index, inputs and outputs."""
        from minigrad import layers as layers_mod

        layer_index = {id(l): i for i, l in enumerate(self._layers)}
        where: dict[int, list] = {id(s): ["input", i, 0] for i, s in enumerate(self._inputs)}
        nodes = []
        for j, node in enumerate(self._nodes):
            nodes.append({"layer": layer_index[id(node.layer)], "multi_input": node.multi_input,
                          "inputs": [where[id(s)] for s in node.inputs]})
            for k, out in enumerate(node.outputs):
                where[id(out)] = ["node", j, k]
        return {
            "name": self.name,
            "inputs": [{"shape": list(s.shape), "dtype": s.dtype.name, "name": s.name}
                       for s in self._inputs],
            "multi_input": self._multi_in, "multi_output": self._multi_out,
            "layers": [layers_mod.serialize(l) for l in self._layers],
            "nodes": nodes,
            "outputs": [where[id(s)] for s in self._outputs],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        """Rebuild the graph of get_config (fresh, unbuilt-then-rebuilt layers; weights not included)."""
        from minigrad import layers as layers_mod

        built = [layers_mod.deserialize(entry) for entry in config["layers"]]
        inputs = [SymbolicTensor(d["shape"], d["dtype"], name=d["name"]) for d in config["inputs"]]
        produced: list[list[SymbolicTensor]] = []

        def resolve(ref: list) -> SymbolicTensor:
            kind, i, k = ref
            return inputs[i] if kind == "input" else produced[i][k]

        for node in config["nodes"]:
            args = [resolve(r) for r in node["inputs"]]
            out = built[node["layer"]](args if node["multi_input"] else args[0])
            produced.append(list(out) if isinstance(out, list) else [out])
        outputs = [resolve(r) for r in config["outputs"]]
        return cls(inputs if config["multi_input"] else inputs[0],
                   outputs if config["multi_output"] else outputs[0], name=config["name"])
