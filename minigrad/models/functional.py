"""Functional API: Model(inputs, outputs) over the layer calls recorded on SymbolicTensors (layers.symbolic)."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import layers as layers_mod
from minigrad.layers.base import Layer, register
from minigrad.layers.symbolic import CallNode, SymbolicTensor, symbolic_call
from minigrad.models.base import ModelBase
from minigrad.models.summary import GraphRow

__all__ = ["SymbolicTensor", "CallNode", "symbolic_call", "Model"]


def _flatten_symbols(value: Any, what: str) -> tuple[list[SymbolicTensor], bool]:
    if isinstance(value, dict):  # Keras keys inputs by name; minigrad takes them in the dict's order
        value = list(value.values())
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


@register("functional", aliases=("Functional", "Model"))
class Model(ModelBase):
    """Keras' Model: the graph of layer calls between `inputs` and `outputs` (the functional API) or,
    created without them, a subclassed model (layers as attributes and a `call` of its own)."""

    _default_name = "model"
    _functional = False

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        if inputs is None and outputs is None:
            return  # subclassing: the layers come as attributes, the graph is call()
        if inputs is None or outputs is None:
            raise TypeError(f"Model '{self.name}': pass both inputs and outputs (the functional API) or "
                            f"neither (a subclassed model); received {'outputs' if inputs is None else 'inputs'} only")
        self._functional = True
        self._input_keys = list(inputs) if isinstance(inputs, dict) else None
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
        self.built = True

    def _is_graph(self) -> bool:
        return self._functional

    # ----- structure
    @property
    def layers(self) -> list[Any]:
        """Distinct layers in call order (a subclassed model: those held in attributes)."""
        return list(self._layers) if self._functional else super().layers

    def _symbols(self, attr: str) -> list[SymbolicTensor]:
        if not self._functional:
            raise AttributeError(f"{type(self).__name__} '{self.name}' is a subclassed model: it has no "
                                 f"symbolic {attr} (only models built from layers.Input have them)")
        return list(getattr(self, f"_{attr}"))

    @property
    def inputs(self) -> list[SymbolicTensor]:
        """The model's input symbols."""
        return self._symbols("inputs")

    @property
    def outputs(self) -> list[SymbolicTensor]:
        """The model's output symbols."""
        return self._symbols("outputs")

    @property
    def input(self) -> Any:
        """The input symbol (a list for several inputs)."""
        inputs = self._symbols("inputs")
        return inputs if len(inputs) > 1 else inputs[0]

    @property
    def output(self) -> Any:
        """The output symbol (a list for several outputs)."""
        outputs = self._symbols("outputs")
        return outputs if self._multi_out else outputs[0]

    def input_shapes(self) -> list[tuple[int | None, ...]] | None:
        """Shape of each input, batch axis None."""
        return [s.shape for s in self._inputs] if self._functional else super().input_shapes()

    def _ensure_built(self, shapes: list[tuple[int | None, ...]]) -> None:
        if not self._functional:
            super()._ensure_built(shapes)

    def _input_dtypes(self) -> list[np.dtype]:
        return [s.dtype for s in self._inputs] if self._functional else super()._input_dtypes()

    def _n_outputs(self) -> int:
        return len(self._outputs) if self._functional else super()._n_outputs()

    def _n_inputs(self) -> int:
        return len(self._inputs) if self._functional else super()._n_inputs()

    def _first_layer_name(self, i: int) -> str:
        target = self._inputs[i] if self._functional else None
        for node in self._nodes if self._functional else ():
            if any(s is target for s in node.inputs):
                return node.layer.name
        return super()._first_layer_name(i)

    @property
    def output_shape(self) -> Any:
        """Output shape (a list of them for several outputs)."""
        if not self._functional:
            return super().output_shape
        shapes = [s.shape for s in self._outputs]
        return shapes if self._multi_out else shapes[0]

    def _graph(self) -> list[GraphRow]:
        if not self._functional:
            return super()._graph()
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
    def _ordered(self, x: Any) -> Any:
        """A dict of inputs as a list in the model's input order (keys: the dict given, else Input names)."""
        if not isinstance(x, dict) or not self._functional:
            return x
        keys = self._input_keys or [s.name for s in self._inputs]
        missing = [k for k in keys if k not in x]
        if missing or len(x) != len(keys):
            raise ValueError(f"Model '{self.name}': a dict of inputs needs exactly the keys {keys}, "
                             f"received {list(x)}")
        return [x[k] for k in keys]

    def _prepare(self, x: Any, y: Any, who: str, **kwargs: Any) -> Any:
        return super()._prepare(self._ordered(x), y, who, **kwargs)

    def __call__(self, inputs: Any, training: bool | None = None, **kwargs: Any) -> Any:
        return super().__call__(self._ordered(inputs), training=training, **kwargs)

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Run the recorded calls in order; inputs as listed at construction (one, a list or a dict)."""
        if not self._functional:
            return super().call(inputs, training)
        inputs = self._ordered(inputs)
        xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(xs) != len(self._inputs):
            raise ValueError(f"Model '{self.name}': expected {len(self._inputs)} inputs, "
                             f"received {len(xs)}")
        values: dict[int, Any] = {id(s): x for s, x in zip(self._inputs, xs)}
        for node in self._nodes:
            args = [values[id(s)] for s in node.inputs]
            out = node.layer(args if node.multi_input else args[0], **{"training": training, **node.kwargs})
            if len(node.outputs) == 1:
                values[id(node.outputs[0])] = out
            else:
                for sym, value in zip(node.outputs, out):
                    values[id(sym)] = value
        results = [values[id(s)] for s in self._outputs]
        return results if self._multi_out else results[0]

    # ----- config
    def get_config(self) -> dict[str, Any]:
        """JSON-able graph: distinct layers (serialized), call nodes by index, inputs and outputs.

        A subclassed model gets Layer's default: its __init__ arguments (or its own get_config()).
        """
        if not self._functional:
            return Layer.get_config(self)
        layer_index = {id(l): i for i, l in enumerate(self._layers)}
        where: dict[int, list] = {id(s): ["input", i, 0] for i, s in enumerate(self._inputs)}
        nodes = []
        for j, node in enumerate(self._nodes):
            nodes.append({"layer": layer_index[id(node.layer)], "multi_input": node.multi_input,
                          "inputs": [where[id(s)] for s in node.inputs],
                          **({"kwargs": node.kwargs} if node.kwargs else {})})
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

    get_config._default_config = True  # type: ignore[attr-defined]  # subclasses without one: auto-config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Model:
        """Rebuild the graph of get_config (fresh, unbuilt-then-rebuilt layers; weights not included)."""
        if "nodes" not in config:  # a subclassed model's own config
            return super().from_config(config)
        built = [layers_mod.deserialize(entry) for entry in config["layers"]]
        inputs = [SymbolicTensor(d["shape"], d["dtype"], name=d["name"]) for d in config["inputs"]]
        produced: list[list[SymbolicTensor]] = []

        def resolve(ref: list) -> SymbolicTensor:
            kind, i, k = ref
            return inputs[i] if kind == "input" else produced[i][k]

        for node in config["nodes"]:
            args = [resolve(r) for r in node["inputs"]]
            out = built[node["layer"]](args if node["multi_input"] else args[0], **node.get("kwargs", {}))
            produced.append(list(out) if isinstance(out, list) else [out])
        outputs = [resolve(r) for r in config["outputs"]]
        return cls(inputs if config["multi_input"] else inputs[0],
                   outputs if config["multi_output"] else outputs[0], name=config["name"])
