"""ProgbarLogger: a progress bar with ETA and running metrics (verbose=1) or one line per epoch (2)."""
from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from minigrad.callbacks.base import Callback, Logs, register


def format_logs(logs: Logs) -> str:
    """Keras style 'loss: 0.1234 - accuracy: 0.9000' (tiny values in scientific notation)."""
    parts = []
    for key, value in (logs or {}).items():
        try:
            v = float(value)
        except (TypeError, ValueError):
            continue
        parts.append(f"{key}: {v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{key}: {v:.4e}")
    return " - ".join(parts)


@register("progbar_logger")
class ProgbarLogger(Callback):
    """Progress for fit (per epoch), evaluate and predict, driven by `params['verbose']`.

    verbose=1 draws a bar with steps done, elapsed time, ETA and the running metrics, and stays
    silent when `file` is not a terminal (logs and CI stay clean); verbose=2 prints one line per
    epoch whatever the output is; verbose=0 prints nothing.

    The bar is tqdm's, on purpose: tqdm is already a dependency (dataset downloads), and it does
    the parts that are easy to get subtly wrong — a smoothed rate and ETA, terminal-width handling,
    throttled redraws (mininterval) so a fast loop is not slowed by printing, non-TTY detection, and
    clean output in Jupyter — so this class only maps callback hooks onto one bar.
    """

    def __init__(self, file: TextIO | None = None, mininterval: float = 0.1) -> None:
        super().__init__()
        self.file = file
        self.mininterval = float(mininterval)
        self.verbose = 1
        self._bar: Any = None
        self._in_fit = False
        self._epoch_start = 0.0

    def get_config(self) -> dict[str, Any]:
        return {"mininterval": self.mininterval}

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)

    # ----- bar plumbing
    def _out(self) -> TextIO:
        return self.file if self.file is not None else sys.stdout  # looked up late: tests capture it

    def _open(self, desc: str) -> None:
        from tqdm.auto import tqdm  # imported on use: keeps `import minigrad` light

        self._close()
        self._bar = tqdm(
            total=self.params.get("steps"), desc=desc, unit="step", file=self._out(),
            mininterval=self.mininterval, dynamic_ncols=True, leave=True,
            disable=None,  # None: silent when the output is not a terminal
        )

    def _advance(self, batch: int, logs: Logs) -> None:
        if self._bar is None:
            return
        self._bar.update(batch + 1 - self._bar.n)
        text = format_logs(logs)
        if text:
            self._bar.set_postfix_str(text, refresh=False)

    def _close(self, logs: Logs = None) -> None:
        if self._bar is None:
            return
        text = format_logs(logs)
        if text:
            self._bar.set_postfix_str(text, refresh=False)
        self._bar.close()
        self._bar = None

    # ----- fit
    def on_train_begin(self, logs: Logs = None) -> None:
        self._in_fit = True

    def on_train_end(self, logs: Logs = None) -> None:
        self._close()
        self._in_fit = False

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._epoch_start = time.perf_counter()
        if self.verbose == 1:
            self._open(f"Epoch {epoch + 1}/{self.params.get('epochs') or '?'}")

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._advance(batch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        if self.verbose == 1:
            self._close(logs)
        elif self.verbose == 2:
            seconds = time.perf_counter() - self._epoch_start
            line = f"Epoch {epoch + 1}/{self.params.get('epochs') or '?'} - {seconds:.1f}s"
            text = format_logs(logs)
            out = self._out()
            out.write(line + (f" - {text}" if text else "") + "\n")
            out.flush()

    # ----- evaluate / predict on their own (inside fit, validation stays silent like Keras)
    def on_test_begin(self, logs: Logs = None) -> None:
        if not self._in_fit and self.verbose == 1:
            self._open("Evaluate")

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        if not self._in_fit:
            self._advance(batch, logs)

    def on_test_end(self, logs: Logs = None) -> None:
        if not self._in_fit:
            self._close(logs)

    def on_predict_begin(self, logs: Logs = None) -> None:
        if self.verbose == 1:
            self._open("Predict")

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._advance(batch, None)

    def on_predict_end(self, logs: Logs = None) -> None:
        self._close()
