"""compile() and the per-batch steps of Keras 3's Trainer, public so a Model subclass can override them.

`train_step(data)` / `test_step(data)` / `predict_step(data)` take one batch `(x,)`, `(x, y)` or
`(x, y, sample_weight)` and return the logs (or the predictions). A custom step uses the same
helpers as the default one: `self(x, training=True)`, `self.compute_loss(...)`, `loss.backward()`,
`self.optimizer.apply(grads, self.trainable_weights)`, `self.compute_metrics(...)`, `self.metrics`.
Gradients are PyTorch-backend style, as in Keras' torch trainer: `self.zero_grad()`, then
`loss.backward()` fills each weight's `.grad`.
"""
from __future__ import annotations

import functools
import inspect
import warnings
from typing import Any, Protocol, runtime_checkable

import numpy as np

from minigrad import losses, optimizers
from minigrad import metrics as metrics_mod
from minigrad import validation
from minigrad._ext._tensor import make_tensor
from minigrad.tensor import TensorBase
from minigrad.utils import unpack_x_y_sample_weight

__all__ = ["TrainingHost", "StepsMixin", "CompileMetrics", "LossTracker"]


class LossTracker(metrics_mod.Mean):
    """The 'loss' metric fit keeps (Keras' loss tracker): the batch-size-weighted mean of batch losses."""

    def update_state(self, values: Any, sample_weight: Any = None, *_: Any) -> None:
        if isinstance(values, TensorBase) and values.data.ndim == 0 and isinstance(sample_weight, int):
            self.total += float(values.data) * sample_weight  # the default step's case, without array checks
            self.count += sample_weight
            return
        super().update_state(values, sample_weight)


def _as_list(specs: Any) -> list[Any]:
    """compile's metrics argument as a list (Keras wants a list; one metric alone is accepted too)."""
    if specs is None:
        return []
    if isinstance(specs, (list, tuple)):
        return list(specs)
    return [specs]


class CompileMetrics(metrics_mod.Metric):
    """The metrics and weighted_metrics given to compile, built from the first batch's shapes (Keras' rules).

    result() is a dict {name: value}; a weighted metric whose name clashes gets a 'weighted_' prefix.
    """

    def __init__(self, metrics: Any, weighted_metrics: Any, loss: Any) -> None:
        self._specs = _as_list(metrics)
        self._weighted_specs = _as_list(weighted_metrics)
        self._loss = loss
        self._plain: list[Any] = []
        self._weighted: list[Any] = []
        self._names: list[str] = []
        self.built = False
        super().__init__(name="compile_metrics")

    @property
    def metrics(self) -> list[Any]:
        """The built metric objects, unweighted first (empty until the first batch)."""
        return self._plain + self._weighted

    @property
    def names(self) -> list[str]:
        """The log keys, in order (empty until built)."""
        return list(self._names)

    def build(self, y_true: Any, y_pred: Any) -> None:
        """Resolve every spec ('accuracy' picks binary/sparse/categorical from the loss and the shapes)."""
        shape_t, shape_p = np.shape(y_true), np.shape(y_pred)

        def make(spec: Any) -> Any:
            return metrics_mod.get(spec, loss=self._loss, y_shape=shape_t, y_pred_shape=shape_p)

        self._plain = [make(s) for s in self._specs]
        self._weighted = [make(s) for s in self._weighted_specs]
        names: list[str] = []
        for i, m in enumerate(self.metrics):
            name = getattr(m, "name", type(m).__name__)
            if i >= len(self._plain) and name in names:
                name = f"weighted_{name}"
            while name in names:
                name = f"{name}_{names.count(name)}"
            names.append(name)
        self._names = names
        self.built = True

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        if not self.built:
            self.build(y_true, y_pred)
        for m in self._plain:
            m.update_state(y_true, y_pred)
        for m in self._weighted:
            m.update_state(y_true, y_pred, sample_weight)

    def reset_state(self) -> None:
        for m in self.metrics if getattr(self, "built", False) else []:
            m.reset_state()

    def result(self) -> dict[str, float]:  # type: ignore[override]
        return {name: float(m.result()) for name, m in zip(self._names, self.metrics)}

    def __repr__(self) -> str:
        return f"<CompileMetrics {self._names or (self._specs + self._weighted_specs)}>"


@functools.lru_cache(maxsize=None)
def _takes_training(cls: type) -> bool:
    """Whether cls.call accepts `training` (checked once per class, as Keras does)."""
    try:
        params = inspect.signature(cls.call).parameters
    except (TypeError, ValueError):
        return True
    return "training" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _batch_size(x: Any) -> int:
    first = x[0] if isinstance(x, (list, tuple)) else x
    return len(first) if isinstance(first, np.ndarray) else int(np.shape(first)[0])


