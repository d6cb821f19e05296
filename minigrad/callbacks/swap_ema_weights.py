"""SwapEMAWeights: evaluate, predict and checkpoint with the optimizer's moving-average weights."""
from __future__ import annotations

from typing import Any

from minigrad.callbacks.base import Callback, Logs, register


@register("swap_ema_weights")
class SwapEMAWeights(Callback):
    """Keras SwapEMAWeights, for an optimizer created with `use_ema=True`.

    Evaluation and prediction run with the exponential moving average of the weights (swapped in
    at on_test_begin / on_predict_begin, swapped back at the end). With `swap_on_epoch=True` the
    averages are also swapped in at each epoch end, so callbacks listed after this one (e.g.
    ModelCheckpoint) see them, and swapped back at the next epoch start. fit ends with the trained
    (not averaged) weights in the model; call `model.optimizer.finalize_variable_values()` to keep
    the averages.
    """

    def __init__(self, swap_on_epoch: bool = False) -> None:
        super().__init__()
        self.swap_on_epoch = bool(swap_on_epoch)
        self._ema_in_model = False

    def get_config(self) -> dict[str, Any]:
        return {"swap_on_epoch": self.swap_on_epoch}

    def _optimizer(self) -> Any:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is None or not getattr(optimizer, "use_ema", False):
            raise ValueError("SwapEMAWeights: the model's optimizer must be created with use_ema=True, "
                             f"received {type(optimizer).__name__ if optimizer is not None else 'no optimizer'}")
        return optimizer

    def _swap(self, to_ema: bool) -> None:
        optimizer = self._optimizer()
        if self._ema_in_model == to_ema or optimizer.iterations == 0:
            return  # already there, or no step yet (the average would equal the weights)
        optimizer.swap_ema_weights()
        self._ema_in_model = to_ema

    def on_train_begin(self, logs: Logs = None) -> None:
        self._optimizer()  # fail before the first epoch, not at the first validation

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._swap(to_ema=False)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        if self.swap_on_epoch:
            self._swap(to_ema=True)

    def on_train_end(self, logs: Logs = None) -> None:
        self._swap(to_ema=False)

    def on_test_begin(self, logs: Logs = None) -> None:
        self._swap(to_ema=True)

    def on_test_end(self, logs: Logs = None) -> None:
        self._swap(to_ema=False)

    def on_predict_begin(self, logs: Logs = None) -> None:
        self._swap(to_ema=True)

    def on_predict_end(self, logs: Logs = None) -> None:
        self._swap(to_ema=False)
