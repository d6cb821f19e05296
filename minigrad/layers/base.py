"""Layer: check -> build once -> call, with Keras semantics; the layer registry."""
from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Sequence

import numpy as np

from minigrad._ext._tensor import TensorBase
from minigrad.errors import ShapeError
from minigrad.layers import _introspect
from minigrad.layers._args import kernel_bias_config, resolve_kernel_bias, serialize_identifier  # re-exported
from minigrad.layers._introspect import checked_build as _checked_build
from minigrad.layers._introspect import checked_shape as _checked_shape
from minigrad.layers.weight import InputSpec, Shape, Weight, new_weight
from minigrad.ops import apply
from minigrad.registry import Kind, snake_case
from minigrad.tensor import Tensor

__all__ = ["Layer", "Weight", "InputSpec", "Shape", "clear_names", "registry", "register",
           "serialize_identifier", "resolve_kernel_bias", "kernel_bias_config"]

_name_counts: dict[str, int] = {}
# While load_model rebuilds a model, weights come from the file (see minigrad.saving.model): a layer
# then allocates only what the file holds, after the file's shape matched the config's, and draws no
# throw-away initial values. Called as source(layer, weight_name, shape, dtype).
stored_weights: ContextVar[Any] = ContextVar("stored_weights", default=None)


def _is_layer(obj: Any) -> bool:
    return isinstance(obj, Layer)


def _unique_name(base: str) -> str:
    count = _name_counts.get(base, 0)
    _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def clear_names() -> None:
    """Restart automatic layer names (conv2d, conv2d_1, ...) from scratch, like keras.backend.clear_session."""
    _name_counts.clear()


# attributes of the framework's own that never hold sublayers (models keep their wiring in some)
_UNTRACKED = frozenset({"_weights", "_activity_losses", "_inbound_nodes", "_loss_layers", "_metrics",
                        "_metric_specs", "_inputs", "_outputs", "_nodes", "_syms", "_init_args"})
_AGGREGATIONS = ("none", "mean", "sum", "only_first_replica")

# The training flag of the layer call in progress: a layer called inside another's call() without
# `training=` inherits it, as in Keras (a Dropout inside a custom block drops during fit).
_call_training: list[bool] = [False]


def _symbolic_call(layer: "Layer", inputs: Any, kwargs: dict[str, Any]) -> Any:
    """The functional API's result when some input is a SymbolicTensor, else None."""
    items = inputs if isinstance(inputs, (list, tuple)) else (inputs,)
    if all(isinstance(x, (TensorBase, np.ndarray, np.generic, int, float, list, tuple)) for x in items):
        return None
    try:  # lazy: only the functional API needs the models package
        from minigrad.models import functional
    except ModuleNotFoundError:
        return None
    if any(isinstance(x, functional.SymbolicTensor) for x in items):
        return functional.symbolic_call(layer, inputs, **kwargs)
    return None


def _is_dtype(value: Any) -> bool:
    if not isinstance(value, (str, np.dtype)) and not (isinstance(value, type) and issubclass(value, np.generic)):
        return False
    try:
        np.dtype(value)
    except TypeError:
        return False
    return True


def _require_init(layer: Any) -> None:
    if "_weights" not in layer.__dict__:
        raise TypeError(f"{type(layer).__name__}: call super().__init__() at the start of __init__, "
                        "before add_weight() or calling the layer")


