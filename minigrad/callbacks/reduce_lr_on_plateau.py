"""ReduceLROnPlateau: multiply the learning rate by `factor` when a metric stops improving."""
from __future__ import annotations

import warnings
from typing import Any

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
        if not 0.0 < float(factor) < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1), received {factor!r}")
        for name, value in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"ReduceLROnPlateau: {name} must be an int >= 0, received {value!r}")
        if float(min_lr) < 0:
            raise ValueError(f"ReduceLROnPlateau: min_lr must be >= 0, received {min_lr!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'auto', 'min' or 'max', received {mode!r}")
        self.monitor, self.factor, self.patience = monitor, float(factor), patience
        self.verbose, self.mode, self.min_delta = verbose, mode, abs(float(min_delta))
        self.cooldown, self.min_lr = cooldown, float(min_lr)
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
