"""Layer: check -> build once -> call, with Keras semantics; the layer registry."""
from __future__ import annotations

import functools
import re
from contextvars import ContextVar
from typing import Any, Sequence

import numpy as np

from minigrad import activations, constraints, initializers, regularizers
from minigrad._ext._tensor import TensorBase
from minigrad.errors import ShapeError
from minigrad.layers.weight import InputSpec, Shape, Weight
from minigrad.ops import apply
from minigrad.registry import Registry
from minigrad.tensor import Tensor

__all__ = ["Layer", "Weight", "InputSpec", "Shape", "to_snake_case", "clear_names", "registry", "register",
           "serialize_identifier", "resolve_kernel_bias", "kernel_bias_config"]

_name_counts: dict[str, int] = {}
# While load_model rebuilds a model, weights come from the file (see minigrad.saving.model): a layer
# then allocates only what the file holds, after the file's shape matched the config's, and draws no
# throw-away initial values. Called as source(layer, weight_name, shape, dtype).
stored_weights: ContextVar[Any] = ContextVar("stored_weights", default=None)


def to_snake_case(name: str) -> str:
    """Keras' class -> layer name rule: 'Conv2D' -> 'conv2d', 'MaxPooling2D' -> 'max_pooling2d', 'ReLU' -> 're_lu'."""
    s = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def _is_layer_class(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, Layer)


registry = Registry("layers", validate=_is_layer_class)


def register(name: str, *, aliases: tuple[str, ...] = (), override: bool = False):
    """Class decorator: register a Layer subclass under its Keras snake_case name."""
    return registry.register(name, aliases=aliases, override=override)


def serialize_identifier(module: Any, obj: Any) -> Any:
    """None, or an activation's name / an initializer's, regularizer's or constraint's registry dict."""
    return None if obj is None else module.serialize(obj)


def resolve_kernel_bias(layer: Any, kernel: str, activation: Any, use_bias: Any, kernel_initializer: Any,
                        bias_initializer: Any, kernel_regularizer: Any, bias_regularizer: Any,
                        activity_regularizer: Any, kernel_constraint: Any, bias_constraint: Any) -> None:
    """Set activation, use_bias and the `<kernel>`/bias initializer, regularizer, constraint on layer."""
    try:
        _resolve_kernel_bias(layer, kernel, activation, use_bias, kernel_initializer, bias_initializer,
                             kernel_regularizer, bias_regularizer, activity_regularizer, kernel_constraint,
                             bias_constraint)
    except (TypeError, ValueError) as e:  # the registries' messages do not know which layer asked
        raise type(e)(f"{type(layer).__name__} '{getattr(layer, 'name', '?')}': {e}") from e


def _resolve_kernel_bias(layer: Any, kernel: str, activation: Any, use_bias: Any, kernel_initializer: Any,
                         bias_initializer: Any, kernel_regularizer: Any, bias_regularizer: Any,
                         activity_regularizer: Any, kernel_constraint: Any, bias_constraint: Any) -> None:
    layer.activation = activations.get(activation)
    layer.use_bias = bool(use_bias)
    setattr(layer, f"{kernel}_initializer", initializers.get(kernel_initializer))
    layer.bias_initializer = initializers.get(bias_initializer)
    setattr(layer, f"{kernel}_regularizer", regularizers.get(kernel_regularizer))
    layer.bias_regularizer = regularizers.get(bias_regularizer)
    layer.activity_regularizer = regularizers.get(activity_regularizer)
    setattr(layer, f"{kernel}_constraint", constraints.get(kernel_constraint))
    layer.bias_constraint = constraints.get(bias_constraint)


def kernel_bias_config(layer: Any, kernel: str = "kernel") -> dict[str, Any]:
    """The config entries resolve_kernel_bias() set, serialized through their registries."""
    return {
        "activation": activations.serialize(layer.activation), "use_bias": layer.use_bias,
        f"{kernel}_initializer": initializers.serialize(getattr(layer, f"{kernel}_initializer")),
        "bias_initializer": initializers.serialize(layer.bias_initializer),
        f"{kernel}_regularizer": serialize_identifier(regularizers, getattr(layer, f"{kernel}_regularizer")),
        "bias_regularizer": serialize_identifier(regularizers, layer.bias_regularizer),
        "activity_regularizer": serialize_identifier(regularizers, layer.activity_regularizer),
        f"{kernel}_constraint": serialize_identifier(constraints, getattr(layer, f"{kernel}_constraint")),
        "bias_constraint": serialize_identifier(constraints, layer.bias_constraint),
    }


def _unique_name(base: str) -> str:
    count = _name_counts.get(base, 0)
    _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def clear_names() -> None:
    """Restart automatic layer names (conv2d, conv2d_1, ...) from scratch, like keras.backend.clear_session."""
    _name_counts.clear()


