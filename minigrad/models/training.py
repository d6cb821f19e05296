"""compile / fit / evaluate / predict / train_on_batch / test_on_batch, shared by both model kinds.

One training step: forward with training=True, loss + sum(model.losses), backward, one fused
optimizer pass over the trainable weights, metric updates on the batch's predictions.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from minigrad._ext._tensor import make_tensor
from minigrad.models import data
from minigrad.random import generator
from minigrad.tensor import no_grad

__all__ = ["TrainingMixin"]

class TrainingMixin:
    """Keras' training API over a model exposing layers, call(), input checks and trainable_weights."""

    optimizer: Any = None
    loss: Any = None
    stop_training: bool = False
    history: Any = None
    _initial_epoch: int | None = None
    _compiled: bool = False

    # ----- compile
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None) -> None:
        """Choose the optimizer, loss and metrics (names, classes, instances or config dicts)."""
        from minigrad import losses, metrics as metrics_mod, optimizers

        if loss is None:
            raise ValueError(f"{self.name}.compile: a loss is required (e.g. "
                             "loss='categorical_crossentropy')")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, dict)) or not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        # 'accuracy' becomes binary/categorical/sparse once the label and output shapes are known
        self._metric_specs = list(metrics)
        self._metrics: list[tuple[str, Any]] | None = None
        self._metrics_module = metrics_mod
        self._compiled = True

    @property
    def metrics_names(self) -> list[str]:
        """'loss' then each compiled metric's name (known after the first fit/evaluate)."""
        return ["loss"] + [name for name, _ in (self._metrics or [])]

    def _require_compiled(self, who: str) -> None:
        if not self._compiled:
            raise RuntimeError(f"{self.name}.{who}: the model must be compiled first; call "
                               "model.compile(optimizer, loss, metrics)")

    def _resolve_metrics(self, y: np.ndarray) -> None:
        """Metric objects from the compile specs; 'accuracy' picks its kind from loss and shapes."""
        if self._metrics is not None:
            return
        resolved = []
        for spec in self._metric_specs:
            metric = self._metrics_module.get(spec, loss=self.loss, y_shape=y.shape,
                                              y_pred_shape=self.output_shape)
            resolved.append((getattr(metric, "name", type(metric).__name__), metric))
        self._metrics = resolved

    def _reset_metrics(self) -> None:
        for _, metric in self._metrics or []:
            metric.reset_state()

    def _logs(self, loss_value: float) -> dict[str, float]:
        logs = {"loss": loss_value}
        for name, metric in self._metrics or []:
            logs[name] = float(metric.result())
        return logs

    # ----- one step
    def _find_loss_layers(self) -> list[Any]:
        """Layers that may add regularization terms, found once per call of the public API.

        Layer.losses costs ~15 us per layer, so the step asks only these. Built-in layers add
        terms only through weight or activity regularizers; other layers may call add_loss().
        """
        return [layer for layer in self.layers
                if not type(layer).__module__.startswith("minigrad.layers.") or layer.losses
                or getattr(layer, "activity_regularizer", None) is not None]

    def _total_loss(self, y: np.ndarray, pred: Any) -> Any:
        loss = self.loss(y, pred)
        for layer in self._loss_layers:
            for penalty in layer.losses:
                loss = loss + penalty
        return loss

    def _train_step(self, xb: list[np.ndarray], yb: np.ndarray, weights: list[Any]) -> float:
        inputs = [make_tensor(a, False) for a in xb]
        pred = self.call(inputs if len(inputs) > 1 else inputs[0], training=True)
        loss = self._total_loss(yb, pred)
        if weights and loss.requires_grad:  # a fully frozen model trains nothing, as in Keras
            self.optimizer.zero_grad(weights)
            loss.backward()
            self.optimizer.apply_gradients(weights)
        for _, metric in self._metrics:
            metric.update_state(yb, pred.data)
        return float(loss.data)

    def _test_step(self, xb: list[np.ndarray], yb: np.ndarray) -> float:
        inputs = [make_tensor(a, False) for a in xb]
        with no_grad():
            pred = self.call(inputs if len(inputs) > 1 else inputs[0], training=False)
            loss = self._total_loss(yb, pred)
        for _, metric in self._metrics:
            metric.update_state(yb, pred.data)
        return float(loss.data)

    def _prepare(self, x: Any, y: Any, who: str, *, labels: bool = True) -> tuple[list[np.ndarray], Any]:
        xs = data.as_arrays(x, self._n_inputs(), who)
        self._ensure_built([(None,) + a.shape[1:] for a in xs])
        self._check_input_shapes(xs, who)
        self._loss_layers = self._find_loss_layers()
        if not labels:
            return xs, None
        if self._n_outputs() != 1:
            raise ValueError(f"{who}: training and evaluation support single-output models; "
                             f"'{self.name}' has {self._n_outputs()} outputs (predict works)")
        y = data.check_labels(y, len(xs[0]), who)
        self._resolve_metrics(y)
        return xs, y

    # ----- public loops
    def fit(self, x: Any = None, y: Any = None, batch_size: int = 32, epochs: int = 1,
            verbose: Any = "auto", callbacks: Any = None, validation_split: float = 0.0,
            validation_data: Any = None, shuffle: bool = True, initial_epoch: int = 0) -> Any:
        """Train for epochs - initial_epoch epochs; returns the History of per-epoch logs."""
        self._require_compiled("fit")
        batch_size = data.check_batch_size(batch_size, "fit")
        verbose = data.resolve_verbose(verbose, "fit")
        for arg, value in (("epochs", epochs), ("initial_epoch", initial_epoch)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"fit: {arg} must be a non-negative int, received {value!r}")
        if epochs < initial_epoch:
            raise ValueError(f"fit: epochs ({epochs}) is the index of the last epoch and must be "
                             f">= initial_epoch ({initial_epoch})")
        xs, y = self._prepare(x, y, "fit")
        val = None
        if validation_data is not None:  # takes precedence over validation_split, as in Keras
            val = self._validation_data(validation_data)
        elif validation_split:
            xs, y, *val = data.split_validation(xs, y, validation_split, "fit")
        n = len(y)
        steps = math.ceil(n / batch_size)
        from minigrad.callbacks import CallbackList

        cbs = CallbackList(callbacks, model=self, add_history=True, add_progbar=verbose != 0,
                           verbose=verbose, epochs=epochs, steps=steps)
        self.history = cbs.history
        self.stop_training = False
        self._initial_epoch = None
        weights = self.trainable_weights
        dtypes = self._input_dtypes()
        cbs.on_train_begin()  # BackupAndRestore may set model._initial_epoch here
        start = initial_epoch if self._initial_epoch is None else self._initial_epoch
        epoch_logs: dict[str, float] = {}
        for epoch in range(start, epochs):
            self._reset_metrics()
            cbs.on_epoch_begin(epoch)
            order = generator().permutation(n) if shuffle else None
            epoch_logs = self._train_epoch(data.batches(xs, y, batch_size, dtypes, order), weights, cbs)
            if val is not None:
                val_logs = self._test_loop(val[0], val[1], batch_size, cbs)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        self.optimizer.finalize_variable_values()  # use_ema: keep the averaged weights, as Keras
        cbs.on_train_end(epoch_logs)
        return self.history

    def _train_epoch(self, batches: Any, weights: list[Any], cbs: Any) -> dict[str, float]:
        """One pass over the batches; logs hold the running mean loss and the metrics so far."""
        total, seen, logs = 0.0, 0, {}
        for step, (xb, yb) in enumerate(batches):
            cbs.on_train_batch_begin(step)
            total += self._train_step(xb, yb, weights) * len(yb)
            seen += len(yb)
            logs = self._logs(total / seen)
            cbs.on_train_batch_end(step, logs)
            if self.stop_training:
                break
        return dict(logs)

    def _validation_data(self, validation_data: Any) -> list:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            what = (f"a sequence of length {len(validation_data)}"
                    if isinstance(validation_data, (tuple, list)) else type(validation_data).__name__)
            raise ValueError(f"fit: validation_data must be a tuple (x_val, y_val), received {what}")
        xv = data.as_arrays(validation_data[0], self._n_inputs(), "fit", "validation_data x")
        self._check_input_shapes(xv, "fit (validation_data)")
        yv = data.check_labels(validation_data[1], len(xv[0]), "fit", "validation_data y")
        return [xv, yv]

    def _test_loop(self, xs: list[np.ndarray], y: np.ndarray, batch_size: int, cbs: Any) -> dict[str, float]:
        self._reset_metrics()
        cbs.on_test_begin()
        total, seen, logs = 0.0, 0, {}
        for step, (xb, yb) in enumerate(data.batches(xs, y, batch_size, self._input_dtypes())):
            cbs.on_test_batch_begin(step)
            total += self._test_step(xb, yb) * len(yb)
            seen += len(yb)
            logs = self._logs(total / seen)
            cbs.on_test_batch_end(step, logs)
        cbs.on_test_end(logs)
        return logs

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int = 32, verbose: Any = "auto",
                 callbacks: Any = None, return_dict: bool = False) -> Any:
        """Loss (and metrics) over the data: a float, [loss, *metrics], or a dict if return_dict."""
        self._require_compiled("evaluate")
        batch_size = data.check_batch_size(batch_size, "evaluate")
        verbose = data.resolve_verbose(verbose, "evaluate")
        xs, y = self._prepare(x, y, "evaluate")
        from minigrad.callbacks import CallbackList

        cbs = CallbackList(callbacks, model=self, add_progbar=verbose != 0, verbose=verbose,
                           epochs=1, steps=math.ceil(len(y) / batch_size))
        logs = self._test_loop(xs, y, batch_size, cbs)
        return self._format(logs, return_dict)

    def _format(self, logs: dict[str, float], return_dict: bool) -> Any:
        if return_dict:
            return dict(logs)
        return logs["loss"] if len(logs) == 1 else list(logs.values())

    def predict(self, x: Any, batch_size: int = 32, verbose: Any = "auto", callbacks: Any = None) -> Any:
        """Outputs for every sample, computed in batches without recording a graph."""
        batch_size = data.check_batch_size(batch_size, "predict")
        verbose = data.resolve_verbose(verbose, "predict")
        xs, _ = self._prepare(x, None, "predict", labels=False)
        from minigrad.callbacks import CallbackList

        n = len(xs[0])
        cbs = CallbackList(callbacks, model=self, add_progbar=verbose != 0, verbose=verbose,
                           epochs=1, steps=math.ceil(n / batch_size))
        cbs.on_predict_begin()
        results: list[np.ndarray] | None = None
        for step, (xb, _) in enumerate(data.batches(xs, None, batch_size, self._input_dtypes())):
            cbs.on_predict_batch_begin(step)
            outs = self._predict_batch(xb)
            if results is None:  # preallocate: no concatenate copy at the end
                results = [np.empty((n,) + o.shape[1:], dtype=o.dtype) for o in outs]
            for res, o in zip(results, outs):
                res[step * batch_size: step * batch_size + len(o)] = o
            cbs.on_predict_batch_end(step, {"outputs": outs if len(outs) > 1 else outs[0]})
        cbs.on_predict_end()
        return results if self._n_outputs() > 1 else results[0]

    def _predict_batch(self, xb: list[np.ndarray]) -> list[np.ndarray]:
        inputs = [make_tensor(a, False) for a in xb]
        with no_grad():
            out = self.call(inputs if len(inputs) > 1 else inputs[0], training=False)
        return [o.data for o in out] if isinstance(out, list) else [out.data]

    def predict_on_batch(self, x: Any) -> Any:
        """Outputs for one batch (no graph)."""
        xs, _ = self._prepare(x, None, "predict_on_batch", labels=False)
        outs = self._predict_batch([np.ascontiguousarray(a, dtype=d) for a, d in zip(xs, self._input_dtypes())])
        return outs if len(outs) > 1 else outs[0]

    def train_on_batch(self, x: Any, y: Any, reset_metrics: bool = True, return_dict: bool = False) -> Any:
        """One optimizer step on (x, y); returns the loss (and metrics) of that batch."""
        self._require_compiled("train_on_batch")
        xs, y = self._prepare(x, y, "train_on_batch")
        if reset_metrics:
            self._reset_metrics()
        xb, yb = next(data.batches(xs, y, len(y), self._input_dtypes()))
        loss = self._train_step(xb, yb, self.trainable_weights)
        return self._format(self._logs(loss), return_dict)

    def test_on_batch(self, x: Any, y: Any, reset_metrics: bool = True, return_dict: bool = False) -> Any:
        """Loss (and metrics) of the model on one batch, without updating it."""
        self._require_compiled("test_on_batch")
        xs, y = self._prepare(x, y, "test_on_batch")
        if reset_metrics:
            self._reset_metrics()
        xb, yb = next(data.batches(xs, y, len(y), self._input_dtypes()))
        return self._format(self._logs(self._test_step(xb, yb)), return_dict)