@runtime_checkable
class TrainingHost(Protocol):
    """What StepsMixin and TrainingMixin use of the model they are mixed into (ModelBase provides it)."""

    name: str

    @property
    def layers(self) -> list[Any]: ...

    @property
    def trainable_weights(self) -> list[Any]: ...

    def call(self, inputs: Any, training: bool = False) -> Any: ...

    def _n_inputs(self) -> int: ...

    def _input_dtypes(self) -> list[np.dtype]: ...

    def _ensure_built(self, shapes: list[tuple[int | None, ...]]) -> None: ...

    def _check_input_shapes(self, arrays: list[np.ndarray], who: str) -> None: ...


class StepsMixin:
    """compile() and the overridable per-batch steps of a TrainingHost; the loops in training.py drive them.

    The model's __init__ creates every attribute below (ModelBase.__init__); compile() sets them.
    """

    optimizer: Any
    loss: Any
    _compiled: bool
    _compile_metrics: CompileMetrics | None
    _loss_tracker: LossTracker | None
    _loss_weight: float
    _loss_layers: list[Any] | None      # the layers compute_loss asks, fixed for the length of a loop
    _train_weights: list[Any] | None
    _metrics_cache: list[Any] | None    # self.metrics, fixed for the length of a loop

    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None,
                metrics: Any = None, weighted_metrics: Any = None, run_eagerly: bool = False,
                steps_per_execution: int = 1, jit_compile: Any = "auto", auto_scale_loss: bool = True) -> None:
        """Keras 3's compile: optimizer, loss (optional when layers add_loss), metrics and weighted_metrics."""
        self._check_compile_flags(run_eagerly, steps_per_execution, jit_compile)
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        self._loss_weight = self._check_loss_weights(loss_weights)
        self._metric_specs = _as_list(metrics)
        self._weighted_metric_specs = _as_list(weighted_metrics)
        self._compile_metrics = (CompileMetrics(self._metric_specs, self._weighted_metric_specs, self.loss)
                                 if self._metric_specs or self._weighted_metric_specs else None)
        self._loss_tracker = LossTracker(name="loss")
        # minigrad always runs eagerly: these record what was asked, as Keras' attributes do
        self.run_eagerly, self.steps_per_execution, self.jit_compile = run_eagerly, int(steps_per_execution), False
        self.auto_scale_loss = bool(auto_scale_loss)
        self._compiled = True

    def _check_compile_flags(self, run_eagerly: Any, steps_per_execution: Any, jit_compile: Any) -> None:
        who = f"{self.name}.compile"
        validation.boolean(run_eagerly, who, "run_eagerly")
        validation.choice(jit_compile, ("auto", True, False), who, "jit_compile")
        if jit_compile is True:  # Keras warns the same way for a model it cannot compile
            warnings.warn(f"{who}: jit_compile=True asks for XLA/torch.compile, which minigrad does not have; "
                          "proceeding with jit_compile=False (minigrad always runs eagerly)", UserWarning,
                          stacklevel=3)
        validation.integer(steps_per_execution, who, "steps_per_execution", low=1)
        if steps_per_execution > 1:
            warnings.warn(f"{who}: steps_per_execution={steps_per_execution} has no effect on minigrad (each "
                          "batch is one step and callbacks see every batch)", UserWarning, stacklevel=3)

    def _check_loss_weights(self, loss_weights: Any) -> float:
        """Keras' loss_weights for a single output: a float, [float] or {output_name: float}."""
        value = loss_weights
        if isinstance(value, (list, tuple)) and len(value) == 1:
            value = value[0]
        elif isinstance(value, dict) and len(value) == 1:
            value = next(iter(value.values()))
        if value is None:
            return 1.0
        if not validation.is_real(value):
            raise ValueError(f"{self.name}.compile: loss_weights must be a float (or a one-element list or "
                             f"dict: minigrad trains single-output models), received {loss_weights!r}")
        return float(value)

    def _require_compiled(self, who: str) -> None:
        if not self._compiled:
            raise RuntimeError(f"{self.name}.{who}: the model must be compiled first; call "
                               "model.compile(optimizer, loss, metrics)")

    # ----- metrics
    @property
    def metrics(self) -> list[Any]:
        """Keras' order: the loss tracker, the compiled metrics, then Metric attributes of the model."""
        out = [m for m in (self._loss_tracker, self._compile_metrics) if m is not None]
        seen = {id(m) for m in out}
        for value in vars(self).values():
            if isinstance(value, metrics_mod.Metric) and id(value) not in seen:
                out.append(value)
                seen.add(id(value))
        return out

    @property
    def metrics_names(self) -> list[str]:
        """The log keys: 'loss', then each compiled metric (known after the first batch), then the rest."""
        names = []
        for m in self.metrics:
            names.extend(m.names if isinstance(m, CompileMetrics) else [m.name])
        return names

    def reset_metrics(self) -> None:
        """reset_state() on every metric in self.metrics."""
        for m in self.metrics:
            m.reset_state()

    def get_metrics_result(self) -> dict[str, float]:
        """{name: value} of self.metrics, a CompileMetrics' dict spread into it (Keras)."""
        logs: dict[str, float] = {}
        for m in self._metrics_cache if self._metrics_cache is not None else self.metrics:
            result = m.result()
            if isinstance(result, dict):
                logs.update(result)
            else:
                logs[m.name] = float(result)
        return logs

    # ----- what a step uses
    @property
    def trainable_variables(self) -> list[Any]:
        """Keras 3's name for trainable_weights."""
        return self.trainable_weights

    def zero_grad(self) -> None:
        """Clear the trainable weights' gradients before backward (torch.nn.Module.zero_grad)."""
        weights = self.trainable_weights
        if self.optimizer is not None:
            self.optimizer.zero_grad(weights)
        else:
            for w in weights:
                w.grad = None

    def _forward(self, x: Any, training: bool) -> Any:
        """call() on a checked, converted batch, without __call__'s input checks (the source did them)."""
        if isinstance(x, (list, tuple)):
            inputs = [make_tensor(a, False) if isinstance(a, np.ndarray) else a for a in x]
            arg = inputs if len(inputs) > 1 else inputs[0]
        else:
            arg = make_tensor(x, False) if isinstance(x, np.ndarray) else x
        if _takes_training(type(self)):
            return self.call(arg, training=training)
        return self.call(arg)

    def _find_loss_layers(self) -> list[Any]:
        """Layers that may add loss terms, found once per fit/evaluate (Layer.losses costs ~15 us each).

        A layer whose class declares `_call_adds_losses = False` (the built-ins) adds terms only
        through weight or activity regularizers; any other call() may call add_loss().
        """
        return [layer for layer in self.layers
                if layer._call_adds_losses or layer.losses or layer.activity_regularizer is not None]

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        """The compiled loss (weighted by sample_weight and loss_weights) plus every layer's added losses."""
        total = None
        if self.loss is not None:
            if isinstance(y_pred, (list, tuple)):
                raise ValueError(f"{self.name}: the compiled loss supports single-output models; this model "
                                 f"has {len(y_pred)} outputs (override compute_loss or train_step for more)")
            if y is None:
                raise ValueError(f"{self.name}: the compiled loss needs targets y, but the data has none "
                                 "(give y, or batches of (x, y))")
            total = self.loss(y, y_pred, sample_weight)
            if self._loss_weight != 1.0:
                total = total * self._loss_weight
        layers = self._loss_layers if self._loss_layers is not None else self._find_loss_layers()
        for layer in layers:
            for penalty in layer.losses:
                total = penalty if total is None else total + penalty
        if total is None:
            raise ValueError(f"{self.name}: no loss to compute; provide a `loss` argument in compile() "
                             "(or have layers add one with add_loss)")
        return total

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> dict[str, float]:
        """Update the compiled metrics with the batch and return every metric's result (Keras)."""
        if self._compile_metrics is not None and y is not None:
            pred = y_pred.data if isinstance(y_pred, TensorBase) else y_pred
            self._compile_metrics.update_state(y, pred, sample_weight)
        return self.get_metrics_result()

    # ----- the steps
    def train_step(self, data: Any) -> dict[str, float]:
        """One optimizer step on a batch: forward, compute_loss, backward, apply, metrics -> logs."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self._forward(x, training=True)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=True)
        weights = self._train_weights if self._train_weights is not None else self.trainable_weights
        if weights and loss.requires_grad:  # a fully frozen model trains nothing, as in Keras
            self.optimizer.zero_grad(weights)
            loss.backward()
            self.optimizer.apply_gradients(weights)
        self._loss_tracker.update_state(loss, _batch_size(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data: Any) -> dict[str, float]:
        """Loss and metrics of a batch in inference mode (the loop runs it without a graph)."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self._forward(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        self._loss_tracker.update_state(loss, _batch_size(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """The model's output(s) for a batch in inference mode."""
        x, _, _ = unpack_x_y_sample_weight(data)
        return self._forward(x, training=False)
