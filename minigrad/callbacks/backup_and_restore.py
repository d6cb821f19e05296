"""BackupAndRestore: resume an interrupted fit from its last backup, bit for bit."""
from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from minigrad import random as mg_random
from minigrad import validation
from minigrad.callbacks.base import Callback, Logs, register
from minigrad.errors import SerializationError

_BACKUP = "backup.mgckpt"
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


@register("backup_and_restore")
class BackupAndRestore(Callback):
    """Keras BackupAndRestore: back up the training state to `backup_dir` at each epoch end (or every
    `save_freq` batches); when fit starts and a backup exists, restore it and continue from there.

    The backup is one atomically written file holding the weights, the optimizer state (slots,
    step count, learning rate), the global random state, the number of completed epochs and every
    other callback's get_state() (History so far, EarlyStopping and ReduceLROnPlateau counters,
    ModelCheckpoint's best, CSVLogger's rows). Run after a kill with the same arguments, fit resumes
    at the first unfinished epoch; with save_freq='epoch', a fixed seed and one thread it ends with
    exactly the weights of an uninterrupted run. With an int save_freq a mid-epoch backup holds
    mid-epoch weights and resuming restarts that epoch from them (as Keras does), so the result
    differs from an uninterrupted run; the batches are counted across epochs, as in Keras.
    `delete_checkpoint`: remove the backup when fit completes.
    """

    _runs_last = True  # restore after the others reset themselves; back up after they updated

    def __init__(self, backup_dir: str | os.PathLike, save_freq: str | int = "epoch",
                 delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not isinstance(backup_dir, (str, os.PathLike)) or not os.fspath(backup_dir):
            raise ValueError(f"BackupAndRestore: backup_dir must be a non-empty path, received {backup_dir!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = validation.frequency(save_freq, "BackupAndRestore", "save_freq")
        self.delete_checkpoint = bool(delete_checkpoint)
        self._completed_epochs = 0
        self._batches_since_save = 0

    @property
    def backup_path(self) -> str:
        """The one backup file inside backup_dir."""
        return os.path.join(self.backup_dir, _BACKUP)

    def get_config(self) -> dict[str, Any]:
        return {"backup_dir": self.backup_dir, "save_freq": self.save_freq, "delete_checkpoint": self.delete_checkpoint}

    # ----- hooks
    def on_train_begin(self, logs: Logs = None) -> None:
        self._completed_epochs, self._batches_since_save = 0, 0
        if os.path.exists(self.backup_path):
            self._restore()

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._backup()

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._completed_epochs = epoch + 1
        if self.save_freq == "epoch":
            self._backup()

    def on_train_end(self, logs: Logs = None) -> None:
        if self.delete_checkpoint and os.path.exists(self.backup_path):
            os.remove(self.backup_path)
            try:
                os.rmdir(self.backup_dir)  # only if we left it empty
            except OSError:
                pass

    # ----- state
    def _others(self) -> dict[str, Callback]:
        """Other callbacks keyed 'ClassName#k' (k-th of its class), stable for the same fit arguments."""
        counts: dict[str, int] = {}
        out = {}
        for cb in self._callback_list.callbacks if self._callback_list is not None else []:
            if cb is self:
                continue
            name = type(cb).__name__
            out[f"{name}#{counts.get(name, 0)}"] = cb
            counts[name] = counts.get(name, 0) + 1
        return out

    def _backup(self) -> None:
        from minigrad.saving.archive import write_archive

        optimizer = getattr(self.model, "optimizer", None)
        document = {
            "epoch": self._completed_epochs,
            "weights": self.model.get_weights(),
            "optimizer": optimizer.get_state() if optimizer is not None else None,
            "random": mg_random.get_state(),
            "callbacks": {k: s for k, cb in self._others().items() if (s := cb.get_state())},
        }
        os.makedirs(self.backup_dir, exist_ok=True)
        write_archive(self.backup_path, "backup", document)

    def _restore(self) -> None:
        from minigrad.saving.archive import read_archive

        document = read_archive(self.backup_path, "backup")
        epoch, weights, callbacks, rng = _checked_state(document, self.backup_path, self.model,
                                                        self.params.get("epochs"))
        self.model.set_weights(weights)
        if document.get("optimizer") is not None:
            self.model.optimizer.set_state(document["optimizer"])
        mg_random.set_state(rng)
        others = self._others()
        for key, state in callbacks.items():
            if key in others:
                others[key].set_state(state)
            else:
                warnings.warn(f"BackupAndRestore: the backup holds state for callback {key}, which this fit "
                              "does not use; it is ignored", RuntimeWarning, stacklevel=3)
        self._completed_epochs = epoch
        self.model._initial_epoch = epoch


def _checked_state(document: Any, path: str, model: Any, epochs: Any) -> tuple[int, list, dict, dict]:
    """(epoch, weights, callbacks, random) of a backup, each field checked against this run."""
    def bad(field: str, expected: str, value: Any) -> SerializationError:
        return SerializationError(f"{path}: backup field '{field}' must be {expected}, received {str(value)[:80]}")

    if not isinstance(document, dict):
        raise bad("document", "a dict", type(document).__name__)
    for field in ("epoch", "weights", "callbacks", "random"):
        if field not in document:
            raise SerializationError(f"{path}: backup field '{field}' is missing")
    epoch, weights, callbacks, rng = (document[f] for f in ("epoch", "weights", "callbacks", "random"))
    limit = epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else None
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0 or (limit is not None and epoch > limit):
        raise bad("epoch", f"an int from 0 to {limit if limit is not None else 'the epochs of the fit'} "
                           "(the epochs completed before the backup)", repr(epoch))
    own = model.get_weights()
    if not isinstance(weights, list) or len(weights) != len(own):
        raise bad("weights", f"a list of the model's {len(own)} weight arrays", f"{type(weights).__name__} "
                  f"of {len(weights) if isinstance(weights, list) else '?'}")
    for i, (value, current, w) in enumerate(zip(weights, own, model.weights)):
        if not isinstance(value, np.ndarray) or value.shape != np.shape(current):
            raise bad(f"weights[{i}]", f"an array of shape {np.shape(current)} ('{getattr(w, 'name', i)}')",
                      f"{type(value).__name__} {getattr(value, 'dtype', '')} {getattr(value, 'shape', '')}")
    if not isinstance(callbacks, dict) or not all(isinstance(k, str) and isinstance(v, dict)
                                                  for k, v in callbacks.items()):
        raise bad("callbacks", "a dict of callback name -> state dict", type(callbacks).__name__)
    if not isinstance(rng, dict) or rng.get("bit_generator") not in _BIT_GENERATORS:
        raise bad("random", f"a random state of one of {', '.join(_BIT_GENERATORS)}", rng)
    optimizer = document.get("optimizer")
    if optimizer is not None and not isinstance(optimizer, dict):
        raise bad("optimizer", "a dict or null", type(optimizer).__name__)
    return epoch, weights, callbacks, rng
