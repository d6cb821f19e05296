"""What a layer tracks: its weights (add_weight, freezing, get/set_weights) and the sublayers in its attributes."""
from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Sequence

import numpy as np

from minigrad import validation
from minigrad._ext._tensor import TensorBase
from minigrad.errors import ShapeError
from minigrad.layers._introspect import find_layers
from minigrad.layers.weight import Weight, new_weight

__all__ = ["Tracking", "stored_weights", "require_init"]

# While load_model rebuilds a model, weights come from the file (see minigrad.saving.model): a layer
# then allocates only what the file holds, after the file's shape matched the config's, and draws no
# throw-away initial values. Called as source(layer, weight_name, shape, dtype).
stored_weights: ContextVar[Any] = ContextVar("stored_weights", default=None)

# attributes of the framework's own that never hold sublayers (models keep their wiring in some)
_UNTRACKED = frozenset({"_weights", "_activity_losses", "_inbound_nodes", "_loss_layers", "_metrics",
                        "_metric_specs", "_inputs", "_outputs", "_nodes", "_syms", "_init_args"})
_AGGREGATIONS = ("none", "mean", "sum", "only_first_replica")


def _is_dtype(value: Any) -> bool:
    if not isinstance(value, (str, np.dtype)) and not (isinstance(value, type) and issubclass(value, np.generic)):
        return False
    try:
        np.dtype(value)
    except TypeError:
        return False
    return True


def require_init(layer: Any) -> None:
    """A TypeError unless Layer.__init__ ran (it creates the weight list)."""
    if "_weights" not in layer.__dict__:
        raise TypeError(f"{type(layer).__name__}: call super().__init__() at the start of __init__, "
                        "before add_weight() or calling the layer")


def _is_tracking(obj: Any) -> bool:
    return isinstance(obj, Tracking)


class Tracking:
    """Layer's weight and sublayer bookkeeping (Layer.__init__ creates _weights and _trainable)."""

    name: str
    dtype: np.dtype
    built: bool
    _weights: list[Weight]
    _trainable: bool

    def add_weight(self, shape: Any = None, initializer: Any = None, dtype: Any = None, trainable: Any = True,
                   autocast: Any = True, regularizer: Any = None, constraint: Any = None,
                   aggregation: str = "none", overwrite_with_gradient: bool = False,
                   name: str | None = None) -> Weight:
        """Create, initialise and track a weight (Keras 3's signature; name defaults to 'variable', ...).

        minigrad's older positional form `add_weight(name, shape, initializer, regularizer,
        constraint)` is still accepted: a str in first place is the name.
        """
        require_init(self)
        if isinstance(shape, str):  # the older form: (name, shape, initializer, regularizer, constraint)
            name, shape = shape, initializer
            # the initializer came in dtype's place unless dtype= was given instead (no initializer is a dtype)
            initializer, dtype = (None, dtype) if _is_dtype(dtype) else (dtype, None)
            # Keras' trainable/autocast are bools: anything else came positionally as regularizer/constraint
            if not isinstance(trainable, bool):
                regularizer, trainable = trainable, True
            if not isinstance(autocast, bool):
                constraint, autocast = autocast, True
        validation.choice(aggregation, _AGGREGATIONS, f"{type(self).__name__} '{self.name}'", "add_weight aggregation")
        if overwrite_with_gradient:
            raise ValueError(f"{type(self).__name__} '{self.name}': add_weight(overwrite_with_gradient=True) "
                             "(Keras' float8 training) is not supported by minigrad")
        if name is None:
            taken = {w.name for w in self._weights}
            name = next(n for n in ("variable", *(f"variable_{i}" for i in range(1, len(taken) + 2)))
                        if f"{self.name}/{n}" not in taken)
        source = stored_weights.get()  # load_model: the file's array instead of an initializer
        fill = None if source is None else (lambda dims, dt: source(self, name, dims, dt))
        w = new_weight(f"{type(self).__name__} '{self.name}'", f"{self.name}/{name}", () if shape is None else shape,
                       initializer, np.dtype(dtype or self.dtype), bool(trainable), regularizer, constraint, fill)
        w.requires_grad = w.trainable and self._trainable
        self._weights.append(w)
        return w

    def add_variable(self, shape: Any, initializer: Any, dtype: Any = None, trainable: bool = True,
                     autocast: bool = True, regularizer: Any = None, constraint: Any = None,
                     name: str | None = None) -> Weight:
        """Keras 3's other spelling of add_weight (shape and initializer required)."""
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype, trainable=trainable,
                               autocast=autocast, regularizer=regularizer, constraint=constraint, name=name)

    def __setattr__(self, name: str, value: Any) -> None:
        # remember which attributes may hold sublayers (in assignment order, as Keras lists them),
        # so weights/losses need not scan every attribute
        if name not in _UNTRACKED and (isinstance(value, (Tracking, list, dict)) or (
                isinstance(value, tuple) and any(isinstance(v, (Tracking, list, tuple, dict)) for v in value))):
            self.__dict__.setdefault("_maybe_sublayers", {})[name] = None
        object.__setattr__(self, name, value)

    def _sublayers(self) -> list[Any]:
        """Layers held in attributes, directly or in (nested) lists, tuples and dicts, each once."""
        found: list[Any] = []
        attrs = self.__dict__
        for name in attrs.get("_maybe_sublayers", ()):
            find_layers(attrs.get(name), _is_tracking, found)
        unique = {id(layer): layer for layer in found if layer is not self}
        return list(unique.values())

    @property
    def weights(self) -> list[Weight]:
        """Every weight: own trainable-by-creation ones, own non-trainable ones, then sublayers'."""
        own = [w for w in self._weights if w.trainable] + [w for w in self._weights if not w.trainable]
        for layer in self._sublayers():
            own += layer.weights
        return own

    @property
    def trainable_weights(self) -> list[Weight]:
        """Weights the optimizer updates (none while the layer is frozen)."""
        if not self._trainable:
            return []
        own = [w for w in self._weights if w.trainable]
        for layer in self._sublayers():
            own += layer.trainable_weights
        return own

    @property
    def non_trainable_weights(self) -> list[Weight]:
        """Weights the optimizer leaves alone (all of them while the layer is frozen)."""
        if not self._trainable:
            return self.weights
        own = [w for w in self._weights if not w.trainable]
        for layer in self._sublayers():
            own += layer.non_trainable_weights
        return own

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freezing turns requires_grad off on every weight, so training leaves them fixed."""
        self._trainable = bool(value)
        for w in self._weights:
            w.requires_grad = self._trainable and w.trainable
        for layer in self._sublayers():
            layer.trainable = value

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights in Keras order and layout."""
        return [w.data.copy() for w in self.weights]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Overwrite every weight in place from arrays in get_weights() order and shapes."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(f"{type(self).__name__} '{self.name}': set_weights expected {len(own)} "
                             f"arrays ({', '.join(w.name for w in own) or 'the layer has no weights'}), "
                             f"received {len(weights)}")
        for w, value in zip(own, weights):
            value = np.asarray(value.data if isinstance(value, TensorBase) else value)
            if value.shape != w.data.shape:
                raise ShapeError(f"{type(self).__name__} '{self.name}': weight '{w.name}' has shape "
                                 f"{w.data.shape}, received an array of shape {value.shape}")
        for w, value in zip(own, weights):
            w.assign(value)

    def count_params(self) -> int:
        """Number of scalar weights (the layer must be built)."""
        if not self.built:
            raise ValueError(f"{type(self).__name__} '{self.name}': count_params() needs a built layer; "
                             "call it on data or pass input_shape first")
        return int(sum(w.data.size for w in self.weights))
