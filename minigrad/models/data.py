"""Checking and batching the arrays given to fit/evaluate/predict (done once per call, not per step)."""
from __future__ import annotations

import math
from typing import Any, Iterator, Sequence

import numpy as np

from minigrad import validation
from minigrad.distributed import _state as _distributed  # hook: each rank its shard of a batch
from minigrad.tensor import Tensor

__all__ = ["as_arrays", "check_labels", "check_batch_size", "resolve_verbose", "split_validation",
           "batches", "shape_str"]

Arrays = list[np.ndarray]


def shape_str(shape: Sequence[int | None]) -> str:
    """'(None, 28, 28, 1)' — the way Keras prints shapes."""
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _all_finite(arr: np.ndarray, chunk_bytes: int = 1 << 24) -> bool:
    """np.isfinite(arr).all() in slices along the batch axis, so a big x needs no full-size mask."""
    rows = max(1, chunk_bytes // max(1, arr[:1].nbytes))
    return all(np.isfinite(arr[i:i + rows]).all() for i in range(0, len(arr), rows))


def _as_array(value: Any, who: str, what: str, finite: bool = True) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.data
    if value is None:
        raise ValueError(f"{who}: {what} is required, received None")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:  # ragged lists
        raise ValueError(f"{who}: {what} must be an array of numbers, received {type(value).__name__} "
                         f"that does not convert ({e})") from None
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{who}: {what} must hold numbers, received dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(f"{who}: {what} must have a batch axis, received a scalar")
    if arr.shape[0] == 0:
        raise ValueError(f"{who}: {what} is empty (shape {arr.shape}); there is nothing to "
                         "train on or evaluate")
    if finite and arr.dtype.kind == "f" and not _all_finite(arr):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{who}: {what} contains {bad} NaN or infinite value(s); clean or impute "
                         "the data first (training on them would turn every weight into NaN)")
    return arr


def as_arrays(x: Any, n_inputs: int, who: str, what: str = "x", finite: bool = True) -> Arrays:
    """One checked ndarray per model input, all with the same number of samples.

    finite=False skips the NaN/inf scan: streamed batches are not scanned (TerminateOnNaN catches them).
    """
    if n_inputs == 1 and isinstance(x, (list, tuple)) and len(x) == 1 and isinstance(x[0], (np.ndarray, Tensor)):
        x = x[0]  # [array] for a one-input model, as Keras accepts
    if n_inputs == 1:
        arrays = [_as_array(x, who, what, finite)]
    elif not isinstance(x, (list, tuple)) or len(x) != n_inputs:
        given = f"{len(x)} arrays" if isinstance(x, (list, tuple)) else type(x).__name__
        raise ValueError(f"{who}: the model has {n_inputs} inputs, so {what} must be a list of "
                         f"{n_inputs} arrays; received {given}")
    else:
        arrays = [_as_array(v, who, f"{what}[{i}]", finite) for i, v in enumerate(x)]
    lengths = {len(a) for a in arrays}
    if len(lengths) > 1:
        raise ValueError(f"{who}: all inputs must have the same number of samples, received "
                         f"{[len(a) for a in arrays]}")
    return arrays


def check_labels(y: Any, n_samples: int, who: str, what: str = "y", finite: bool = True) -> np.ndarray:
    """The label array, checked for emptiness, NaN/inf and a length equal to x's."""
    arr = _as_array(y, who, what, finite)
    if len(arr) != n_samples:
        raise ValueError(f"{who}: x and {what} must have the same number of samples, received "
                         f"{n_samples} inputs and {len(arr)} labels")
    return arr


def check_batch_size(batch_size: Any, who: str, default: int = 32) -> int:
    """A positive int; None means Keras' default of 32 (or `default`)."""
    if batch_size is None:
        return default
    return validation.integer(batch_size, who, "batch_size", low=1)


