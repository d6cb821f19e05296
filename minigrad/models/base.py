"""ModelBase: what Sequential and the functional Model share (weights, input checks, saving, summary)."""
from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any, Callable

import numpy as np

from minigrad.errors import ShapeError
from minigrad.models.data import shape_str
from minigrad.models.training import TrainingMixin
from minigrad.tensor import Tensor

__all__ = ["ModelBase"]

_name_counters: defaultdict[str, itertools.count] = defaultdict(itertools.count)


def _unique_name(prefix: str) -> str:
    """'sequential', 'sequential_1', ... as Keras names models."""
    i = next(_name_counters[prefix])
    return prefix if i == 0 else f"{prefix}_{i}"


class ModelBase(TrainingMixin):
    """A trainable stack or graph of layers; subclasses define layers, call() and their input shapes."""

    _default_name = "model"

    def __init__(self, name: str | None = None) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{type(self).__name__}: name must be a non-empty str, received {name!r}")
        self.name = name or _unique_name(self._default_name)
        self.stop_training = False

    # ----- hooks the subclasses provide
    @property
    def layers(self) -> list[Any]:
        """The model's distinct layers, in call order."""
        raise NotImplementedError

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Forward pass on Tensors (no input checks: __call__ and the loops do them)."""
        raise NotImplementedError

    def input_shapes(self) -> list[tuple[int | None, ...]] | None:
        """Expected shape of each input, batch axis None (None while unknown)."""
        raise NotImplementedError

    def _ensure_built(self, shapes: list[tuple[int | None, ...]]) -> None:
        """Build from data shapes if the input shape was not given up front."""

    def _n_inputs(self) -> int:
        return 1

    def _n_outputs(self) -> int:
        return 1

    def _input_dtypes(self) -> list[np.dtype]:
        """The dtype each input batch is converted to (once, before the first layer)."""
        raise NotImplementedError

    def _input_dtype(self) -> np.dtype:
        """The first input's dtype (what a one-input model converts data to)."""
        return self._input_dtypes()[0]

    def _graph(self) -> list[Any]:
        raise NotImplementedError

    # ----- calling
    def __call__(self, inputs: Any, training: bool = False) -> Any:
        """Forward pass on Tensors/arrays (checked against the model's input shape)."""
        from minigrad.models.functional import SymbolicTensor

        many = isinstance(inputs, (list, tuple))
        items = list(inputs) if many else [inputs]
        if any(isinstance(x, SymbolicTensor) for x in items):
            raise TypeError(f"{type(self).__name__} '{self.name}': calling a model on SymbolicTensors "
                            "(nesting models) is not supported; call its layers instead")
        if len(items) != self._n_inputs():
            raise ValueError(f"{self.name}: the model has {self._n_inputs()} input(s), received {len(items)}")
        xs = [x if isinstance(x, Tensor) else Tensor(x, dtype=d) for x, d in zip(items, self._input_dtypes())]
        self._ensure_built([(None,) + x.shape[1:] for x in xs])
        self._check_input_shapes([x.data for x in xs], self.name)
        return self.call(xs if many else xs[0], training=training)

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

    # ----- weights
    def _require_built(self, who: str) -> None:
        if self.input_shapes() is None:
            raise ValueError(f"{self.name}.{who}: the model is not built yet; give the first layer "
                             "an input_shape (or start with layers.Input), or call it on data first")

    def _collect(self, attr: str) -> list[Any]:
        seen: dict[int, Any] = {}
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
        """Every layer's regularization terms (weight penalties and last activity penalties)."""
        return [loss for layer in self.layers for loss in layer.losses]

    def get_weights(self) -> list[np.ndarray]:
        """Every layer's get_weights(), in layer order (Keras layouts)."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: list[Any]) -> None:
        """Inverse of get_weights: one array per weight, in the same order and shapes."""
        self._require_built("set_weights")
        weights = list(weights)
        needed = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != needed:
            raise ValueError(f"{self.name}.set_weights: expected a list of {needed} arrays, "
                             f"received {len(weights)}")
        start = 0
        for layer in self.layers:
            k = len(layer.weights)
            layer.set_weights(weights[start:start + k])
            start += k

    def count_params(self) -> int:
        """Number of scalars in all weights."""
        self._require_built("count_params")
        return sum(layer.count_params() for layer in self.layers)

    @property
    def output_shape(self) -> Any:
        """Output shape with None batch axis."""
        graph = self._graph()
        return graph[-1].shape

    # ----- saving (minigrad.saving owns the file formats)
    def save(self, filepath: Any, **kwargs: Any) -> None:
        """Architecture, weights and optimizer state to one file (minigrad.saving.save_model)."""
        from minigrad import saving

        saving.save_model(self, filepath, **kwargs)

    def save_weights(self, filepath: Any, **kwargs: Any) -> None:
        """Weights only (minigrad.saving.save_weights)."""
        from minigrad import saving

        saving.save_weights(self, filepath, **kwargs)

    def load_weights(self, filepath: Any, **kwargs: Any) -> Any:
        """Weights saved by save_weights (minigrad.saving.load_weights)."""
        from minigrad import saving

        return saving.load_weights(self, filepath, **kwargs)

    # ----- explaining the network
    def summary(self, print_fn: Callable[[str], Any] | None = None, *, line_length: int | None = None,
                show_flops: bool = False, show_receptive_field: bool = False) -> None:
        """Keras-style table (layer, output shape, params; optional FLOPs and receptive field)."""
        from minigrad.models import summary

        self._require_built("summary")
        lines = summary.summary_lines(self, line_length=line_length, show_flops=show_flops,
                                      show_receptive_field=show_receptive_field)
        emit = print if print_fn is None else print_fn
        for line in lines:
            emit(line)

    def receptive_fields(self, target: str | None = None) -> list[Any]:
        """Per layer: output size, receptive field on the input, its share, region seen by target."""
        from minigrad.models import summary

        self._require_built("receptive_fields")
        return summary.receptive_fields(self, target)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self.name}' layers={len(self.layers)}>"
