"""Layer: check -> build once -> call, with Keras semantics; the layer registry."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from minigrad import regularizers, validation
from minigrad._ext._tensor import TensorBase
from minigrad.errors import ShapeError
from minigrad.layers import _introspect, symbolic
from minigrad.layers.kernel_bias import Identifier
from minigrad.layers.tracking import Tracking, require_init
from minigrad.layers.weight import InputSpec, Shape, Weight
from minigrad.ops import apply
from minigrad.registry import Kind, snake_case
from minigrad.tensor import Tensor

__all__ = ["Layer", "Weight", "InputSpec", "Shape", "clear_names", "registry", "register"]

_name_counts: dict[str, int] = {}


def _is_layer(obj: Any) -> bool:
    return isinstance(obj, Layer)


def _unique_name(base: str) -> str:
    count = _name_counts.get(base, 0)
    _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def clear_names() -> None:
    """Restart automatic layer names (conv2d, conv2d_1, ...) from scratch, like keras.backend.clear_session."""
    _name_counts.clear()


# The training flag of the layer call in progress: a layer called inside another's call() without
# `training=` inherits it, as in Keras (a Dropout inside a custom block drops during fit).
_call_training: list[bool] = [False]


class Layer(Tracking):
    """Base of every layer: validates input, builds weights once, then calls; Keras semantics.

    Subclasses implement `build(input_shape)` (input_shape has None as batch size) and
    `call(inputs)` (with `training` and/or `mask` parameters only if they use them); optionally
    `compute_output_shape(input_shape)` (else found by tracing call(); checked against input_spec
    first) and `get_config()` (else the plain arguments __init__ received). build_from() is the one
    place a layer gets built. Built-in layers describe a tiny example for
    `minigrad.testing.check_layer` with the class attributes `example_config` and
    `example_input_shape` (docs/CONTRACTS.md, "Checking layers").
    """

    input_spec: InputSpec | None = None
    _autocast = True          # cast inputs to the layer dtype (off for layers taking int ids)
    _multi_input = False      # True when call() takes a list of tensors (Add, Concatenate)
    _call_takes_training, _call_takes_mask = True, False
    _call_adds_losses = True  # False: the only losses are regularizers' (fit then skips the layer)
    built, dtype = False, np.dtype(np.float32)  # class defaults: a missing super().__init__() reaches require_init

    activity_regularizer = Identifier(regularizers)  # applied to the outputs of every call

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "compute_output_shape" in cls.__dict__:  # a direct call with a wrong shape fails naming the layer
            cls.compute_output_shape = _introspect.checked_shape(cls.__dict__["compute_output_shape"])
        if "call" in cls.__dict__:  # inspected once per class, not per call
            cls._call_takes_training, cls._call_takes_mask = _introspect.call_flags(cls.__dict__["call"])
            # a call() of its own may add_loss(), unless the class says it does not
            cls._call_adds_losses = cls.__dict__.get("_call_adds_losses", True)
        owner = next(k for k in cls.__mro__ if "_multi_input" in k.__dict__)
        builtin = next(k for k in cls.__mro__ if k.__module__.startswith("minigrad."))
        if owner is Layer and builtin is Layer:
            # a user's own layer takes one tensor or a list: its first call decides (a subclass of a
            # built-in layer such as Conv2D keeps that layer's single input)
            cls._multi_input = None

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
            self.activity_regularizer = activity_regularizer
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
            dims = validation.shape(input_shape, f"{type(self).__name__} '{self.name}'",
                                    "input_shape (without the batch axis)", low=1, none=True)
            self._batch_input_shape = (None, *dims)


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

    compute_output_shape._traces_call = True  # type: ignore[attr-defined]  # symbolic_call may trace instead

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
            if symbolic.is_symbolic(inputs):
                # a fixed training flag on a symbolic call is part of the graph (Keras' MC-dropout idiom)
                return symbolic.symbolic_call(self, inputs, **(kwargs if training is None else
                                                               {**kwargs, "training": training}))
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
        if self.activity_regularizer is not None:
            self._add_activity_penalty(self.activity_regularizer, outputs)
        return outputs

    def _add_activity_penalty(self, regularizer: Any, outputs: Any) -> None:
        """regularizer(output) / batch size for each output, as Keras 3 does (keras-team/keras#22021)."""
        for out in outputs if isinstance(outputs, (list, tuple)) else (outputs,):
            penalty = regularizer(out)
            if out.ndim > 0 and out.shape[0] > 1:
                penalty = penalty / float(out.shape[0])
            self.add_loss(penalty)

    def build_from(self, input_shape: Any) -> None:
        """The one way a layer gets built: check the input shape, run build() once, mark built.

        The batch axis becomes None, so build(self, input_shape) as the Keras guides write it sees
        (None, ...). __call__, Sequential and the functional API all build through here; a no-op when
        built (also for layers that created their weights in __init__ and set built themselves).
        """
        if self.built:
            return
        require_init(self)
        if self._multi_input:
            shape: Any = [(None, *tuple(s)[1:]) for s in input_shape]
        else:
            shape = (None, *tuple(input_shape)[1:])
            self._check_shape(shape)  # wrong wiring fails naming this layer, not inside build()
        self.build(shape)
        self._build_input_shape = shape
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
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = Layer.activity_regularizer.serialize(self)
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
