"""LearningRateScheduler: set the optimizer's learning rate from schedule(epoch, lr) each epoch."""
from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from minigrad import validation
from minigrad.callbacks._util import say
from minigrad.callbacks.base import Callback, Logs, register


def current_lr(who: str, model: Any) -> float:
    """The model optimizer's learning rate as a float (a schedule object is not supported here)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(f"{who}: the model has no optimizer with a learning_rate; compile it first")
    try:
        return float(optimizer.learning_rate)
    except (TypeError, ValueError):
        raise TypeError(
            f"{who}: the optimizer's learning_rate must be a float to be changed by a callback, "
            f"received {type(optimizer.learning_rate).__name__}"
        ) from None


@register("learning_rate_scheduler")
class LearningRateScheduler(Callback):
    """At each epoch start: `optimizer.learning_rate = schedule(epoch, lr)` (or `schedule(epoch)`).

    The epoch-end logs gain `learning_rate`.
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be callable, received {type(schedule).__name__}")
        self.schedule = schedule
        self.verbose = verbose
        self._takes_lr = _accepts_two_args(schedule)

    def get_config(self) -> dict[str, Any]:
        raise TypeError("LearningRateScheduler holds Python functions, which are never serialized (no code in saved files)")

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        lr = current_lr("LearningRateScheduler", self.model)
        new = self.schedule(epoch, lr) if self._takes_lr else self.schedule(epoch)
        if not validation.is_real(new):
            raise ValueError(
                f"LearningRateScheduler: schedule must return a float, received {type(new).__name__} at epoch {epoch}"
            )
        if not np.isfinite(new) or new < 0:
            raise ValueError(f"LearningRateScheduler: schedule returned learning rate {new!r} at epoch {epoch}")
        self.model.optimizer.learning_rate = float(new)
        say(self.verbose, f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(new)}.")

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        if logs is not None:
            logs["learning_rate"] = current_lr("LearningRateScheduler", self.model)


def _accepts_two_args(fn: Callable[..., Any]) -> bool:
    """schedule(epoch, lr) is the Keras form; schedule(epoch) the legacy one."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2