_OWN_LISTS = frozenset({"_weights", "_activity_losses"})  # the base class's own lists never hold layers


def _checked_build(build: Any) -> Any:
    @functools.wraps(build)
    def wrapper(self: Layer, input_shape: Any) -> None:
        if not self._multi_input:
            input_shape = tuple(input_shape)
            self._check_shape(input_shape)
        build(self, input_shape)
        self._build_input_shape = input_shape
    return wrapper


def _checked_shape(compute: Any) -> Any:
    @functools.wraps(compute)
    def wrapper(self: Layer, input_shape: Any) -> Any:
        if not self._multi_input:
            input_shape = tuple(input_shape)
            self._check_shape(input_shape)
        return compute(self, input_shape)
    return wrapper


def _symbolic_call(layer: "Layer", inputs: Any) -> Any:
    """The functional API's result when some input is a SymbolicTensor, else None."""
    items = inputs if isinstance(inputs, (list, tuple)) else (inputs,)
    if all(isinstance(x, (TensorBase, np.ndarray, np.generic, int, float, list, tuple)) for x in items):
        return None
    try:  # lazy: only the functional API needs the models package
        from minigrad.models import functional
    except ModuleNotFoundError:
        return None
    if any(isinstance(x, functional.SymbolicTensor) for x in items):
        return functional.symbolic_call(layer, inputs)
    return None


