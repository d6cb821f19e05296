"""WeightStatsLogger: per-epoch statistics of every trainable weight (in memory, optionally CSV)."""
from __future__ import annotations

import csv
from typing import Any

import numpy as np

from minigrad.callbacks import Callback

__all__ = ["WeightStatsLogger"]

FIELDS = ("epoch", "weight", "mean", "std", "max_abs")


class WeightStatsLogger(Callback):
    """After every `every` epochs, records mean, std and max |w| of each trainable weight in
    `self.records` (a list of dicts) and, when `path` is given, appends them to that CSV file."""

    def __init__(self, path: str | None = None, every: int = 1) -> None:
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"WeightStatsLogger: every must be a positive int, received {every!r}")
        self.path, self.every = path, every
        self.records: list[dict[str, Any]] = []

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.path is not None:
            with open(self.path, "w", newline="") as f:
                csv.writer(f).writerow(FIELDS)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if (epoch + 1) % self.every:
            return
        rows = []
        for w in self.model.trainable_weights:
            data = np.asarray(w.data, dtype=np.float64)
            rows.append({"epoch": epoch, "weight": w.name, "mean": float(data.mean()),
                         "std": float(data.std()), "max_abs": float(np.abs(data).max())})
        self.records += rows
        if self.path is not None:
            with open(self.path, "a", newline="") as f:
                csv.DictWriter(f, FIELDS).writerows(rows)

    def get_config(self) -> dict[str, Any]:
        return {"path": self.path, "every": self.every}