class Layer:
    """Base of every layer: validates input, builds weights once, then calls; Keras semantics.

    Subclasses implement `build(input_shape)` (input_shape has None as batch size) and
    `call(inputs)` (with `training` and/or `mask` parameters only if they use them); optionally
    `compute_output_shape(input_shape)` (else found by tracing call()) and `get_config()` (else the
    plain arguments __init__ received). Built-in layers describe a tiny example for
    `minigrad.testing.check_layer` with the class attributes `example_config` and
    `example_input_shape` (docs/CONTRACTS.md, "Checking layers").
    """

    input_spec: InputSpec | None = None
    _autocast = True          # cast inputs to the layer dtype (off for layers taking int ids)
    _multi_input = False      # True when call() takes a list of tensors (Add, Concatenate)
    _call_takes_training, _call_takes_mask = True, False
    built, dtype = False, np.dtype(np.float32)  # class defaults: a missing super().__init__() reaches _require_init

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # build() and compute_output_shape() check the input shape first whoever calls them
        # (__call__, Sequential, the functional API), so wrong wiring fails naming the layer
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            cls.build = _checked_build(cls.__dict__["build"])
        if "compute_output_shape" in cls.__dict__:
            cls.compute_output_shape = _checked_shape(cls.__dict__["compute_output_shape"])
        if "call" in cls.__dict__:  # inspected once per class, not per call
            cls._call_takes_training, cls._call_takes_mask = _introspect.call_flags(cls.__dict__["call"])
        owner = next(k for k in cls.__mro__ if "_multi_input" in k.__dict__)
        if owner is Layer and not cls.__module__.startswith("minigrad."):
            cls._multi_input = None  # a user's layer takes one tensor or a list: its first call decides

    def __new__(cls, *args: Any, **kwargs: Any) -> Layer:
        self = super().__new__(cls)
        # what the default get_config() returns for a layer that defines none (Keras' auto-config)
        object.__setattr__(self, "_init_args", _introspect.init_arguments(cls, args, kwargs))
        return self

    def __init__(self, name: str | None = None, trainable: bool = True, dtype: Any = "float32",
                 input_shape: Sequence[int | None] | None = None, activity_regularizer: Any = None,
                 autocast: bool = True, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) "
                            f"{', '.join(sorted(kwargs))}")
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{type(self).__name__}: name must be a non-empty str, received {name!r}")
        self.name = name or _unique_name(snake_case(type(self).__name__))
        self.dtype = np.dtype("float32" if dtype is None else dtype)  # Keras: None is the float32 policy
        if activity_regularizer is not None:  # layers with their own argument (Dense, Conv) set it later
            from minigrad import regularizers

            self.activity_regularizer = regularizers.get(activity_regularizer)
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
    def add_weight(self, shape: Any = None, initializer: Any = None, dtype: Any = None, trainable: Any = True,
                   autocast: Any = True, regularizer: Any = None, constraint: Any = None,
                   aggregation: str = "none", overwrite_with_gradient: bool = False,
                   name: str | None = None) -> Weight:
        """Create, initialise and track a weight (Keras 3's signature; name defaults to 'variable', ...).

        minigrad's older positional form `add_weight(name, shape, initializer, regularizer,
        constraint)` is still accepted: a str in first place is the name.
        """
        _require_init(self)
        if isinstance(shape, str):  # the older form: (name, shape, initializer, regularizer, constraint)
            name, shape = shape, initializer
            # the initializer came in dtype's place unless dtype= was given instead (no initializer is a dtype)
            initializer, dtype = (None, dtype) if _is_dtype(dtype) else (dtype, None)
            # Keras' trainable/autocast are bools: anything else came positionally as regularizer/constraint
            if not isinstance(trainable, bool):
                regularizer, trainable = trainable, True
            if not isinstance(autocast, bool):
                constraint, autocast = autocast, True
        if aggregation not in _AGGREGATIONS:
            raise ValueError(f"{type(self).__name__} '{self.name}': add_weight aggregation must be one of "
                             f"{', '.join(map(repr, _AGGREGATIONS))}, received {aggregation!r}")
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
        if name not in _UNTRACKED and (isinstance(value, (Layer, list, dict)) or (
                isinstance(value, tuple) and any(isinstance(v, (Layer, list, tuple, dict)) for v in value))):
            self.__dict__.setdefault("_maybe_sublayers", {})[name] = None
        object.__setattr__(self, name, value)

    def _sublayers(self) -> list[Layer]:
        """Layers held in attributes, directly or in (nested) lists, tuples and dicts, each once."""
        found: list[Layer] = []
        attrs = self.__dict__
        for name in attrs.get("_maybe_sublayers", ()):
            _introspect.find_layers(attrs.get(name), _is_layer, found)
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

    # ----- losses
    def add_loss(self, loss: Any) -> None:
        """Record a scalar penalty computed in call() (kept until the next call); training adds it to the loss."""
        if not isinstance(loss, TensorBase):
            loss = Tensor(np.asarray(loss, dtype=self.dtype))
        if loss.data.size != 1:
            raise ValueError(f"{type(self).__name__} '{self.name}': add_loss expects a scalar, received a "
                             f"tensor of shape {tuple(loss.shape)}; reduce it first (e.g. ops.mean)")
        self._activity_losses.append(loss)

    @property
    def losses(self) -> list[Tensor]:
        """Weight penalties from the current weights, then activity penalties of the last call.

        Activity penalties are divided by the batch size, as in Keras 3.15 (keras-team/keras#22021).
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
        """Output shape for an input shape (batch axis None), found by running call() on a batch of one."""
        return _introspect.trace_output_shape(self, input_shape, self._plain_call)

    def _plain_call(self, inputs: Any, **kwargs: Any) -> Any:
        """call() with training=False when it takes it; its add_loss() terms are discarded (shape traces)."""
        kept, outer = self._activity_losses, _call_training[0]
        self._activity_losses, _call_training[0] = [], False
        try:
            if self._call_takes_training:
                kwargs = {"training": False, **kwargs}
            else:
                kwargs.pop("training", None)  # a call() without `training` ignores it, as __call__ does
            return self.call(inputs, **kwargs)
        finally:
            self._activity_losses, _call_training[0] = kept, outer

    def __call__(self, inputs: Any, training: bool | None = None, **kwargs: Any) -> Any:
        if self._multi_input is None:
            self._multi_input = isinstance(inputs, (list, tuple))
        if training is not None and not isinstance(training, (bool, np.bool_, int)):
            raise TypeError(f"{type(self).__name__} '{self.name}': the second positional argument is "
                            f"`training`, received {type(training).__name__}; Keras' call(self, a, b) with "
                            "several tensor arguments is not supported: pass them as one list, "
                            "layer([a, b]), and unpack them in call()")
        if isinstance(inputs, TensorBase) and inputs.data.dtype == self.dtype and not self._multi_input:
            pass  # the training-loop case: no conversion, no symbolic check
        else:
            # a fixed training flag on a symbolic call is part of the graph (Keras' MC-dropout idiom)
            symbolic = _symbolic_call(self, inputs, kwargs if training is None else {**kwargs, "training": training})
            if symbolic is not None:
                return symbolic
            inputs = self._as_tensors(inputs)
        shapes = [x.shape for x in inputs] if self._multi_input else inputs.data.shape
        if not self.built:
            self.build_from(shapes)
        self._check_shape(shapes)
        if self._activity_losses:
            self._activity_losses = []
        outer = _call_training[0]
        training = outer if training is None else bool(training)
        if self._call_takes_training:
            kwargs["training"] = training
        if "mask" in kwargs and not self._call_takes_mask:
            if kwargs.pop("mask") is not None:
                raise TypeError(f"{type(self).__name__} '{self.name}': received a mask, but its call() "
                                "takes no `mask` argument (minigrad does not propagate Keras masks)")
        _call_training[0] = training
        try:
            outputs = self.call(inputs, **kwargs)
        finally:
            _call_training[0] = outer
        regularizer = getattr(self, "activity_regularizer", None)
        if regularizer is not None:
            self._add_activity_penalty(regularizer, outputs)
        return outputs

    def _add_activity_penalty(self, regularizer: Any, outputs: Any) -> None:
        """regularizer(output) / batch size for each output, as Keras 3 does (keras-team/keras#22021)."""
        for out in outputs if isinstance(outputs, (list, tuple)) else (outputs,):
            penalty = regularizer(out)
            if out.ndim > 0 and out.shape[0] > 1:
                penalty = penalty / float(out.shape[0])
            self.add_loss(penalty)

    def build_from(self, input_shape: Any) -> None:
        """Build once for an input shape (batch axis replaced by None); a no-op when built."""
        if self.built:
            return
        _require_init(self)
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

    # ----- functional API
    @property
    def input(self) -> Any:
        """The symbolic input of the layer's first call on SymbolicTensors (a list for several)."""
        node = self._first_node("input")
        return list(node.inputs) if node.multi_input else node.inputs[0]

    @property
    def output(self) -> Any:
        """The symbolic output of the layer's first call on SymbolicTensors (a list for several)."""
        node = self._first_node("output")
        return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)

    def _first_node(self, what: str) -> Any:
        nodes = self.__dict__.get("_inbound_nodes")
        if not nodes:
            raise AttributeError(f"{type(self).__name__} '{self.name}' has never been called on a symbolic "
                                 f"input (layers.Input or a model) and thus has no defined {what}")
        return nodes[0]

    # ----- config
    def get_config(self) -> dict[str, Any]:
        """Everything __init__ needs to rebuild this layer (identifiers serialized through registries).

        A layer class that does not define get_config() gets Keras' default: this base config plus
        the plain Python arguments its __init__ received.
        """
        config: dict[str, Any] = {"name": self.name, "trainable": self._trainable, "dtype": self.dtype.name}
        if getattr(self, "activity_regularizer", None) is not None:
            from minigrad import regularizers

            config["activity_regularizer"] = serialize_identifier(regularizers, self.activity_regularizer)
        if self._batch_input_shape is not None:
            config["input_shape"] = list(self._batch_input_shape[1:])
        if getattr(type(self).get_config, "_default_config", False):
            config = _introspect.auto_config(self, config)
        return config

    get_config._default_config = True  # type: ignore[attr-defined]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """Rebuild a layer from get_config()."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self.name}' built={self.built}>"


registry, register, get, serialize, deserialize = Kind("layers", Layer, instantiate=False).api()
