"""CSVLogger: one CSV row of epoch logs per epoch."""
from __future__ import annotations

import csv
import os
import warnings
from typing import Any

from minigrad import validation
from minigrad.callbacks.base import Callback, Logs, register


@register("csv_logger")
class CSVLogger(Callback):
    """Keras CSVLogger: columns `epoch` then the sorted log keys; `append=True` continues a file
    (writing the header only if the file is empty). Each row is flushed as it is written; resumed by
    BackupAndRestore, it continues its file from the backed-up row instead of starting it over.
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger: separator must be a single character, received {separator!r}")
        self.filename = validation.path(filename, "CSVLogger", "filename")
        self.separator = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self._offset: int | None = None  # bytes written so far, for BackupAndRestore
        self._resume_offset: int | None = None
        self._write_header = True

    def get_config(self) -> dict[str, Any]:
        return {"filename": self.filename, "separator": self.separator, "append": self.append}

    def on_train_begin(self, logs: Logs = None) -> None:
        self.keys, self._offset, self._resume_offset = None, None, None

    def _start_file(self) -> str:
        """Prepare the file at the first row; returns the open mode for the rows that follow."""
        if self._resume_offset is not None:  # BackupAndRestore: drop rows written after the backup
            with open(self.filename, "r+b") as f:
                f.truncate(self._resume_offset)
            self._write_header = False
            return "a"
        exists = os.path.exists(self.filename)
        self._write_header = not (self.append and exists and os.path.getsize(self.filename) > 0)
        if self.append and exists and not self._write_header:
            with open(self.filename, newline="") as f:  # keep the existing columns
                header = next(csv.reader(f, delimiter=self.separator), [])
            self.keys = [k for k in header if k != "epoch"] or None
        return "a" if self.append else "w"

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        logs = logs or {}
        mode = self._start_file() if self._offset is None else "a"
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                # validation may start later (validation_freq); keep its columns from the start
                self.keys += [f"val_{k}" for k in self.keys]
        # opened per row: nothing stays open between epochs, so a crash leaves no dangling handle
        with open(self.filename, mode, newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["epoch", *self.keys], delimiter=self.separator,
                                    extrasaction="ignore")
            if self._offset is None and self._write_header:
                writer.writeheader()
            writer.writerow({"epoch": epoch, **{k: _cell(logs.get(k, "NA")) for k in self.keys}})
            f.flush()
            self._offset = f.tell()

    def get_state(self) -> dict[str, Any]:
        return {} if self._offset is None else {"offset": self._offset, "keys": self.keys}

    def set_state(self, state: dict[str, Any]) -> None:
        offset = int(state["offset"])
        if not os.path.exists(self.filename) or os.path.getsize(self.filename) < offset:
            warnings.warn(f"CSVLogger: {self.filename} is shorter than at the backup; starting it afresh",
                          RuntimeWarning, stacklevel=2)
            return
        self._resume_offset, self.keys = offset, list(state["keys"])


def _cell(value: Any) -> Any:
    """Scalars as plain numbers; sequences quoted as '[a, b]' like Keras."""
    if hasattr(value, "ndim") and getattr(value, "ndim", 0) == 0:
        return value.item()
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        items = value.tolist() if hasattr(value, "tolist") else value
        return f'"[{", ".join(map(str, items))}]"'
    return value
