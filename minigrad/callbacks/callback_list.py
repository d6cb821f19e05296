"""CallbackList: the callbacks of one fit/evaluate/predict, each hook called on every one in order."""
from __future__ import annotations

from typing import Any, Callable, Iterable

from minigrad.callbacks.base import Callback, Logs, get
from minigrad.callbacks.history import History
from minigrad.callbacks.progbar import ProgbarLogger

__all__ = ["CallbackList"]


class CallbackList:
    """Calls each hook on every callback in order; optionally adds History and ProgbarLogger.

    `arrange` has the last say over the list before it is ordered (a data-parallel fit passes each
    rank's arrangement, minigrad.distributed.callbacks.arrange).
    """

    def __init__(
        self,
        callbacks: Iterable[Callback] | None = None,
        *,
        model: Any = None,
        add_history: bool = False,
        add_progbar: bool = False,
        verbose: int = 1,
        epochs: int | None = None,
        steps: int | None = None,
        arrange: Callable[[list[Callback]], list[Callback]] | None = None,
    ) -> None:
        items = [get(cb) for cb in (callbacks or [])]
        self._add_defaults(items, add_history, add_progbar)
        if arrange is not None:
            items = arrange(items)
        # stable sort: callbacks that must see (or restore) everyone else's state go last
        self.callbacks: list[Callback] = sorted(items, key=lambda cb: cb._runs_last)
        for cb in self.callbacks:
            cb._callback_list = self
        self.model = None
        if model is not None:
            self.set_model(model)
        self.params: dict[str, Any] = {"verbose": verbose, "epochs": epochs, "steps": steps}
        self.set_params(self.params)

    def _add_defaults(self, items: list[Callback], add_history: bool, add_progbar: bool) -> None:
        self.history = next((cb for cb in items if isinstance(cb, History)), None)
        self.progbar = next((cb for cb in items if isinstance(cb, ProgbarLogger)), None)
        if self.history is None and add_history:
            self.history = History()
            items.append(self.history)
        if self.progbar is None and add_progbar:
            self.progbar = ProgbarLogger()
            items.append(self.progbar)

    def append(self, callback: Callback) -> None:
        """Add one more callback (it gets the list's model and params)."""
        callback = get(callback)
        callback._callback_list = self
        if self.model is not None:
            callback.set_model(self.model)
        callback.set_params(self.params)
        self.callbacks.append(callback)
        self.callbacks.sort(key=lambda cb: cb._runs_last)

    def set_model(self, model: Any) -> None:
        """Attach model to every callback."""
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        """Give every callback the training parameters."""
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)

    def _call(self, hook: str, *args: Any) -> None:
        if args[-1] is None:  # logs comes last; Keras hands every hook a dict, never None
            args = args[:-1] + ({},)
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs: Logs = None) -> None: self._call("on_train_begin", logs)
    def on_train_end(self, logs: Logs = None) -> None: self._call("on_train_end", logs)
    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None: self._call("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None: self._call("on_epoch_end", epoch, logs)
    def on_batch_begin(self, batch: int, logs: Logs = None) -> None: self._call("on_batch_begin", batch, logs)
    def on_batch_end(self, batch: int, logs: Logs = None) -> None: self._call("on_batch_end", batch, logs)

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._call("on_train_batch_end", batch, logs)

    def on_test_begin(self, logs: Logs = None) -> None: self._call("on_test_begin", logs)
    def on_test_end(self, logs: Logs = None) -> None: self._call("on_test_end", logs)

    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._call("on_test_batch_end", batch, logs)

    def on_predict_begin(self, logs: Logs = None) -> None: self._call("on_predict_begin", logs)
    def on_predict_end(self, logs: Logs = None) -> None: self._call("on_predict_end", logs)

    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self._call("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._call("on_predict_batch_end", batch, logs)
