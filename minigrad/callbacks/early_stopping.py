"""EarlyStopping: stop training once a monitored quantity stops improving."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from minigrad import validation
from minigrad.callbacks._util import improved, resolve_mode, say, scalar
from minigrad.callbacks.base import Callback, Logs, register


@register("early_stopping")
class EarlyStopping(Callback):
    """Keras EarlyStopping: after `patience` epochs without an improvement larger than `min_delta`,
    set `model.stop_training`.

    `baseline`: the wait counter only resets when the value also beats the baseline, so training
    stops after `patience` epochs if the baseline is never reached. `restore_best_weights`: at the
    end of training, put back the weights of the best epoch. Epochs before `start_from_epoch` are
    ignored (warm-up).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        patience = validation.integer(patience, "EarlyStopping", "patience", low=0)
        start_from_epoch = validation.integer(start_from_epoch, "EarlyStopping", "start_from_epoch", low=0)
        mode = validation.choice(mode, ("auto", "min", "max"), "EarlyStopping", "mode")
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = patience
        self.verbose = verbose
        self.mode = mode
        self.baseline = None if baseline is None else float(baseline)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = start_from_epoch
        self._direction: str | None = None
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best: float | None = None
        self.best_epoch = 0
        self.best_weights: list[np.ndarray] | None = None

    def get_config(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor, "min_delta": self.min_delta, "patience": self.patience,
            "verbose": self.verbose, "mode": self.mode, "baseline": self.baseline,
            "restore_best_weights": self.restore_best_weights, "start_from_epoch": self.start_from_epoch,
        }

    def on_train_begin(self, logs: Logs = None) -> None:
        self._reset()
        self._direction = resolve_mode("EarlyStopping", self.monitor, self.mode, self.model)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        current = scalar("EarlyStopping", self.monitor, logs)
        if current is None:
            warnings.warn(
                f"EarlyStopping is conditioned on {self.monitor!r}, which is not in the logs; "
                f"available: {', '.join(logs or {}) or 'none'}",
                RuntimeWarning, stacklevel=2,
            )
            return
        if epoch < self.start_from_epoch:
            return
        if self._direction is None:
            self._direction = resolve_mode("EarlyStopping", self.monitor, self.mode, self.model)
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch  # first seen is best so far
        self.wait += 1
        if improved(self._direction, current, self.best, self.min_delta):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # only a value that also beats the baseline restarts the patience
            if self.baseline is None or improved(self._direction, current, self.baseline, self.min_delta):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs = None) -> None:
        if self.stopped_epoch > 0:
            say(self.verbose, f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            say(self.verbose, f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_state(self) -> dict[str, Any]:
        return {
            "wait": self.wait, "stopped_epoch": self.stopped_epoch, "best": self.best,
            "best_epoch": self.best_epoch, "best_weights": self.best_weights,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.wait = int(state["wait"])
        self.stopped_epoch = int(state["stopped_epoch"])
        self.best = None if state["best"] is None else float(state["best"])
        self.best_epoch = int(state["best_epoch"])
        weights = state.get("best_weights")
        self.best_weights = None if weights is None else [np.array(w) for w in weights]
