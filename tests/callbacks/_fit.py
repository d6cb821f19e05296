"""The real Sequential fit on a tiny regression task, and a callback that scripts val_loss per epoch.

Callback tests drive the real loop (hooks, stop_training, optimizer state, saving); the monitor
callbacks get exact val_loss values from `Scripted`, listed ahead of them.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

import minigrad
from minigrad import layers, models, optimizers
from minigrad.callbacks import Callback


def regression_data(n: int = 40, n_in: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noiseless linear target a Dense(1) can fit, in float32."""
    x = np.random.default_rng(seed).normal(size=(n, n_in)).astype(np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)[:n_in] + 0.3).astype(np.float32)


def tiny_model(learning_rate: float = 0.05, n_in: int = 3) -> models.Sequential:
    """y = x @ kernel + bias ('dense/kernel', 'dense/bias') with SGD(momentum 0.9), mse and mae."""
    model = models.Sequential([layers.Dense(1, input_shape=(n_in,), name="dense")])
    model.compile(optimizer=optimizers.SGD(learning_rate, momentum=0.9), loss="mse", metrics=["mae"])
    return model


class Scripted(Callback):
    """Records the epochs fit runs; given values, sets logs['val_loss'] = values[epoch] at epoch end
    (the callbacks after it, History included, see that value)."""

    def __init__(self, values: Sequence[float] | None = None) -> None:
        super().__init__()
        self.values, self.epochs = values, []

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.epochs.append(epoch)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if self.values is not None:
            logs["val_loss"] = float(self.values[epoch])


def fit(*callbacks: Callback, scripted: Sequence[float] | None = None, n: int = 16, seed: int = 0,
        learning_rate: float = 0.05, **kwargs: Any) -> tuple[models.Sequential, Scripted]:
    """A fresh tiny model fitted (len(scripted) epochs by default) with Scripted ahead of callbacks."""
    minigrad.set_seed(seed)
    x, y = regression_data(n=n)
    model, script = tiny_model(learning_rate), Scripted(scripted)
    kwargs.setdefault("epochs", len(scripted) if scripted is not None else 1)
    kwargs.setdefault("batch_size", 8)
    kwargs.setdefault("verbose", 0)
    model.fit(x, y, callbacks=[script, *callbacks], **kwargs)
    return model, script
