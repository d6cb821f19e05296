"""LambdaCallback: a callback built from plain functions, one per hook."""
from __future__ import annotations

from typing import Any, Callable

from minigrad.callbacks.base import Callback, register

HOOKS = (
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
    "on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end", "on_test_begin", "on_test_end",
    "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
    "on_predict_batch_begin", "on_predict_batch_end",
)


@register("lambda_callback")
class LambdaCallback(Callback):
    """`LambdaCallback(on_epoch_end=lambda epoch, logs: ...)`: each keyword replaces that hook.

    Epoch hooks get (epoch, logs), batch hooks (batch, logs), begin/end hooks (logs).
    """

    def __init__(self, **hooks: Callable[..., Any] | None) -> None:
        super().__init__()
        for name, fn in hooks.items():
            if name not in HOOKS:
                raise TypeError(f"LambdaCallback: unknown hook {name!r}; hooks are {', '.join(HOOKS)}")
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {name} must be callable, received {type(fn).__name__}")
            setattr(self, name, fn)

    def get_config(self) -> dict[str, Any]:
        raise TypeError("LambdaCallback holds Python functions, which are never serialized (no code in saved files)")
