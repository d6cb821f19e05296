"""Where fit/evaluate/predict get batches from (Keras' data adapters and EpochIterator).

Three sources yield (x, y, sample_weight) batches: arrays held in memory (sliced into batch_size
pieces, reshuffled every pass), Python iterables and generators (consumed as they come), and
PyDataset / Sequence-style objects (`__getitem__` per batch, `__len__` batches per epoch). An
EpochIterator bounds every pass by the source's length or by `steps`, so an endless source never
runs (or grows memory) without limit: the data is read lazily, one batch at a time.
"""
from __future__ import annotations

import itertools
import numbers
import warnings
from typing import Any, Iterator

import numpy as np

from minigrad import validation
from minigrad.models import data
from minigrad.random import generator
from minigrad.tensor import Tensor
from minigrad.utils import PyDataset, pack_x_y_sample_weight, unpack_x_y_sample_weight

__all__ = ["kind_of", "ArraySource", "StreamSource", "EpochIterator", "RAN_OUT"]

Batch = Any  # x, (x,), (x, y) or (x, y, sample_weight): what train_step receives

RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your dataset or generator "
           "can generate at least `steps_per_epoch * epochs` batches.")  # Keras' wording, word for word


def kind_of(x: Any) -> str:
    """'arrays' (ndarray, Tensor, list of arrays), 'sequence' (PyDataset-like) or 'iterable' (generator)."""
    if isinstance(x, PyDataset):
        return "sequence"
    if x is None or isinstance(x, (np.ndarray, Tensor, numbers.Number, str, bytes, dict)) or hasattr(x, "__array__"):
        return "arrays"
    if isinstance(x, (list, tuple)):  # a list of (x, y) tuples is a list of batches
        return "iterable" if x and all(isinstance(b, tuple) for b in x) else "arrays"
    if hasattr(x, "__getitem__"):
        return "sequence"
    if hasattr(x, "__iter__") or hasattr(x, "__next__"):
        return "iterable"
    return "arrays"


def source_name(x: Any) -> str:
    """How errors name a batch source: 'PyDataset', 'Python generator', ..."""
    return {"sequence": "PyDataset", "iterable": "Python generator"}.get(kind_of(x), "array")


