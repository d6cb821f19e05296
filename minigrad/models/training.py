"""fit / evaluate / predict / train_on_batch / test_on_batch / predict_on_batch, shared by every model kind.

The loops follow Keras 3's trainer: a data source (arrays, generator, PyDataset) yields batches, an
EpochIterator bounds each pass, and every batch goes through the public train_step / test_step /
predict_step (steps.py), so a Model subclass that overrides them changes what fit does.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from minigrad import validation
from minigrad.callbacks import CallbackList
from minigrad.distributed import _state as _distributed  # hook: each rank its own callbacks
from minigrad.distributed import callbacks as _distributed_callbacks
from minigrad.models import data
from minigrad.models.adapters import ArraySource, EpochIterator, StreamSource, kind_of, source_name
from minigrad.models.steps import StepsMixin
from minigrad.tensor import TensorBase, no_grad

__all__ = ["TrainingMixin"]


def _pythonify(logs: Any, who: str) -> dict[str, Any]:
    """A step's logs as Keras passes them to callbacks: nested dicts spread out, scalars as floats."""
    if not isinstance(logs, dict):
        raise TypeError(f"{who} must return a dict of logs such as {{'loss': 0.5}}, received "
                        f"{type(logs).__name__}")
    out: dict[str, Any] = {}
    for key, value in logs.items():
        if type(value) is float:  # the default steps' case: nothing to convert
            out[key] = value
        elif isinstance(value, dict):
            out.update(_pythonify(value, who))
        else:
            try:
                out[key] = float(value)
            except (TypeError, ValueError):
                out[key] = value
    return out


def _check_freq(freq: Any) -> Any:
    """Keras' validation_freq: every N epochs (int) or at the listed 1-based epochs."""
    if isinstance(freq, (list, tuple, set)) and all(validation.is_int(e) for e in freq):
        return {int(e) for e in freq}
    if not validation.is_int(freq) or freq < 1:
        raise ValueError(f"fit: validation_freq must be an int >= 1 or a list of epochs, received {freq!r}")
    return int(freq)


def _callback_list(callbacks: Any, **kwargs: Any) -> CallbackList:
    """The loop's CallbackList; in a data-parallel job, this rank's arrangement of it."""
    world = _distributed.world
    arrange = None if world is None else (lambda items: _distributed_callbacks.arrange(items, world))
    return CallbackList(callbacks, arrange=arrange, **kwargs)


def _outputs(out: Any) -> list[np.ndarray]:
    items = out if isinstance(out, (list, tuple)) else [out]
    return [o.data if isinstance(o, TensorBase) else np.asarray(o) for o in items]