def resolve_verbose(verbose: Any, who: str) -> int:
    """'auto' -> 1 (progress bar); 0 silent, 1 progress bar, 2 one line per epoch."""
    verbose = validation.choice(verbose, ("auto", 0, 1, 2), who, "verbose")
    return 1 if verbose == "auto" else verbose


def split_validation(xs: Arrays, y: np.ndarray | None, sw: np.ndarray | None, fraction: Any, who: str) -> tuple[tuple, tuple]:
    """Keras' validation_split: ((xs, y, sw) kept, (xs, y, sw) held out), the last `fraction` before shuffling."""
    fraction = validation.real(fraction, who, "validation_split", low=0, high=1, low_open=True, high_open=True)
    n = len(xs[0])
    n_train = int(math.floor(n * (1.0 - fraction)))
    if n_train == 0 or n_train == n:
        raise ValueError(f"{who}: validation_split={fraction} of {n} samples leaves "
                         f"{n_train} for training and {n - n_train} for validation; both need at least one")

    def part(sel: slice) -> tuple:
        return [a[sel] for a in xs], None if y is None else y[sel], None if sw is None else sw[sel]

    return part(slice(None, n_train)), part(slice(n_train, None))


def batches(xs: Arrays, y: np.ndarray | None, batch_size: int, dtypes: list[np.dtype],
            order: np.ndarray | None = None, sw: np.ndarray | None = None
            ) -> Iterator[tuple[Arrays, np.ndarray | None, np.ndarray | None]]:
    """(inputs, labels, sample weights) per batch; inputs converted once to their dtype, C-contiguous."""
    dtype = dtypes[0]
    n = len(xs[0])
    for start in range(0, n, batch_size):
        if order is None:
            sel: Any = slice(start, start + batch_size)
        else:
            sel = order[start:start + batch_size]
        if y is not None and _distributed.world is not None:  # hook (minigrad.distributed): shard
            sel = _distributed.world.shard(sel, n)
        xb = [np.ascontiguousarray(a[sel], dtype=d) for a, d in zip(xs, dtypes)]
        yb = None if y is None else y[sel]
        if yb is not None and yb.dtype.kind == "f" and yb.dtype != dtype:
            yb = yb.astype(dtype)
        yield xb, yb, None if sw is None else sw[sel]


def check_sample_weight(sample_weight: Any, n_samples: int, who: str, what: str = "sample_weight",
                        finite: bool = True) -> np.ndarray:
    """Per-sample weights (N,) or per-timestep weights (N, T); a trailing axis of 1 is dropped, as Keras."""
    w = _as_array(sample_weight, who, what, finite)
    if len(w) != n_samples:
        raise ValueError(f"{who}: x and {what} must have the same number of samples, received "
                         f"{n_samples} inputs and {len(w)} weights")
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    return w if w.dtype.kind == "f" else w.astype(np.float32)


def class_weight_to_sample_weight(y: np.ndarray, class_weight: Any, who: str) -> np.ndarray:
    """Keras' class_weight: each sample weighs class_weight[its class] (1.0 for a class not listed).

    The class is y itself for integer labels (N,) or (N, 1), and argmax(y) for one-hot rows (N, C).
    """
    if not (hasattr(class_weight, "items") and hasattr(class_weight, "get")):
        raise ValueError(f"{who}: class_weight must be a dict mapping class indices to weights, received "
                         f"{type(class_weight).__name__}")
    table: dict[int, float] = {}
    for key, value in class_weight.items():
        try:
            table[int(key)] = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{who}: class_weight must map integer class indices to numbers, received "
                             f"the entry {key!r}: {value!r}") from None
    if y.ndim > 2:
        raise ValueError(f"{who}: class_weight is not supported for targets of rank 3 or more (as in Keras); "
                         f"received y of shape {y.shape}; pass a per-timestep sample_weight instead")
    labels = y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else (y.argmax(axis=-1) if y.ndim == 2 else y)
    labels = np.round(labels).astype(np.int64)
    weights = np.ones(len(labels), dtype=np.float32)
    for cls, value in table.items():
        weights[labels == cls] = value
    return weights