class ArraySource:
    """Arrays in memory: ceil(N / batch_size) batches, in a new random order each pass if shuffle.

    shuffle='batch' (Keras) keeps the batches in order and shuffles the samples within each one.
    """

    reiterable = True

    def __init__(self, xs: list[np.ndarray], y: np.ndarray | None, sw: np.ndarray | None, batch_size: int,
                 shuffle: Any, dtypes: list[np.dtype]) -> None:
        self.xs, self.y, self.sw = xs, y, sw
        self.batch_size, self.dtypes = batch_size, dtypes
        self.shuffle = shuffle if shuffle == "batch" else bool(shuffle)
        self.num_samples = len(xs[0])
        self.num_batches = -(-self.num_samples // batch_size)

    def _order(self) -> np.ndarray | None:
        n, size = self.num_samples, self.batch_size
        if self.shuffle == "batch":
            return np.concatenate([start + generator().permutation(min(size, n - start))
                                   for start in range(0, n, size)])
        return generator().permutation(n) if self.shuffle else None

    def __iter__(self) -> Iterator[Batch]:
        order = self._order()
        single = len(self.xs) == 1
        for xb, yb, swb in data.batches(self.xs, self.y, self.batch_size, self.dtypes, order, self.sw):
            yield pack_x_y_sample_weight(xb[0] if single else xb, yb, swb)  # (x, y) as Keras packs it

    def on_epoch_begin(self) -> None: ...
    def on_epoch_end(self) -> None: ...


class StreamSource:
    """A generator, an iterable of batches, or a PyDataset/Sequence; each batch checked as it arrives."""

    def __init__(self, model: Any, x: Any, *, shuffle: bool, class_weight: Any, who: str, what: str = "x") -> None:
        self.model, self.obj, self.who, self.what = model, x, who, what
        self.class_weight = class_weight
        self.indexed = kind_of(x) == "sequence"
        self.shuffle = bool(shuffle) and self.indexed  # Keras shuffles a PyDataset's batch order
        self.num_batches = self._length()
        self.reiterable = self.indexed or iter(x) is not x  # a generator can be read only once

    def _length(self) -> int | None:
        obj = self.obj
        if isinstance(obj, PyDataset):
            n = obj.num_batches
        else:
            n = len(obj) if hasattr(obj, "__len__") else None
        if n is not None and (not validation.is_int(n) or n < 0):
            raise ValueError(f"{self.who}: {source_name(obj)} {type(obj).__name__} must report a number of "
                             f"batches >= 0 (or None when endless), received {n!r}")
        return None if n is None else int(n)

    def __iter__(self) -> Iterator[Batch]:
        if not self.indexed:
            for batch in self.obj:
                yield self._standardize(batch)
            return
        if self.num_batches is None:  # endless: the EpochIterator's steps bound it
            for i in itertools.count():
                try:
                    batch = self.obj[i]
                except IndexError:  # an old-style sequence ends the way Python's iteration does
                    return
                yield self._standardize(batch)
        n = self.num_batches
        for i in (generator().permutation(n) if self.shuffle else range(n)):
            yield self._standardize(self.obj[int(i)])

    def on_epoch_begin(self) -> None:
        hook = getattr(self.obj, "on_epoch_begin", None)
        if callable(hook):
            hook()

    def on_epoch_end(self) -> None:
        hook = getattr(self.obj, "on_epoch_end", None)
        if callable(hook):
            hook()

    def _standardize(self, batch: Any) -> Batch:
        """Check one batch against the model (building it from the first) and convert its dtypes."""
        model, who, what = self.model, self.who, self.what
        if isinstance(batch, dict):  # Keras: a dict is never split into x, y and weights
            raise TypeError(f"{who}: batches must be tuples (x,), (x, y) or (x, y, sample_weight) (x may be a "
                            "dict of named inputs); received a dict")
        try:
            x, y, sw = unpack_x_y_sample_weight(batch)
        except ValueError:
            raise ValueError(f"{who}: each batch must be x, (x,), (x, y) or (x, y, sample_weight); received a "
                             f"tuple of length {len(batch)} from the {source_name(self.obj)}") from None
        xs = data.as_arrays(model._prepare(x, y, who), model._n_inputs(), who, f"{what} batch x", finite=False)
        model._ensure_built([(None,) + a.shape[1:] for a in xs])
        model._check_input_shapes(xs, who)
        xs = [np.ascontiguousarray(a, dtype=d) for a, d in zip(xs, model._input_dtypes())]
        n = len(xs[0])
        if y is not None:
            y = data.check_labels(y, n, who, f"{what} batch y", finite=False)
            if y.dtype.kind == "f" and y.dtype != xs[0].dtype:
                y = y.astype(xs[0].dtype)
        if self.class_weight is not None:
            if sw is not None:
                raise ValueError(f"{who}: you cannot specify class_weight and sample_weight at the same time "
                                 "(the batches carry sample weights)")
            if y is None:
                raise ValueError(f"{who}: class_weight needs targets, but the batches have no y")
            sw = data.class_weight_to_sample_weight(y, self.class_weight, who)
        elif sw is not None:
            sw = data.check_sample_weight(sw, n, who, f"{what} batch sample_weight", finite=False)
        return pack_x_y_sample_weight(xs[0] if len(xs) == 1 else xs, y, sw)


class EpochIterator:
    """Keras' epoch loop over a source: a full pass per epoch, or exactly `steps` batches per epoch.

    With steps, the pass continues across epochs where the last one stopped and restarts only once
    the source is used up, as Keras does. A source that runs out early ends the epoch with Keras'
    warning; a one-shot generator then also asks fit to stop (it has nothing left to give).
    """

    def __init__(self, source: Any, steps: int | None, steps_name: str = "steps") -> None:
        if steps is None and getattr(source, "indexed", False) and source.num_batches is None:
            raise ValueError(f"{source.who}: {source.what} is a {source_name(source.obj)} without a length "
                             f"(no __len__, num_batches None), so it never ends; pass {steps_name}= to bound "
                             "each pass (Keras would iterate forever)")
        self.source, self.steps = source, steps
        self._it: Iterator[Batch] | None = None
        self._seen = 0
        self.exhausted = False

    @property
    def num_batches(self) -> int | None:
        """Batches per epoch if known (steps, else the source's length)."""
        return self.steps or self.source.num_batches

    def epoch(self) -> Iterator[tuple[int, Batch]]:
        """(step, batch) pairs of one epoch, with the source's on_epoch_begin/on_epoch_end around them."""
        source, n, done, ran_out = self.source, self.source.num_batches, 0, False
        source.on_epoch_begin()
        if self.steps is None:
            for done, batch in enumerate(source, 1):
                yield done - 1, batch
            ran_out = done == 0
        else:
            if self._it is None:
                self._it, self._seen = iter(source), 0
            for step in range(self.steps):
                batch = None if n is not None and self._seen >= n else next(self._it, None)
                if batch is None:
                    ran_out, self._it = True, None
                    break
                self._seen += 1
                yield step, batch
            if n is not None and self._seen >= n:
                self._it = None
        self.exhausted = ran_out and not source.reiterable
        if ran_out:
            warnings.warn(RAN_OUT, UserWarning, stacklevel=3)
        source.on_epoch_end()
