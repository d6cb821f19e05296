"""Small data utilities with Keras' names (keras.utils): to_categorical, PyDataset/Sequence, data packing."""
from __future__ import annotations

from typing import Any

import numpy as np

from minigrad import validation

__all__ = ["to_categorical", "PyDataset", "Sequence", "unpack_x_y_sample_weight", "pack_x_y_sample_weight"]


def to_categorical(y: Any, num_classes: int | None = None, dtype: Any = "float32") -> np.ndarray:
    """One-hot encode integer class labels: shape y.shape + (num_classes,) (a trailing 1 is dropped)."""
    labels = np.asarray(y)
    if labels.dtype.kind not in "iuf":
        raise TypeError(f"to_categorical: expected integer class labels, received dtype {labels.dtype}")
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all() or not np.array_equal(labels, np.round(labels)):
            raise ValueError("to_categorical: labels must be whole numbers; received non-integer, "
                             "NaN or infinite values")
    labels = labels.astype(np.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]  # Keras treats (N, 1) labels as (N,)
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0, received {labels.min()}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    else:
        num_classes = validation.integer(num_classes, "to_categorical", "num_classes", low=1)
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"to_categorical: label {labels.max()} is out of range for "
                         f"num_classes={num_classes} (labels must be < num_classes)")
    out = np.zeros(labels.shape + (int(num_classes),), dtype=dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


class PyDataset:
    """Keras' PyDataset: `__getitem__(i)` returns batch i as `(x,)`, `(x, y)` or `(x, y, sample_weight)`.

    `__len__` (or the `num_batches` property) gives the number of batches per epoch; None means
    an endless dataset, which `fit`/`evaluate`/`predict` iterate only with `steps_per_epoch`/`steps`.
    `on_epoch_begin`/`on_epoch_end` run around every epoch. `workers`, `use_multiprocessing` and
    `max_queue_size` are accepted and kept for Keras compatibility, but minigrad reads every batch in
    the training thread (its kernels already use the cores), so they do not change how data is read.
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10) -> None:
        self._workers = validation.integer(workers, "PyDataset", "workers", low=0)
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = validation.integer(max_queue_size, "PyDataset", "max_queue_size", low=0)

    workers = property(lambda self: getattr(self, "_workers", 1), doc="Keras' worker count (unused: one thread).")
    use_multiprocessing = property(lambda self: getattr(self, "_use_multiprocessing", False),
                                   doc="Keras' multiprocessing flag (unused).")
    max_queue_size = property(lambda self: getattr(self, "_max_queue_size", 10), doc="Keras' queue size (unused).")

    def __getitem__(self, index: int) -> Any:
        """Batch number `index`."""
        raise NotImplementedError(f"{type(self).__name__}: a PyDataset must implement __getitem__(index)")

    @property
    def num_batches(self) -> int | None:
        """Batches per epoch: len(self); override it to return None for an endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__}: implement __len__ (batches per epoch) or the "
                                  "num_batches property (None for an endless dataset)")

    def on_epoch_begin(self) -> None:
        """Called before every epoch."""

    def on_epoch_end(self) -> None:
        """Called after every epoch (shuffle your indices here)."""


Sequence = PyDataset  # keras.utils.Sequence is the same class in Keras 3


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """`x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` -> (x, y or None, sample_weight or None)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if 1 <= len(data) <= 3:
        return (tuple(data) + (None, None))[:3]
    raise ValueError(f"unpack_x_y_sample_weight: expected x, (x,), (x, y) or (x, y, sample_weight), "
                     f"received a tuple of length {len(data)}")


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """Inverse of unpack_x_y_sample_weight: x alone (or (x,) for a list), (x, y) or (x, y, sample_weight)."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    return (x, y) if sample_weight is None else (x, y, sample_weight)
