"""ReduceLROnPlateau: multiply the learning rate by `factor` when a metric stops improving."""
from __future__ import annotations

import warnings
from typing import Any

from minigrad import validation
from minigrad.callbacks._util import improved, resolve_mode, say, scalar
from minigrad.callbacks.base import Callback, Logs, register
from minigrad.callbacks.learning_rate_scheduler import current_lr


@register("reduce_lr_on_plateau")
class ReduceLROnPlateau(Callback):
    """Keras ReduceLROnPlateau: after `patience` epochs without an improvement larger than
    `min_delta`, lr <- max(lr * factor, min_lr), then wait `cooldown` epochs before counting again.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__()
        who = "ReduceLROnPlateau"
        self.monitor, self.verbose, self.min_delta = monitor, verbose, abs(float(min_delta))
        self.factor = validation.real(factor, who, "factor", low=0, high=1, low_open=True, high_open=True)
        self.patience = validation.integer(patience, who, "patience", low=0)
        self.cooldown = validation.integer(cooldown, who, "cooldown", low=0)
        self.min_lr = validation.real(min_lr, who, "min_lr", low=0)
        self.mode = validation.choice(mode, ("auto", "min", "max"), who, "mode")
        self._direction: str | None = None
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.cooldown_counter = 0
        self.best: float | None = None

    def get_config(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor, "factor": self.factor, "patience": self.patience,
            "verbose": self.verbose, "mode": self.mode, "min_delta": self.min_delta,
            "cooldown": self.cooldown, "min_lr": self.min_lr,
        }

    def on_train_begin(self, logs: Logs = None) -> None:
        self._reset()
        self._direction = resolve_mode("ReduceLROnPlateau", self.monitor, self.mode, self.model)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        lr = current_lr("ReduceLROnPlateau", self.model)
        if logs is not None:
            logs["learning_rate"] = lr
        current = scalar("ReduceLROnPlateau", self.monitor, logs)
        if current is None:
            warnings.warn(
                f"ReduceLROnPlateau is conditioned on {self.monitor!r}, which is not in the logs; "
                f"available: {', '.join(logs or {}) or 'none'}",
                RuntimeWarning, stacklevel=2,
            )
            return
        if self._direction is None:
            self._direction = resolve_mode("ReduceLROnPlateau", self.monitor, self.mode, self.model)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if improved(self._direction, current, self.best, self.min_delta):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and lr > self.min_lr:
                new_lr = max(lr * self.factor, self.min_lr)
                self.model.optimizer.learning_rate = new_lr
                say(self.verbose, f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                self.cooldown_counter, self.wait = self.cooldown, 0

    def get_state(self) -> dict[str, Any]:
        return {"wait": self.wait, "cooldown_counter": self.cooldown_counter, "best": self.best}

    def set_state(self, state: dict[str, Any]) -> None:
        self.wait = int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])
        self.best = None if state["best"] is None else float(state["best"])