class Layer:
    """Base of every layer: validates input, builds weights once, then calls; Keras semantics.

    Subclasses implement `build(input_shape)` (input_shape has None as batch size), `call(inputs,
    training=False)`, `compute_output_shape(input_shape)` and `get_config()`, and describe a tiny
    example for `minigrad.testing.check_layer` with the class attributes `example_config` and
    `example_input_shape` (docs/CONTRACTS.md, "Checking layers").
    """

    input_spec: InputSpec | None = None
    _autocast = True          # cast inputs to the layer dtype (off for layers taking int ids)
    _multi_input = False      # True when call() takes a list of tensors (Add, Concatenate)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # build() and compute_output_shape() check the input shape first whoever calls them
        # (__call__, Sequential, the functional API), so wrong wiring fails naming the layer
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            cls.build = _checked_build(cls.__dict__["build"])
        if "compute_output_shape" in cls.__dict__:
            cls.compute_output_shape = _checked_shape(cls.__dict__["compute_output_shape"])

    def __init__(self, name: str | None = None, trainable: bool = True, dtype: Any = "float32",
                 input_shape: Sequence[int | None] | None = None, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                            f"{', '.join(sorted(kwargs))}")
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{type(self).__name__}: name must be a non-empty str, received {name!r}")
        self.name = name or _unique_name(to_snake_case(type(self).__name__))
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise TypeError(f"{type(self).__name__} '{self.name}': dtype must be float32 or float64, "
                            f"received {dtype!r}")
        self._trainable = bool(trainable)
        self._weights: list[Weight] = []
        self._activity_losses: list[Tensor] = []
        self.built = False
        self._build_input_shape: Shape | None = None
        self._batch_input_shape: Shape | None = None
        if input_shape is not None:
            if not isinstance(input_shape, (tuple, list)):
                raise TypeError(f"{type(self).__name__} '{self.name}': input_shape must be a tuple without the "
                                f"batch axis, e.g. (28, 28, 1), received {input_shape!r}")
            dims = tuple(input_shape)
            if not all(d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0)
                       for d in dims):
                raise ValueError(f"{type(self).__name__} '{self.name}': input_shape must hold positive "
                                 f"ints or None, received {input_shape!r}")
            self._batch_input_shape = (None, *(None if d is None else int(d) for d in dims))

    # ----- weights
    def add_weight(self, name: str, shape: Sequence[int], initializer: Any = "glorot_uniform",
                   regularizer: Any = None, constraint: Any = None, trainable: bool = True,
                   dtype: Any = None) -> Weight:
        """Create, initialise and track a weight of this layer."""
        from minigrad import constraints, initializers, regularizers

        dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        if not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0 for d in dims):
            raise ValueError(f"{type(self).__name__} '{self.name}': weight '{name}' needs a shape of "
                             f"non-negative ints, received {shape!r}")
        shape = tuple(int(d) for d in dims)
        dtype = np.dtype(dtype or self.dtype)
        source = stored_weights.get()
        if source is not None:
            values = source(self, name, shape, dtype)
        else:
            init = initializers.get("glorot_uniform" if initializer is None else initializer)
            values = np.asarray(init(shape, dtype=dtype))
        if values.shape != shape:
            raise ShapeError(f"{type(self).__name__} '{self.name}': initializer for '{name}' returned "
                             f"shape {values.shape}, expected {shape}")
        w = Weight(np.ascontiguousarray(values, dtype=dtype), f"{self.name}/{name}", trainable,
                   regularizers.get(regularizer), constraints.get(constraint))
        w.requires_grad = bool(trainable) and self._trainable
        self._weights.append(w)
        return w

    def __setattr__(self, name: str, value: Any) -> None:
        # remember which attributes may hold sublayers, so weights/losses need not scan every attribute
        if isinstance(value, Layer) or (
                name not in _OWN_LISTS and isinstance(value, (list, tuple))
                and (isinstance(value, list) or any(isinstance(v, Layer) for v in value))):
            self.__dict__.setdefault("_maybe_sublayers", set()).add(name)
        object.__setattr__(self, name, value)

    def _sublayers(self) -> list[Layer]:
        """Layers held in attributes, directly or in lists/tuples (tracked like Keras)."""
        found: list[Layer] = []
        attrs = self.__dict__
        for name in attrs.get("_maybe_sublayers", ()):
            value = attrs.get(name)
            if isinstance(value, Layer):
                found.append(value)
            elif isinstance(value, (list, tuple)):
                found.extend(v for v in value if isinstance(v, Layer))
        return found

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

    # ----- losses
    def add_loss(self, loss: Tensor) -> None:
        """Record a scalar penalty computed in call() (kept until the next call)."""
        self._activity_losses.append(loss)

    @property
    def losses(self) -> list[Tensor]:
        """Weight penalties from the current weights, then activity penalties of the last call.

        Activity penalties are not divided by the batch size (Keras 3; tf.keras divided them).
        """
        out = [w.regularizer(w) for w in self._weights if w.regularizer is not None]
        out += self._activity_losses
        for layer in self._sublayers():
            out += layer.losses
        return out

    # ----- calling
    def build(self, input_shape: Shape) -> None:
        """Create the weights for inputs of this shape (batch axis None); called once by __call__."""

    def call(self, inputs: Any, training: bool = False) -> Tensor:
        """The layer's computation on Tensors."""
        raise NotImplementedError(f"{type(self).__name__}: call() is not implemented")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """Output shape for an input shape (batch axis may be None); identity by default."""
        return tuple(input_shape)

    def __call__(self, inputs: Any, training: bool = False) -> Any:
        if isinstance(inputs, TensorBase) and inputs.data.dtype == self.dtype and not self._multi_input:
            pass  # the training-loop case: no conversion, no symbolic check
        else:
            symbolic = _symbolic_call(self, inputs)
            if symbolic is not None:
                return symbolic
            inputs = self._as_tensors(inputs)
        shapes = [x.shape for x in inputs] if self._multi_input else inputs.data.shape
        if not self.built:
            self.build_from(shapes)
        self._check_shape(shapes)
        if self._activity_losses:
            self._activity_losses = []
        outputs = self.call(inputs, training=bool(training))
        regularizer = getattr(self, "activity_regularizer", None)
        if regularizer is not None:
            self.add_loss(regularizer(outputs))
        return outputs

    def build_from(self, input_shape: Any) -> None:
        """Build once for an input shape (batch axis replaced by None); a no-op when built."""
        if self.built:
            return
        if self._multi_input:
            self.build([(None, *tuple(s)[1:]) for s in input_shape])
        else:
            self.build((None, *tuple(input_shape)[1:]))
        self.built = True

    def _as_tensors(self, inputs: Any) -> Any:
        if self._multi_input:
            if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
                raise TypeError(f"{type(self).__name__} '{self.name}': expected a list of at least 2 "
                                f"tensors, received {type(inputs).__name__}")
            return [self._as_tensor(x) for x in inputs]
        return self._as_tensor(inputs)

    def _as_tensor(self, x: Any) -> Tensor:
        if not isinstance(x, TensorBase):
            array = np.asarray(x)
            if array.dtype.kind not in "fiub":
                raise TypeError(f"{type(self).__name__} '{self.name}': expected a Tensor or numeric array, "
                                f"received {type(x).__name__} of dtype {array.dtype}")
            x = Tensor(array)
        if self._autocast and x.dtype != self.dtype:
            x = apply("cast", x, dtype=self.dtype)
        return x

    def _check_shape(self, shape: Any) -> None:
        spec = self.input_spec
        if spec is None or self._multi_input:
            return
        if not spec.accepts(shape):
            raise ShapeError(f"{type(self).__name__} '{self.name}': expected {spec.describe()}, "
                             f"received input of shape {tuple(shape)}")

    # ----- config
    def get_config(self) -> dict[str, Any]:
        """Everything __init__ needs to rebuild this layer (identifiers serialized through registries)."""
        config: dict[str, Any] = {"name": self.name, "trainable": self._trainable, "dtype": self.dtype.name}
        if self._batch_input_shape is not None:
            config["input_shape"] = list(self._batch_input_shape[1:])
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Rebuild a layer from get_config()."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self.name}' built={self.built}>"

