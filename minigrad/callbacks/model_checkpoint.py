"""ModelCheckpoint: save the model (or its weights) every epoch or every N batches, optionally only the best."""
from __future__ import annotations

import os
import warnings
from typing import Any

from minigrad import validation
from minigrad.callbacks._util import improved, resolve_mode, say, scalar
from minigrad.callbacks.base import Callback, Logs, register


@register("model_checkpoint")
class ModelCheckpoint(Callback):
    """Keras ModelCheckpoint. `filepath` may hold `str.format` fields filled from the epoch (1-based),
    the batch (1-based, with an int save_freq) and the logs: `ckpt-{epoch:02d}-{val_loss:.2f}.mg`.

    save_best_only: save only when `monitor` improves on the best seen (or on
    `initial_value_threshold`); save_weights_only: `model.save_weights` instead of `model.save`;
    save_freq: 'epoch' or a number of train batches (counted across epochs). Every save is atomic.
    """

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__()
        save_freq = validation.frequency(save_freq, "ModelCheckpoint", "save_freq")
        mode = validation.choice(mode, ("auto", "min", "max"), "ModelCheckpoint", "mode")
        self.filepath = os.fspath(filepath)
        self.monitor, self.verbose, self.mode = monitor, verbose, mode
        self.save_best_only, self.save_weights_only = bool(save_best_only), bool(save_weights_only)
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.best: float | None = None if initial_value_threshold is None else float(initial_value_threshold)
        self._direction: str | None = None
        self._current_epoch = 0
        self._batches_since_save = 0

    def get_config(self) -> dict[str, Any]:
        return {
            "filepath": self.filepath, "monitor": self.monitor, "verbose": self.verbose,
            "save_best_only": self.save_best_only, "save_weights_only": self.save_weights_only,
            "mode": self.mode, "save_freq": self.save_freq, "initial_value_threshold": self.initial_value_threshold,
        }

    def on_train_begin(self, logs: Logs = None) -> None:
        if self.save_best_only:
            self._direction = resolve_mode("ModelCheckpoint", self.monitor, self.mode, self.model)

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._current_epoch = epoch

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def format_path(self, epoch: int, batch: int | None, logs: Logs) -> str:
        """filepath with {epoch} (1-based), {batch} (1-based) and log values filled in."""
        fields = dict(logs or {})
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as e:
            raise ValueError(
                f"ModelCheckpoint: filepath {self.filepath!r} uses {{{e.args[0]}}}, which is not available; "
                f"available fields: {', '.join(sorted(fields))}"
            ) from None
        except (ValueError, IndexError) as e:
            raise ValueError(f"ModelCheckpoint: cannot format filepath {self.filepath!r}: {e}") from None

    def _save(self, epoch: int, batch: int | None, logs: Logs) -> None:
        path = self.format_path(epoch, batch, logs)
        if self.save_best_only:
            current = scalar("ModelCheckpoint", self.monitor, logs)
            if current is None:  # Keras 3 warns and saves anyway (better a checkpoint than none)
                warnings.warn(f"ModelCheckpoint: can save best model only with {self.monitor!r} available; "
                              f"saving to {path} anyway (available: {', '.join(logs or {}) or 'none'})",
                              UserWarning, stacklevel=3)
            elif not improved(self._direction or "min", current, self.best):
                say(self.verbose, f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            else:
                best = "None" if self.best is None else f"{self.best:.5f}"
                say(self.verbose, f"Epoch {epoch + 1}: {self.monitor} improved from {best} to {current:.5f}, "
                                  f"saving model to {path}")
                self.best = current
        else:
            say(self.verbose, f"Epoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)

    def get_state(self) -> dict[str, Any]:
        return {"best": self.best, "batches_since_save": self._batches_since_save}

    def set_state(self, state: dict[str, Any]) -> None:
        self.best = None if state["best"] is None else float(state["best"])
        self._batches_since_save = int(state["batches_since_save"])
