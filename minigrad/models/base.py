"""ModelBase: what every model shares (weights, input checks, saving, summary); alone, a subclassed Model.

A model is a Layer, so it nests: a model called on SymbolicTensors is one node of a bigger graph,
and a Sequential can hold another model. ModelBase itself is the subclassing API (layers held as
attributes, `call` written by the user); Sequential and the functional Model refine it.
"""
from __future__ import annotations

import functools
import itertools
import json
from collections import defaultdict
from typing import Any, Callable

import numpy as np

from minigrad import saving
from minigrad.errors import ShapeError
from minigrad.layers import base as layer_base
from minigrad.layers.base import Layer, to_snake_case
from minigrad.layers.symbolic import SymbolicTensor, symbolic_call
from minigrad.models import summary
from minigrad.models.data import shape_str
from minigrad.models.training import TrainingMixin
from minigrad.tensor import Tensor, no_grad

__all__ = ["ModelBase"]

_name_counters: defaultdict[str, itertools.count] = defaultdict(itertools.count)


def _unique_name(prefix: str) -> str:
    """'sequential', 'sequential_1', ... as Keras names models."""
    i = next(_name_counters[prefix])
    return prefix if i == 0 else f"{prefix}_{i}"


def _user_call(call: Callable[..., Any]) -> Callable[..., Any]:
    """A subclass's call() as the training loops invoke it: `training` passed only if call() names it,
    sublayers called without `training=` inherit it, and model-level add_loss() terms restart."""
    takes_training, _ = layer_base._introspect.call_flags(call)

    @functools.wraps(call)
    def wrapper(self: ModelBase, inputs: Any, training: bool | None = None, **kwargs: Any) -> Any:
        outer = layer_base._call_training[0]
        training = outer if training is None else bool(training)
        if takes_training:
            kwargs["training"] = training
        self._activity_losses = []
        layer_base._call_training[0] = training
        try:
            return call(self, inputs, **kwargs)
        finally:
            layer_base._call_training[0] = outer
    wrapper._user_call = True  # type: ignore[attr-defined]
    return wrapper


class _OwnLosses:
    """A subclassed model's own penalties, shaped like a layer for the training loop's loss sum."""

    def __init__(self, model: ModelBase) -> None:
        self.model = model

    @property
    def losses(self) -> list[Any]:
        own = self.model._weights
        return [w.regularizer(w) for w in own if w.regularizer is not None] + self.model._activity_losses


