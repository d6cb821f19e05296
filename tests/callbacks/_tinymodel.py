"""A small NumPy linear model whose fit/evaluate/predict drive callbacks exactly as docs/CONTRACTS.md says.

Callback tests use it to control the logs precisely (scripted losses) and to stay independent of the
layers/optimizers being developed; the end-to-end tests in tests/test_saving.py use the real Sequential.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import random as mg_random
from minigrad.callbacks import CallbackList
from minigrad.saving import read_archive, write_archive


class _W:
    """What callbacks read from model.weights: a name and numpy()."""

    def __init__(self, name: str, array: np.ndarray) -> None:
        self.name, self.array = name, array

    def numpy(self) -> np.ndarray:
        return self.array


class TinySGD:
    """SGD with momentum and an optional EMA of the weights; get_state/set_state like the contract's optimizers."""

    def __init__(self, learning_rate: float = 0.05, momentum: float = 0.9, use_ema: bool = False,
                 ema_momentum: float = 0.5) -> None:
        self.learning_rate, self.momentum = learning_rate, momentum
        self.use_ema, self.ema_momentum = use_ema, ema_momentum
        self.iterations = 0
        self.params: list[np.ndarray] = []
        self.velocity: list[np.ndarray] = []
        self.ema: list[np.ndarray] = []

    def attach(self, params: list[np.ndarray]) -> None:
        self.params = params
        self.velocity = [np.zeros_like(p) for p in params]
        self.ema = [p.copy() for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        for p, v, g, e in zip(self.params, self.velocity, grads, self.ema):
            v *= self.momentum
            v -= self.learning_rate * g
            p += v
            if self.use_ema:
                e *= self.ema_momentum
                e += (1 - self.ema_momentum) * p
        self.iterations += 1

    def swap_ema_weights(self) -> None:
        for p, e in zip(self.params, self.ema):
            held = p.copy()
            p[...] = e
            e[...] = held

    def get_state(self) -> dict[str, Any]:
        state = {"iterations": self.iterations, "learning_rate": self.learning_rate}
        state.update({f"velocity/{i}": v.copy() for i, v in enumerate(self.velocity)})
        state.update({f"ema/{i}": e.copy() for i, e in enumerate(self.ema)})
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        self.iterations, self.learning_rate = int(state["iterations"]), float(state["learning_rate"])
        for i, v in enumerate(self.velocity):
            v[...] = state[f"velocity/{i}"]
        for i, e in enumerate(self.ema):
            e[...] = state[f"ema/{i}"]


class TinyModel:
    """y = x @ W + b trained on mean squared error; logs 'loss' and 'mae' (and 'val_*')."""

    def __init__(self, n_in: int = 3, optimizer: TinySGD | None = None, scripted_losses: list[float] | None = None):
        rng = mg_random.generator()
        self.W = rng.normal(size=(n_in, 1))
        self.b = np.zeros(1)
        self.optimizer = optimizer or TinySGD()
        self.optimizer.attach([self.W, self.b])
        self.stop_training = False
        self.history: Any = None
        self._initial_epoch: int | None = None
        self.scripted = scripted_losses  # val_loss per epoch, to drive monitor callbacks precisely
        self.epochs_run: list[int] = []

    @property
    def weights(self) -> list[_W]:
        return [_W("dense/kernel", self.W), _W("dense/bias", self.b)]

    def get_weights(self) -> list[np.ndarray]:
        return [self.W.copy(), self.b.copy()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        self.W[...], self.b[...] = weights

    def save(self, path: str) -> None:
        write_archive(path, "tiny", {"weights": self.get_weights(), "optimizer": self.optimizer.get_state()})

    def save_weights(self, path: str) -> None:
        write_archive(path, "tiny_weights", {"weights": self.get_weights()})

    def load_weights(self, path: str) -> None:
        self.set_weights(read_archive(path, ("tiny", "tiny_weights"))["weights"])

    def _batch(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float, list[np.ndarray]]:
        err = x @ self.W + self.b - y
        grads = [2 * x.T @ err / len(x), 2 * err.mean(axis=0)]
        return float((err ** 2).mean()), float(np.abs(err).mean()), grads

    def fit(self, x, y, batch_size=8, epochs=1, verbose=0, callbacks=None, validation_data=None,
            shuffle=True, initial_epoch=0):
        steps = -(-len(x) // batch_size)
        cbs = CallbackList(callbacks, model=self, add_history=True, add_progbar=verbose != 0,
                           verbose=verbose, epochs=epochs, steps=steps)
        self.history, self.stop_training, self._initial_epoch = cbs.history, False, None
        cbs.on_train_begin()
        start = initial_epoch if self._initial_epoch is None else self._initial_epoch
        epoch_logs: dict[str, float] = {}
        for epoch in range(start, epochs):
            cbs.on_epoch_begin(epoch)
            self.epochs_run.append(epoch)
            order = mg_random.generator().permutation(len(x)) if shuffle else np.arange(len(x))
            total = abs_total = seen = 0.0
            logs: dict[str, float] = {}
            for step in range(steps):
                idx = order[step * batch_size:(step + 1) * batch_size]
                cbs.on_train_batch_begin(step)
                loss, mae, grads = self._batch(x[idx], y[idx])
                self.optimizer.step(grads)
                total, abs_total, seen = total + loss * len(idx), abs_total + mae * len(idx), seen + len(idx)
                logs = {"loss": total / seen, "mae": abs_total / seen}
                cbs.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            epoch_logs = dict(logs)
            if validation_data is not None:
                val = self._test_loop(*validation_data, batch_size, cbs)
                epoch_logs.update({f"val_{k}": v for k, v in val.items()})
            if self.scripted is not None:
                epoch_logs["val_loss"] = self.scripted[epoch]
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cbs.on_train_end(epoch_logs)
        return self.history

    def _test_loop(self, x, y, batch_size, cbs) -> dict[str, float]:
        cbs.on_test_begin()
        total = abs_total = 0.0
        for step, start in enumerate(range(0, len(x), batch_size)):
            cbs.on_test_batch_begin(step)
            loss, mae, _ = self._batch(x[start:start + batch_size], y[start:start + batch_size])
            total, abs_total = total + loss * len(x[start:start + batch_size]), abs_total + mae * len(x[start:start + batch_size])
            cbs.on_test_batch_end(step, {"loss": total, "mae": abs_total})
        logs = {"loss": total / len(x), "mae": abs_total / len(x)}
        cbs.on_test_end(logs)
        return logs

    def evaluate(self, x, y, batch_size=8, verbose=0, callbacks=None) -> dict[str, float]:
        cbs = CallbackList(callbacks, model=self, add_progbar=verbose != 0, verbose=verbose,
                           steps=-(-len(x) // batch_size))
        return self._test_loop(x, y, batch_size, cbs)

    def predict(self, x, batch_size=8, verbose=0, callbacks=None) -> np.ndarray:
        cbs = CallbackList(callbacks, model=self, add_progbar=verbose != 0, verbose=verbose,
                           steps=-(-len(x) // batch_size))
        cbs.on_predict_begin()
        outs = []
        for step, start in enumerate(range(0, len(x), batch_size)):
            cbs.on_predict_batch_begin(step)
            outs.append(x[start:start + batch_size] @ self.W + self.b)
            cbs.on_predict_batch_end(step, {"outputs": outs[-1]})
        cbs.on_predict_end()
        return np.concatenate(outs)


def regression_data(n: int = 40, n_in: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noiseless linear target the model can fit."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, n_in))
    return x, x @ np.array([[1.0], [-2.0], [0.5]])[:n_in] + 0.3
