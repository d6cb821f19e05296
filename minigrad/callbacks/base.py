"""Callback (every Keras hook, each a no-op) and CallbackList, which fit/evaluate/predict drive."""
from __future__ import annotations

from typing import Any, Iterable

from minigrad.registry import Kind

__all__ = ["Callback", "CallbackList", "registry", "register", "get", "serialize", "deserialize"]

Logs = dict[str, Any] | None


class Callback:
    """Base class: override the hooks you need; `self.model` and `self.params` are set before training.

    Stateful callbacks override `get_state()/set_state()` so BackupAndRestore can resume them;
    the state is a dict of JSON values and NumPy arrays.
    """

    # BackupAndRestore sets this: CallbackList runs such callbacks after all others in every hook,
    # so a restore is not undone by another callback's on_train_begin and a backup sees final state.
    _runs_last = False

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}
        self._callback_list: CallbackList | None = None

    def set_model(self, model: Any) -> None:
        """Attach the model being trained (called by CallbackList)."""
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        """Training parameters: verbose, epochs, steps."""
        self.params = params

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments (for the registry's serialize); callbacks with arguments override it."""
        return {}

    def get_state(self) -> dict[str, Any]:
        """Progress to checkpoint (JSON values and ndarrays); stateless callbacks return {}."""
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what get_state() returned."""

    # ----- Keras hooks (fit/evaluate/predict always pass a logs dict, as Keras does)
    def on_train_begin(self, logs: Logs = None) -> None: ...
    def on_train_end(self, logs: Logs = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None: ...
    def on_batch_begin(self, batch: int, logs: Logs = None) -> None:
        """Keras' backwards-compatible alias: the default on_train_batch_begin calls it."""

    def on_batch_end(self, batch: int, logs: Logs = None) -> None:
        """Keras' backwards-compatible alias: the default on_train_batch_end calls it."""

    def on_train_batch_begin(self, batch: int, logs: Logs = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs: Logs = None) -> None: ...
    def on_test_end(self, logs: Logs = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: Logs = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None: ...
    def on_predict_begin(self, logs: Logs = None) -> None: ...
    def on_predict_end(self, logs: Logs = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: Logs = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None: ...

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


registry, register, get, serialize, deserialize = Kind("callbacks", Callback).api()


class CallbackList:
    """Calls each hook on every callback in order; optionally adds History and ProgbarLogger."""

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
    ) -> None:
        items = [get(cb) for cb in (callbacks or [])]
        self._add_defaults(items, add_history, add_progbar)
        from minigrad.distributed import _state as _distributed  # hook: per-rank callbacks

        if _distributed.world is not None:
            from minigrad.distributed.callbacks import arrange

            items = arrange(items, _distributed.world)
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
        from minigrad.callbacks.history import History
        from minigrad.callbacks.progbar import ProgbarLogger

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