class ModelBase(TrainingMixin, Layer):
    """A trainable stack or graph of layers; subclasses define layers, call() and their input shapes."""

    _default_name = "model"
    example_input_shape = None  # check_layer's per-layer example does not apply to whole models

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        call = cls.__dict__.get("call")
        if call is not None and not getattr(call, "_user_call", False) and not cls.__module__.startswith(
                "minigrad.models."):  # the framework's own call() already passes training on
            cls.call = _user_call(call)

    def __init__(self, name: str | None = None, **kwargs: Any) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{type(self).__name__}: name must be a non-empty str, received {name!r}")
        own = type(self).__module__.startswith("minigrad.models.")
        default = self._default_name if own else to_snake_case(type(self).__name__)
        Layer.__init__(self, name=name or _unique_name(default), **kwargs)
        # training state (models.steps / models.training): compile() and the loops set it
        self.optimizer = self.loss = self.history = None
        self._compiled, self.stop_training = False, False
        self._compile_metrics: Any = None
        self._loss_tracker: Any = None
        self._loss_weight = 1.0
        self._metric_specs: list[Any] = []
        self._weighted_metric_specs: list[Any] = []
        self.run_eagerly, self.steps_per_execution, self.jit_compile, self.auto_scale_loss = False, 1, False, True
        self._initial_epoch: int | None = None
        self._loss_layers = self._train_weights = self._metrics_cache = None
        self._call_shapes: list[tuple[int | None, ...]] | None = None  # subclassing: known after a call
        self._call_output_shape: Any = None

    # ----- hooks the subclasses provide (the defaults are the subclassing API's)
    @property
    def layers(self) -> list[Any]:
        """The model's distinct layers: for a subclassed model, those held in attributes, in assignment order."""
        return self._sublayers()

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Forward pass on Tensors (no input checks: __call__ and the loops do them)."""
        raise NotImplementedError(f"{type(self).__name__} '{self.name}': a subclassed Model must define "
                                  "call(self, inputs, training=None)")

    def input_shapes(self) -> list[tuple[int | None, ...]] | None:
        """Expected shape of each input, batch axis None (None while unknown)."""
        return None if self._call_shapes is None else list(self._call_shapes)

    def _ensure_built(self, shapes: list[tuple[int | None, ...]]) -> None:
        """Subclassing: run call() once on a zero batch of one so every sublayer creates its weights."""
        if self._call_shapes is not None:
            return
        xs = [Tensor(np.zeros((1, *(1 if d is None else d for d in s[1:])), dtype=self.dtype)) for s in shapes]
        with no_grad(), np.errstate(all="ignore"):
            out = self.call(xs if len(xs) > 1 else xs[0], training=False)
        outs = out if isinstance(out, (list, tuple)) else [out]
        shapes_out = [(None, *tuple(o.shape)[1:]) for o in outs]
        self._call_output_shape = shapes_out if isinstance(out, (list, tuple)) else shapes_out[0]
        self._call_shapes = [(None, *tuple(s)[1:]) for s in shapes]
        self.built = True

    def build(self, input_shape: Any) -> None:
        """Build for inputs of input_shape (batch axis included, e.g. (None, 784); a list for several)."""
        shapes = list(input_shape) if input_shape and isinstance(input_shape[0], (tuple, list)) else [input_shape]
        for shape in shapes:
            if not isinstance(shape, (tuple, list)) or len(shape) < 2:
                raise ValueError(f"{type(self).__name__} '{self.name}'.build: expected a shape with a batch "
                                 f"axis such as (None, 28, 28, 1), received {input_shape!r}")
        self._ensure_built([(None, *tuple(s)[1:]) for s in shapes])

    def _n_inputs(self) -> int:
        return 1 if self._call_shapes is None else len(self._call_shapes)

    def _n_outputs(self) -> int:
        return len(self._call_output_shape) if isinstance(self._call_output_shape, list) else 1

    def _input_dtypes(self) -> list[np.dtype]:
        """The dtype each input batch is converted to (once, before the first layer)."""
        return [self.dtype] * self._n_inputs()

    def _input_dtype(self) -> np.dtype:
        """The first input's dtype (what a one-input model converts data to)."""
        return self._input_dtypes()[0]

    def _graph(self) -> list[Any]:
        """Summary rows: a subclassed model lists its layers; their output shapes are unknown ('?')."""
        return [summary.GraphRow("input", None, (), self._call_shapes[0])] + [
            summary.GraphRow(layer.name, layer, (), None) for layer in self.layers]

    @property
    def _multi_input(self) -> bool:  # type: ignore[override]
        return self._n_inputs() > 1

    # ----- calling
    def __call__(self, inputs: Any, training: bool | None = None, **kwargs: Any) -> Any:
        """Forward pass on Tensors/arrays (checked against the model's input shape), or a graph node on symbols."""
        many = isinstance(inputs, (list, tuple))
        items = list(inputs) if many else [inputs]
        if any(isinstance(x, SymbolicTensor) for x in items):
            self._ensure_built([x.shape for x in items])
            self._check_symbols([x.shape for x in items])
            return symbolic_call(self, inputs if len(items) > 1 else items[0], **kwargs)
        if self._call_shapes is None and not self._is_graph():
            self._call_shapes_from(items)
        if len(items) != self._n_inputs():
            raise ValueError(f"{self.name}: the model has {self._n_inputs()} input(s), received {len(items)}")
        xs = [x if isinstance(x, Tensor) else Tensor(x, dtype=d) for x, d in zip(items, self._input_dtypes())]
        self._ensure_built([(None,) + x.shape[1:] for x in xs])
        self._check_input_shapes([x.data for x in xs], self.name)
        return self.call(xs if len(xs) > 1 else xs[0], training=training, **kwargs)

    def _is_graph(self) -> bool:
        return False

    def _prepare(self, x: Any, y: Any, who: str, **kwargs: Any) -> Any:
        if self._call_shapes is None and not self._is_graph() and isinstance(x, (list, tuple)) and len(x) > 1 \
                and all(hasattr(a, "shape") for a in x):  # a subclassed model's first data: several inputs
            self._ensure_built([(None, *np.shape(a)[1:]) for a in x])
        return super()._prepare(x, y, who, **kwargs)

    def _find_loss_layers(self) -> list[Any]:
        """The training loop's loss sources, plus a subclassed model's own add_loss() terms."""
        found = super()._find_loss_layers()
        return found if self._is_graph() else [*found, _OwnLosses(self)]

    def _call_shapes_from(self, items: list[Any]) -> None:
        shapes = [(None, *np.shape(x.data if isinstance(x, Tensor) else x)[1:]) for x in items]
        self._ensure_built(shapes)

    def build_from(self, input_shape: Any) -> None:
        """Build for symbolic input shape(s) (a model nested in another)."""
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        self._ensure_built([(None, *tuple(s)[1:]) for s in shapes])

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The model's output shape (its input shapes were checked against input_shape first)."""
        return self.output_shape

    def _check_symbols(self, shapes: list[tuple]) -> None:
        expected = self.input_shapes() or []
        if len(shapes) != len(expected):
            raise ValueError(f"{type(self).__name__} '{self.name}': expected {len(expected)} input(s), "
                             f"received {len(shapes)}")
        for i, (got, want) in enumerate(zip(shapes, expected)):
            if len(got) != len(want) or any(w is not None and g is not None and g != w
                                            for g, w in zip(got[1:], want[1:])):
                raise ShapeError(f"{type(self).__name__} '{self.name}': input {i} is incompatible with the "
                                 f"model: expected shape={shape_str(want)}, found shape={shape_str(got)}")

    def _check_input_shapes(self, arrays: list[np.ndarray], who: str) -> None:
        expected_all = self.input_shapes()
        if len(arrays) != len(expected_all):
            raise ValueError(f"{who}: model '{self.name}' expects {len(expected_all)} inputs, "
                             f"received {len(arrays)}")
        for i, (a, expected) in enumerate(zip(arrays, expected_all)):
            fits = a.ndim == len(expected) and all(
                e is None or e == d for e, d in zip(expected[1:], a.shape[1:]))
            if not fits:
                raise ShapeError(
                    f"{who}: input {i} of layer '{self._first_layer_name(i)}' in model "
                    f"'{self.name}' is incompatible with the layer: expected "
                    f"shape={shape_str(expected)}, found shape={shape_str(a.shape)}")

    def _first_layer_name(self, i: int) -> str:
        return self.layers[0].name if self.layers else self.name

    # ----- structure
    def get_layer(self, name: str | None = None, index: int | None = None) -> Any:
        """A layer by name or by index in `layers` (Keras' Model.get_layer)."""
        if name is not None and index is not None:
            raise ValueError(f"{self.name}.get_layer: provide only a layer name or a layer index; "
                             f"received index={index}, name={name!r}")
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"{self.name}.get_layer: was asked for the layer at index {index}, but the "
                                 f"model only has {len(self.layers)} layers")
            return self.layers[index]
        if name is None:
            raise ValueError(f"{self.name}.get_layer: provide either a layer name or a layer index")
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"{self.name}.get_layer: no such layer: {name!r}; existing layers are: "
                         f"{[layer.name for layer in self.layers]}")

    def to_json(self, **kwargs: Any) -> str:
        """The architecture as JSON (json.dumps keyword arguments pass through); models.model_from_json reads it."""
        return json.dumps(saving.serialize_keras_object(self), **kwargs)

    # ----- weights
    def _require_built(self, who: str) -> None:
        if self.input_shapes() is None:
            raise ValueError(f"{self.name}.{who}: the model is not built yet; give the first layer "
                             "an input_shape (or start with layers.Input), or call it on data first")

    def weight_list(self) -> list[Any]:
        """Every weight in get_weights() order: the model's own, then each layer's (saving pairs names with it)."""
        return list(self._weights) + [w for layer in self.layers for w in layer.weights]

    def _collect(self, attr: str) -> list[Any]:
        own = [w for w in self._weights if w.trainable == (attr != "non_trainable_weights")]
        own = self._weights if attr == "weights" else own if self._trainable else (
            [] if attr == "trainable_weights" else list(self._weights))
        seen: dict[int, Any] = {id(w): w for w in own}
        for layer in self.layers:
            for w in getattr(layer, attr):
                seen.setdefault(id(w), w)  # a weight shared by two layers counts once
        return list(seen.values())

    @property
    def weights(self) -> list[Any]:
        """Every weight of every layer, each once."""
        return self._collect("weights")

    @property
    def trainable_weights(self) -> list[Any]:
        """The weights the optimizer updates (frozen layers contribute none)."""
        return self._collect("trainable_weights")

    @property
    def non_trainable_weights(self) -> list[Any]:
        """Weights the optimizer leaves alone (moving statistics, frozen layers)."""
        return self._collect("non_trainable_weights")

    @property
    def losses(self) -> list[Any]:
        """The model's own add_loss() terms, then every layer's (weight penalties and last activity penalties)."""
        return _OwnLosses(self).losses + [loss for layer in self.layers for loss in layer.losses]

    def get_weights(self) -> list[np.ndarray]:
        """The model's own weights, then every layer's get_weights(), in layer order (Keras layouts)."""
        return [w.data.copy() for w in self._weights] + [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: list[Any]) -> None:
        """Inverse of get_weights: one array per weight, in the same order and shapes."""
        self._require_built("set_weights")
        weights = list(weights)
        needed = len(self._weights) + sum(len(layer.weights) for layer in self.layers)
        if len(weights) != needed:
            raise ValueError(f"{self.name}.set_weights: expected a list of {needed} arrays, "
                             f"received {len(weights)}")
        start = len(self._weights)
        for w, value in zip(self._weights, weights[:start]):
            w.assign(value)
        for layer in self.layers:
            k = len(layer.weights)
            layer.set_weights(weights[start:start + k])
            start += k

    def count_params(self) -> int:
        """Number of scalars in all weights."""
        self._require_built("count_params")
        return sum(w.data.size for w in self._weights) + sum(layer.count_params() for layer in self.layers)

    @property
    def output_shape(self) -> Any:
        """Output shape with None batch axis."""
        if self._call_shapes is not None:  # subclassing: seen when the model was built
            return self._call_output_shape
        return self._graph()[-1].shape

    # ----- saving (minigrad.saving owns the file formats)
    def save(self, filepath: Any, **kwargs: Any) -> None:
        """Architecture, weights and optimizer state to one file (minigrad.saving.save_model)."""
        saving.save_model(self, filepath, **kwargs)

    def save_weights(self, filepath: Any, **kwargs: Any) -> None:
        """Weights only (minigrad.saving.save_weights)."""
        saving.save_weights(self, filepath, **kwargs)

    def load_weights(self, filepath: Any, **kwargs: Any) -> Any:
        """Weights saved by save_weights (minigrad.saving.load_weights)."""
        return saving.load_weights(self, filepath, **kwargs)

    # ----- explaining the network
    def summary(self, print_fn: Callable[[str], Any] | None = None, *, line_length: int | None = None,
                show_flops: bool = False, show_receptive_field: bool = False, expand_nested: bool = False,
                show_trainable: bool = False, positions: Any = None, layer_range: Any = None) -> None:
        """Keras-style table (layer, output shape, params; optional FLOPs and receptive field)."""
        unsupported = {"expand_nested": expand_nested, "show_trainable": show_trainable, "positions": positions,
                       "layer_range": layer_range}
        for arg, value in unsupported.items():
            if value:
                raise ValueError(f"{self.name}.summary: Keras' {arg}= is not supported by minigrad "
                                 f"(received {value!r}); nested models show as one row")
        self._require_built("summary")
        lines = summary.summary_lines(self, line_length=line_length, show_flops=show_flops,
                                      show_receptive_field=show_receptive_field)
        emit = print if print_fn is None else print_fn
        for line in lines:
            emit(line)

    def receptive_fields(self, target: str | None = None) -> list[Any]:
        """Per layer: output size, receptive field on the input, its share, region seen by target."""
        self._require_built("receptive_fields")
        return summary.receptive_fields(self, target)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self.name}' layers={len(self.layers)}>"
