"""TensorBoard: write scalars (and optionally weight histograms) as TensorBoard event files."""
from __future__ import annotations

import os
from typing import Any

from minigrad.callbacks.base import Callback, Logs, register


def _summary_writer_class() -> Any:
    try:
        from tensorboardX import SummaryWriter
    except ImportError as e:
        raise ImportError(
            "minigrad.callbacks.TensorBoard writes event files with tensorboardX, which is not "
            "installed: pip install 'minigrad-cython[tensorboard]' (or pip install 'tensorboardX>=2.6')"
        ) from e
    return SummaryWriter


@register("tensorboard", aliases=("tensor_board",))
class TensorBoard(Callback):
    """Keras TensorBoard layout: `log_dir/train` and `log_dir/validation` runs with `epoch_<metric>`
    scalars (validation keys without their `val_` prefix, so both runs share one chart), plus
    `epoch_learning_rate` in train.

    `update_freq='batch'` or an int N also writes `batch_<metric>` every N train batches (global step);
    `histogram_freq=N` writes a histogram of every weight every N epochs. tensorboardX is the writer:
    a small, maintained library that produces the real protobuf/TFRecord event files without
    pulling in TensorFlow.
    """

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0,
                 update_freq: str | int = "epoch") -> None:
        super().__init__()
        self._writer_cls = _summary_writer_class()  # fail at construction, before any training
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be an int >= 0, received {histogram_freq!r}")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or an int >= 1, received {update_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.update_freq = update_freq
        self._writers: dict[str, Any] = {}
        self._global_step = 0

    def get_config(self) -> dict[str, Any]:
        return {"log_dir": self.log_dir, "histogram_freq": self.histogram_freq, "update_freq": self.update_freq}

    def _writer(self, run: str) -> Any:
        if run not in self._writers:
            self._writers[run] = self._writer_cls(logdir=os.path.join(self.log_dir, run))
        return self._writers[run]

    def on_train_begin(self, logs: Logs = None) -> None:
        self._global_step = 0

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._global_step += 1
        if self.update_freq == "epoch" or self._global_step % self.update_freq:
            return
        writer = self._writer("train")
        for key, value in _scalars(logs):
            writer.add_scalar(f"batch_{key}", value, self._global_step)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        logs = dict(logs or {})
        optimizer = getattr(self.model, "optimizer", None)
        if "learning_rate" not in logs and optimizer is not None and hasattr(optimizer, "learning_rate"):
            logs["learning_rate"] = optimizer.learning_rate  # as Keras: the lr curve sits beside the loss
        for key, value in _scalars(logs):
            run, name = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            self._writer(run).add_scalar(f"epoch_{name}", value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            writer = self._writer("train")
            for i, weight in enumerate(getattr(self.model, "weights", [])):
                name = getattr(weight, "name", None) or f"weight_{i}"
                writer.add_histogram(f"{name}/histogram", weight.numpy(), epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs: Logs = None) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


def _scalars(logs: Logs) -> list[tuple[str, float]]:
    out = []
    for key, value in (logs or {}).items():
        try:
            out.append((key, float(value)))
        except (TypeError, ValueError):
            continue
    return out
