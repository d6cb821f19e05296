"""TerminateOnNaN: stop training as soon as a batch loss is NaN or infinite."""
from __future__ import annotations

import warnings

from minigrad.callbacks._util import is_bad_number
from minigrad.callbacks.base import Callback, Logs, register


@register("terminate_on_nan")
class TerminateOnNaN(Callback):
    """Set `model.stop_training` (and warn) when a train batch's `loss` is NaN or +-inf."""

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and is_bad_number(loss):
            warnings.warn(f"Batch {batch}: invalid loss {float(loss)}, terminating training", RuntimeWarning, stacklevel=2)
            self.model.stop_training = True
