"""TensorBoard: write scalars (and optionally weight histograms) as TensorBoard event files."""
from __future__ import annotations

import os
import warnings
from typing import Any

from minigrad import validation
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

    `embeddings_freq=N` writes, every N epochs, the Projector data of every layer that holds an
    `embeddings` weight (Keras' Embedding layer does; minigrad has no built-in one, so this is for
    plugin or custom layers, and a model without such a layer gets a warning, not silence).
    `embeddings_metadata` is a TSV of row labels for all of them, or {layer name: TSV path}.
    Keras' `write_graph`, `write_images`, `write_steps_per_second` and `profile_batch` are
    accepted; minigrad has no TensorFlow graph or profiler, so a non-default value warns.
    """

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False,
                 update_freq: str | int = "epoch", profile_batch: Any = 0, embeddings_freq: int = 0,
                 embeddings_metadata: Any = None) -> None:
        super().__init__()
        self._writer_cls = _summary_writer_class()  # fail at construction, before any training
        histogram_freq = validation.integer(histogram_freq, "TensorBoard", "histogram_freq", low=0)
        embeddings_freq = validation.integer(embeddings_freq, "TensorBoard", "embeddings_freq", low=0)
        if embeddings_metadata is not None and not isinstance(embeddings_metadata, (str, os.PathLike, dict)):
            raise TypeError(f"TensorBoard: embeddings_metadata must be a TSV path or a dict of layer name -> "
                            f"path, received {type(embeddings_metadata).__name__}")
        for name, value, default in (("write_images", write_images, False), ("profile_batch", profile_batch, 0),
                                     ("write_steps_per_second", write_steps_per_second, False)):
            if value != default:
                warnings.warn(f"TensorBoard: {name}={value!r} is a TensorFlow feature minigrad does not have; "
                              "ignored", UserWarning, stacklevel=2)
        self.write_graph = bool(write_graph)  # there is no TensorFlow graph to write; kept for get_config
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        update_freq = validation.frequency(update_freq, "TensorBoard", "update_freq", ("epoch", "batch"))
        update_freq = 1 if update_freq == "batch" else update_freq
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.update_freq = update_freq
        self._writers: dict[str, Any] = {}
        self._embedding_layers: list[Any] = []
        self._global_step = 0

    def get_config(self) -> dict[str, Any]:
        return {"log_dir": self.log_dir, "histogram_freq": self.histogram_freq, "update_freq": self.update_freq,
                "write_graph": self.write_graph, "embeddings_freq": self.embeddings_freq,
                "embeddings_metadata": self.embeddings_metadata}

    def _writer(self, run: str) -> Any:
        if run not in self._writers:
            self._writers[run] = self._writer_cls(logdir=os.path.join(self.log_dir, run))
        return self._writers[run]

    def on_train_begin(self, logs: Logs = None) -> None:
        self._global_step = 0
        self._embedding_layers = self._find_embeddings() if self.embeddings_freq else []

    def _find_embeddings(self) -> list[Any]:
        """Layers with an `embeddings` weight, checked against embeddings_metadata as Keras does."""
        found = [layer for layer in getattr(self.model, "layers", []) if hasattr(layer, "embeddings")]
        if isinstance(self.embeddings_metadata, dict):
            unknown = sorted(set(self.embeddings_metadata) - {layer.name for layer in found})
            if unknown:
                raise ValueError(f"TensorBoard: unrecognized Embedding layer names in embeddings_metadata: "
                                 f"{unknown}; layers with embeddings: {[layer.name for layer in found]}")
        if not found:
            warnings.warn(f"TensorBoard: embeddings_freq={self.embeddings_freq} but the model has no layer with "
                          "an `embeddings` weight (Keras' Embedding; minigrad has no built-in one), so no "
                          "embeddings are written", UserWarning, stacklevel=2)
        return found

    def _metadata(self, layer: Any, rows: int) -> list[str] | None:
        meta = self.embeddings_metadata
        path = meta.get(layer.name) if isinstance(meta, dict) else meta
        if path is None:
            return None
        with open(os.fspath(path), encoding="utf-8") as f:
            labels = [line.rstrip("\n") for line in f]
        if len(labels) != rows:
            raise ValueError(f"TensorBoard: embeddings_metadata {os.fspath(path)!r} has {len(labels)} lines but "
                             f"layer '{layer.name}' has {rows} embedding rows (one label per row)")
        return labels

    def _write_embeddings(self, epoch: int) -> None:
        writer = self._writer("train")
        for layer in self._embedding_layers:
            mat = layer.embeddings.numpy()
            writer.add_embedding(mat, metadata=self._metadata(layer, len(mat)), tag=layer.name, global_step=epoch)

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
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._write_embeddings(epoch)
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
