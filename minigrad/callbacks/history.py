"""History: every epoch's logs, the object fit returns (also set as model.history)."""
from __future__ import annotations

from typing import Any

from minigrad.callbacks.base import Callback, Logs, register


@register("history")
class History(Callback):
    """Records `epoch` (indices) and `history[name]` (one value per epoch) from epoch-end logs."""

    def __init__(self) -> None:
        super().__init__()
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}

    def on_train_begin(self, logs: Logs = None) -> None:
        self.epoch = []  # like Keras: indices restart, values of a reused History accumulate

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self.epoch.append(int(epoch))
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(_plain(value))
        if self.model is not None:
            self.model.history = self  # the latest state is what fit returns

    def get_state(self) -> dict[str, Any]:
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()}}

    def set_state(self, state: dict[str, Any]) -> None:
        self.epoch = [int(e) for e in state.get("epoch", [])]
        self.history = {k: list(v) for k, v in state.get("history", {}).items()}
        if self.model is not None:
            self.model.history = self

    def __repr__(self) -> str:
        return f"<History epochs={len(self.epoch)} keys={sorted(self.history)}>"


def _plain(value: Any) -> Any:
    """NumPy scalars -> Python numbers, so a History round-trips through JSON unchanged."""
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "ndim", 1) == 0:
        return item()
    return value