class TrainingMixin(StepsMixin):
    """Keras' training API (fit, evaluate, predict, *_on_batch) over a TrainingHost."""

    stop_training: bool
    history: Any
    _initial_epoch: int | None  # BackupAndRestore sets it in on_train_begin to resume an interrupted fit

    # ----- data
    def _prepare(self, x: Any, y: Any, who: str, **kwargs: Any) -> Any:
        """Hook before the input checks: x as the loops take it (one array or a list per input).

        Model kinds override it: a functional model maps a dict of named inputs to its input order, a
        subclassed model builds itself from its first data.
        """
        return x

    def _arrays(self, x: Any, y: Any, sample_weight: Any, class_weight: Any, who: str, what: str = "x",
                labels: bool = True) -> tuple[list[np.ndarray], Any, Any]:
        """Checked arrays (x per input, y, sample weights); builds the model from x's shape."""
        xs = data.as_arrays(self._prepare(x, y, who), self._n_inputs(), who, what)
        self._ensure_built([(None,) + a.shape[1:] for a in xs])
        self._check_input_shapes(xs, who)
        if not labels:
            return xs, None, None
        prefix = "" if what == "x" else what.removesuffix(" x") + " "
        if y is not None or self.loss is not None:  # a model trained by add_loss alone needs no y
            y = data.check_labels(y, len(xs[0]), who, f"{prefix}y")
        sw = None
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError(f"{who}: you cannot use class_weight and sample_weight at the same time")
            if y is None:
                raise ValueError(f"{who}: class_weight needs targets y")
            sw = data.class_weight_to_sample_weight(y, class_weight, who)
        elif sample_weight is not None:
            sw = data.check_sample_weight(sample_weight, len(xs[0]), who, f"{prefix}sample_weight")
        return xs, y, sw

    def _source(self, x: Any, y: Any, sample_weight: Any, *, who: str, batch_size: Any, shuffle: bool,
                class_weight: Any = None, steps: int | None = None, labels: bool = True, what: str = "x") -> Any:
        """An ArraySource for arrays, else a StreamSource (refusing arguments the stream must carry)."""
        if kind_of(x) == "arrays":
            xs, y, sw = self._arrays(x, y, sample_weight, class_weight, who, what, labels)
            default = math.ceil(len(xs[0]) / steps) if steps else 32  # Keras: steps alone set the batch size
            return ArraySource(xs, y, sw, data.check_batch_size(batch_size, who, default), shuffle,
                               self._input_dtypes())
        name = source_name(x)
        for arg, value, what_it_is in (("y", y, "the targets"), ("sample_weight", sample_weight, "the sample weights")):
            if value is not None:
                raise ValueError(f"{who}: when providing x as a {name}, `{arg}` should not be passed; instead, "
                                 f"{what_it_is} should be included as part of the {name} (Keras' rule)")
        if batch_size is not None:
            warnings.warn(f"{who}: batch_size={batch_size!r} is ignored because x is a {name}, which yields "
                          "its own batches (Keras ignores it too)", UserWarning, stacklevel=3)
        return StreamSource(self, x, shuffle=shuffle, class_weight=class_weight, who=who, what=what)

    def _fit_sources(self, x: Any, y: Any, sample_weight: Any, class_weight: Any, batch_size: Any,
                     shuffle: bool, steps: int | None, validation_split: Any, validation_data: Any,
                     validation_batch_size: Any) -> tuple[Any, Any]:
        """(train source, validation source or None); validation_data wins over validation_split, as Keras.

        validation_split holds out the last samples before shuffling and before class weights apply.
        """
        val = None
        if validation_data is not None:
            val = self._validation_source(validation_data, validation_batch_size or batch_size)
        elif validation_split:
            if kind_of(x) != "arrays":
                raise ValueError(f"fit: validation_split is only supported for NumPy arrays or Tensors (as in "
                                 f"Keras), received x as a {source_name(x)}; pass validation_data instead")
            if class_weight is not None and sample_weight is not None:
                raise ValueError("fit: you cannot use class_weight and sample_weight at the same time")
            xs, y, sw = self._arrays(x, y, sample_weight, None, "fit")
            (xs, y, sw), (xv, yv, swv) = data.split_validation(xs, y, sw, validation_split, "fit")
            dtypes = self._input_dtypes()
            val = ArraySource(xv, yv, swv, data.check_batch_size(validation_batch_size or batch_size, "fit"),
                              False, dtypes)
            if class_weight is not None:  # training only, as Keras: the held-out part stays unweighted
                if y is None:
                    raise ValueError("fit: class_weight needs targets y")
                sw = data.class_weight_to_sample_weight(y, class_weight, "fit")
            default = math.ceil(len(xs[0]) / steps) if steps else 32
            return ArraySource(xs, y, sw, data.check_batch_size(batch_size, "fit", default), shuffle, dtypes), val
        train = self._source(x, y, sample_weight, who="fit", batch_size=batch_size, shuffle=shuffle,
                             class_weight=class_weight, steps=steps)
        return train, val

    def _validation_source(self, validation_data: Any, batch_size: Any) -> Any:
        if kind_of(validation_data) != "arrays":
            return self._source(validation_data, None, None, who="fit", batch_size=None, shuffle=False,
                                what="validation_data")
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            what = (f"a sequence of length {len(validation_data)}"
                    if isinstance(validation_data, (tuple, list)) else type(validation_data).__name__)
            raise ValueError(f"fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                             f"val_sample_weight), received {what}")
        xv, yv, swv = (tuple(validation_data) + (None,))[:3]
        return self._source(xv, yv, swv, who="fit", batch_size=batch_size, shuffle=False,
                            what="validation_data x")

    # ----- public loops
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: Any = "auto", callbacks: Any = None, validation_split: float = 0.0,
            validation_data: Any = None, shuffle: bool = True, class_weight: Any = None,
            sample_weight: Any = None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: Any = 1) -> Any:
        """Train for epochs - initial_epoch epochs; returns the History of per-epoch logs (Keras 3's fit)."""
        self._require_compiled("fit")
        verbose = data.resolve_verbose(verbose, "fit")
        epochs = validation.integer(epochs, "fit", "epochs", low=0)
        initial_epoch = validation.integer(initial_epoch, "fit", "initial_epoch", low=0)
        if epochs < initial_epoch:
            raise ValueError(f"fit: epochs ({epochs}) is the index of the last epoch and must be "
                             f">= initial_epoch ({initial_epoch})")
        steps = validation.integer(steps_per_epoch, "fit", "steps_per_epoch", low=1, none=True)
        val_steps = validation.integer(validation_steps, "fit", "validation_steps", low=1, none=True)
        freq = _check_freq(validation_freq)
        train, val = self._fit_sources(x, y, sample_weight, class_weight, batch_size, shuffle, steps,
                                       validation_split, validation_data, validation_batch_size)
        epochs_it = EpochIterator(train, steps, "steps_per_epoch")
        if val is not None:
            EpochIterator(val, val_steps, "validation_steps")  # refuse an endless one now, not after an epoch
        cbs = _callback_list(callbacks, model=self, add_history=True, add_progbar=verbose != 0,
                           verbose=verbose, epochs=epochs, steps=epochs_it.num_batches)
        self.history = cbs.history
        self.stop_training = False
        self._initial_epoch = None
        self._loss_layers = self._train_weights = None
        self._metrics_cache = self.metrics
        cbs.on_train_begin()  # BackupAndRestore may set model._initial_epoch here
        start = initial_epoch if self._initial_epoch is None else self._initial_epoch
        epoch_logs: dict[str, Any] = {}
        try:
            for epoch in range(start, epochs):
                self.reset_metrics()
                cbs.on_epoch_begin(epoch)
                logs = self._train_epoch(epochs_it, cbs)
                if not logs and epochs_it.exhausted:  # a used-up generator: no empty epoch in History
                    break
                epoch_logs = logs
                if val is not None and (epoch + 1 in freq if isinstance(freq, set) else (epoch + 1) % freq == 0):
                    # a used-up validation generator has warned; that epoch then has no val_ logs
                    val_logs = self._test_loop(EpochIterator(val, val_steps, "validation_steps"), cbs,
                                               "fit (validation)", allow_empty=not val.reiterable)
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                cbs.on_epoch_end(epoch, epoch_logs)
                if self.stop_training or epochs_it.exhausted:
                    break
        finally:
            self._loss_layers = self._train_weights = self._metrics_cache = None
        self.optimizer.finalize_variable_values()  # use_ema: keep the averaged weights, as Keras
        cbs.on_train_end(epoch_logs)
        return self.history

    def _train_epoch(self, epochs_it: EpochIterator, cbs: Any) -> dict[str, Any]:
        """One pass of train_step over the batches; the logs are the last step's (running) results."""
        logs: dict[str, Any] = {}
        for step, batch in epochs_it.epoch():
            if self._train_weights is None:  # the first batch has built the model by now
                self._train_weights = self.trainable_weights
                self._loss_layers = self._find_loss_layers()
            cbs.on_train_batch_begin(step)
            logs = _pythonify(self.train_step(batch), "train_step")
            cbs.on_train_batch_end(step, logs)
            if self.stop_training:
                break
        return dict(logs)

    def _test_loop(self, epochs_it: EpochIterator, cbs: Any, who: str, allow_empty: bool = False) -> dict[str, Any]:
        self.reset_metrics()
        cbs.on_test_begin()
        logs: dict[str, Any] = {}
        for step, batch in epochs_it.epoch():
            if self._loss_layers is None:  # the first batch has built the model by now
                self._loss_layers = self._find_loss_layers()
            cbs.on_test_batch_begin(step)
            with no_grad():
                logs = _pythonify(self.test_step(batch), "test_step")
            cbs.on_test_batch_end(step, logs)
        if not logs and not allow_empty:
            raise ValueError(f"{who}: the data yielded no batches to evaluate")
        cbs.on_test_end(logs)
        return logs

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: Any = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: Any = None,
                 return_dict: bool = False) -> Any:
        """Loss (and metrics) over the data: a float, [loss, *metrics], or a dict if return_dict."""
        self._require_compiled("evaluate")
        verbose = data.resolve_verbose(verbose, "evaluate")
        steps = validation.integer(steps, "evaluate", "steps", low=1, none=True)
        source = self._source(x, y, sample_weight, who="evaluate", batch_size=batch_size, shuffle=False,
                              steps=steps)
        epochs_it = EpochIterator(source, steps)
        cbs = _callback_list(callbacks, model=self, add_progbar=verbose != 0, verbose=verbose,
                           epochs=1, steps=epochs_it.num_batches)
        self._loss_layers, self._metrics_cache = None, self.metrics
        try:
            logs = self._test_loop(epochs_it, cbs, "evaluate")
        finally:
            self._loss_layers = self._metrics_cache = None
        return self._format(logs, return_dict)

    def _format(self, logs: dict[str, Any], return_dict: bool) -> Any:
        if return_dict:
            return dict(logs)
        return logs["loss"] if len(logs) == 1 and "loss" in logs else list(logs.values())

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto", steps: int | None = None,
                callbacks: Any = None) -> Any:
        """Outputs for every sample, computed batch by batch with predict_step and no graph."""
        verbose = data.resolve_verbose(verbose, "predict")
        steps = validation.integer(steps, "predict", "steps", low=1, none=True)
        source = self._source(x, None, None, who="predict", batch_size=batch_size, shuffle=False, steps=steps,
                              labels=False)
        epochs_it = EpochIterator(source, steps)
        cbs = _callback_list(callbacks, model=self, add_progbar=verbose != 0, verbose=verbose,
                           epochs=1, steps=epochs_it.num_batches)
        cbs.on_predict_begin()
        # arrays of known length are written into preallocated outputs (no concatenate copy at the end)
        total = source.num_samples if isinstance(source, ArraySource) and steps is None else None
        results: list[Any] | None = None
        done = 0
        for step, batch in epochs_it.epoch():
            cbs.on_predict_batch_begin(step)
            with no_grad():
                outs = _outputs(self.predict_step(batch))
            if results is None:
                results = ([np.empty((total,) + o.shape[1:], dtype=o.dtype) for o in outs] if total is not None
                           else [[] for _ in outs])
            for res, o in zip(results, outs):
                if total is not None:
                    res[done:done + len(o)] = o
                else:
                    res.append(o)
            done += len(outs[0])
            cbs.on_predict_batch_end(step, {"outputs": outs if len(outs) > 1 else outs[0]})
        cbs.on_predict_end()
        if results is None:
            raise ValueError("predict: the data yielded no batches")
        if total is None:
            results = [parts[0] if len(parts) == 1 else np.concatenate(parts) for parts in results]
        return results if len(results) > 1 else results[0]

    def predict_on_batch(self, x: Any) -> Any:
        """Outputs for one batch (no graph)."""
        xs, _, _ = self._arrays(x, None, None, None, "predict_on_batch", labels=False)
        batch = next(iter(ArraySource(xs, None, None, len(xs[0]), False, self._input_dtypes())))
        with no_grad():
            outs = _outputs(self.predict_step(batch))
        return outs if len(outs) > 1 else outs[0]

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: Any = None,
                       reset_metrics: bool = True, return_dict: bool = False) -> Any:
        """One optimizer step on (x, y); returns the loss (and metrics) of that batch."""
        self._require_compiled("train_on_batch")
        xs, y, sw = self._arrays(x, y, sample_weight, class_weight, "train_on_batch")
        if reset_metrics:
            self.reset_metrics()
        batch = next(iter(ArraySource(xs, y, sw, len(xs[0]), False, self._input_dtypes())))
        self._loss_layers = self._train_weights = None
        logs = _pythonify(self.train_step(batch), "train_step")
        return self._format(logs, return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, reset_metrics: bool = True,
                      return_dict: bool = False) -> Any:
        """Loss (and metrics) of the model on one batch, without updating it."""
        self._require_compiled("test_on_batch")
        xs, y, sw = self._arrays(x, y, sample_weight, None, "test_on_batch")
        if reset_metrics:
            self.reset_metrics()
        batch = next(iter(ArraySource(xs, y, sw, len(xs[0]), False, self._input_dtypes())))
        self._loss_layers = None
        with no_grad():
            logs = _pythonify(self.test_step(batch), "test_step")
        return self._format(logs, return_dict)
