"""Sequential: a plain stack of layers, each taking the previous one's output."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from minigrad import layers as layers_mod
from minigrad.layers.base import register
from minigrad.layers.symbolic import SymbolicTensor
from minigrad.models.base import ModelBase
from minigrad.models.summary import GraphRow

__all__ = ["Sequential"]


def _known_input_shape(layer: Any) -> tuple[int | None, ...] | None:
    """The input shape a first layer already has: a built model's single input, or a built layer's."""
    if isinstance(layer, ModelBase):
        shapes = layer.input_shapes()
        return tuple(shapes[0]) if shapes and len(shapes) == 1 else None
    shape = getattr(layer, "_build_input_shape", None)
    if not layer.built or layer._multi_input or not isinstance(shape, tuple):
        return None
    return (None, *shape[1:])


@register("sequential")
class Sequential(ModelBase):
    """Layers applied in order; built as soon as the input shape is known (input_shape=, Input or data).

    Building calls each layer on the previous one's SymbolicTensor, so `layer.output` and
    `model.inputs` wire new functional models (feature maps) onto the same layers and weights.
    """

    _default_name = "sequential"

    def __init__(self, layers: Iterable[Any] | None = None, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self._layers: list[Any] = []
        self._input: SymbolicTensor | None = None
        self._syms: list[SymbolicTensor] = []  # each layer's output symbol once built
        if layers is not None:
            if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
                raise TypeError(f"Sequential: layers must be a list of layers, received "
                                f"{type(layers).__name__}")
            for layer in layers:
                self.add(layer)

    @property
    def layers(self) -> list[Any]:
        """The layers in order (an InputLayer given first is not listed, as in Keras)."""
        return list(self._layers)

    def add(self, layer: Any) -> None:
        """Append a layer (or, first of all, a layers.Input giving the input shape)."""
        if isinstance(layer, SymbolicTensor):
            if layer.node is not None or self._input is not None or self._layers:
                raise ValueError(f"Sequential '{self.name}': a SymbolicTensor may only be added first, "
                                 "as the model input (layers.Input(shape))")
            self._input = layer
            return
        if isinstance(layer, layers_mod.InputLayer):  # like Keras, it only declares the input shape
            if self._input is not None or self._layers:
                raise ValueError(f"Sequential '{self.name}': an InputLayer may only be added first")
            self._input = SymbolicTensor(layer._batch_input_shape, layer.dtype, name=layer.name)
            return
        if not isinstance(layer, layers_mod.Layer):
            raise TypeError(f"Sequential '{self.name}': add() expects a Layer, received "
                            f"{type(layer).__name__}")
        if any(layer.name == other.name for other in self._layers):
            raise ValueError(f"Sequential '{self.name}': all layers must have unique names; "
                             f"'{layer.name}' is already in the model")
        given = getattr(layer, "_batch_input_shape", None)
        if given is not None:
            if self._layers or (self._input is not None and self._input.shape != given):
                raise ValueError(f"Sequential '{self.name}': only the first layer may set input_shape; "
                                 f"layer '{layer.name}' has input_shape={given[1:]}")
            self._input = SymbolicTensor(given, layer.dtype, name="input")
        elif self._input is None and not self._layers:
            known = _known_input_shape(layer)
            if known is not None:  # an already-built layer or model fixes the input, as in Keras
                self._input = SymbolicTensor(known, layer.dtype, name="input")
        self._layers.append(layer)
        if self._input is not None:
            try:
                self._build_layer(len(self._layers) - 1)
            except Exception:
                self._layers.pop()  # keep the model usable after a layer that does not fit
                raise

    def pop(self) -> Any:
        """Remove and return the last layer."""
        if not self._layers:
            raise IndexError(f"Sequential '{self.name}': pop() on a model without layers")
        if len(self._syms) == len(self._layers):
            self._syms.pop()
        return self._layers.pop()

    @property
    def _shapes(self) -> list[tuple[int | None, ...]]:
        return [s.shape for s in self._syms]

    def _build_layer(self, i: int) -> None:
        previous = self._input if i == 0 else self._syms[i - 1]
        out = self._layers[i](previous)  # symbolic: builds the layer and gives its output shape
        if isinstance(out, list):
            raise ValueError(f"Sequential '{self.name}': layer '{self._layers[i].name}' has several "
                             "outputs; use the functional Model for it")
        self._syms.append(out)
        self.built = len(self._syms) == len(self._layers)

    def _is_graph(self) -> bool:
        return True

    def _built_symbols(self, attr: str) -> None:
        if self._input is None or len(self._syms) < len(self._layers):
            raise AttributeError(f"Sequential model '{self.name}' has no defined {attr} yet: give the first "
                                 "layer an input_shape, start with layers.Input, or call it on data")

    @property
    def inputs(self) -> list[SymbolicTensor]:
        """[the input symbol] (once the input shape is known)."""
        self._built_symbols("inputs")
        return [self._input]

    @property
    def outputs(self) -> list[SymbolicTensor]:
        """[the last layer's output symbol] (once built)."""
        self._built_symbols("outputs")
        return [self._syms[-1] if self._syms else self._input]

    @property
    def input(self) -> SymbolicTensor:
        """The input symbol (once the input shape is known)."""
        return self.inputs[0]

    @property
    def output(self) -> SymbolicTensor:
        """The last layer's output symbol (once built)."""
        return self.outputs[0]

    def build(self, input_shape: Any) -> None:
        """Build every layer for inputs of input_shape (batch axis included, e.g. (None, 28, 28, 1))."""
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 2:
            raise ValueError(f"Sequential '{self.name}'.build: expected a shape with a batch axis such as "
                             f"(None, 28, 28, 1), received {input_shape!r}")
        shape = (None, *input_shape[1:])
        if self._input is not None and self._input.shape != shape:
            raise ValueError(f"Sequential '{self.name}'.build: the model is built for "
                             f"{self._input.shape}, received {tuple(input_shape)}")
        self._ensure_built([shape])

    def _ensure_built(self, shapes: list[tuple[int | None, ...]]) -> None:
        if self._input is None:
            if not self._layers:
                raise ValueError(f"Sequential '{self.name}': the model has no layers")
            self._input = SymbolicTensor(shapes[0], self._layers[0].dtype, name="input")
        for i in range(len(self._syms), len(self._layers)):
            self._build_layer(i)

    def input_shapes(self) -> list[tuple[int | None, ...]] | None:
        """[input shape] once known, else None."""
        return None if self._input is None else [self._input.shape]

    @property
    def input_shape(self) -> tuple[int | None, ...] | None:
        """(None, ...) once known, else None."""
        return None if self._input is None else self._input.shape

    def _input_dtypes(self) -> list[np.dtype]:
        return [self._layers[0].dtype if self._layers else np.dtype(np.float32)]

    def _graph(self) -> list[GraphRow]:
        self._require_built("summary")
        self._ensure_built([self._input.shape])
        rows = [GraphRow(self._input.name, None, (), self._input.shape)]
        rows += [GraphRow(l.name, l, (i,), s) for i, (l, s) in enumerate(zip(self._layers, self._shapes))]
        return rows

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        """Each layer on the previous output."""
        x = inputs
        for layer in self._layers:
            x = layer(x, training=training)
        return x

    # ----- config
    def get_config(self) -> dict[str, Any]:
        """{'name', 'input_shape' (None while unknown), 'layers': serialized layers}."""
        return {
            "name": self.name,
            "input_shape": None if self._input is None else list(self._input.shape[1:]),
            "dtype": self._input_dtypes()[0].name,
            "layers": [layers_mod.serialize(l) for l in self._layers],
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """A new, freshly initialised model with the same architecture."""
        layers = [layers_mod.deserialize(entry) for entry in config["layers"]]
        model = cls(name=config.get("name"))
        if config.get("input_shape") is not None:
            model.add(SymbolicTensor((None, *config["input_shape"]), config.get("dtype", "float32")))
        for layer in layers:
            model.add(layer)
        return model
