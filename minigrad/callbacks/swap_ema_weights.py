"""SwapEMAWeights: evaluate, predict and checkpoint with the optimizer's moving-average weights."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad.callbacks.base import Callback, Logs, register


@register("swap_ema_weights")
class SwapEMAWeights(Callback):
    """Keras SwapEMAWeights, for an optimizer created with `use_ema=True`.

    Evaluation and prediction run with the exponential moving average of the weights (put in the
    model at on_test_begin / on_predict_begin, the trained weights put back at the end). With
    `swap_on_epoch=True` the averages are also put in at each epoch end, so callbacks listed after
    this one (e.g. ModelCheckpoint) see them, and the trained weights come back at the next epoch
    start. Training itself is unaffected, and fit ends with the averages (fit finalizes them).

    The averages are copied in with `optimizer.finalize_variable_values()` and the trained weights
    kept aside, rather than swapped, so the optimizer's average buffer always holds the true
    average — whatever epoch turns out to be the last one.
    """

    def __init__(self, swap_on_epoch: bool = False) -> None:
        super().__init__()
        self.swap_on_epoch = bool(swap_on_epoch)
        self._trained: list[np.ndarray] | None = None  # the trained weights while the averages are in

    def get_config(self) -> dict[str, Any]:
        return {"swap_on_epoch": self.swap_on_epoch}

    def _optimizer(self) -> Any:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not getattr(optimizer, "use_ema", False):
            raise ValueError("SwapEMAWeights: the model's optimizer must be created with use_ema=True, "
                             f"received {type(optimizer).__name__ if optimizer is not None else 'no optimizer'}")
        return optimizer

    def _averages_in(self) -> None:
        optimizer = self._optimizer()
        if self._trained is not None or optimizer.iterations == 0:
            return  # already in, or no step yet (the average would equal the weights)
        self._trained = [w.data.copy() for w in self.model.trainable_weights]
        optimizer.finalize_variable_values()

    def _trained_back(self) -> None:
        if self._trained is None:
            return
        for weight, value in zip(self.model.trainable_weights, self._trained):
            weight.data[...] = value  # in place: the data are views into the optimizer's flat buffer
        self._trained = None

    def get_state(self) -> dict[str, Any]:
        # a backup taken while the averages are in must also hold the trained weights to resume from
        return {} if self._trained is None else {"trained": [w.copy() for w in self._trained]}

    def set_state(self, state: dict[str, Any]) -> None:
        self._trained = [np.array(w) for w in state["trained"]]

    def on_train_begin(self, logs: Logs = None) -> None:
        self._optimizer()  # fail before the first epoch, not at the first validation

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._trained_back()

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        if self.swap_on_epoch:
            self._averages_in()

    def on_train_end(self, logs: Logs = None) -> None:
        self._trained = None  # fit has finalized the averages into the model

    def on_test_begin(self, logs: Logs = None) -> None:
        self._averages_in()

    def on_test_end(self, logs: Logs = None) -> None:
        self._trained_back()

    def on_predict_begin(self, logs: Logs = None) -> None:
        self._averages_in()

    def on_predict_end(self, logs: Logs = None) -> None:
        self._trained_back()
