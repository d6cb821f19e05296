"""Callback (every Keras hook, each a no-op) and the callback registry; callback_list drives them."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from minigrad.registry import Registry

if TYPE_CHECKING:  # annotations only: callback_list imports this module
    from minigrad.callbacks.callback_list import CallbackList

__all__ = ["Callback", "Logs", "registry", "register", "get", "serialize", "deserialize"]

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


def _is_callback_class(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, Callback)


registry = Registry("callbacks", validate=_is_callback_class)
register = registry.register


def get(identifier: Any) -> Callback:
    """Callback instance from an instance, class, registered name or serialized dict."""
    if isinstance(identifier, Callback):
        return identifier
    if _is_callback_class(identifier):
        return identifier()
    if isinstance(identifier, str):
        return registry.get(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise TypeError(
        f"callbacks.get: expected a Callback, Callback class, name or config dict, "
        f"received {type(identifier).__name__}"
    )


def serialize(callback: Callback) -> dict[str, Any]:
    """{'kind', 'name', 'config', 'provider'?} of a registered callback."""
    return registry.serialize(callback)


def deserialize(entry: dict[str, Any]) -> Callback:
    """Rebuild a callback from serialize()'s dict, resolving its class only through the registry."""
    return registry.deserialize(entry)
