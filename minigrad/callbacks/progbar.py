"""ProgbarLogger: a progress bar with ETA and running metrics (verbose=1 on a terminal) or one line per epoch."""
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


def _per_step(seconds: float, steps: int) -> str:
    """Keras' time per step: '12ms/step', '3s/step' or '850us/step'."""
    t = seconds / steps if steps else 0.0
    if t >= 1 or t == 0:
        return f"{t:.0f}s/step"
    return f"{t * 1e3:.0f}ms/step" if t >= 1e-3 else f"{t * 1e6:.0f}us/step"


@register("progbar_logger")
class ProgbarLogger(Callback):
    """Progress for fit (per epoch), evaluate and predict, driven by `params['verbose']`.

    verbose=1 ('auto') draws a bar with steps done, elapsed time, ETA and the running metrics on a
    terminal or in Jupyter; when the output is not a terminal (a redirected, nohup or CI run) it
    prints one line per epoch instead, as Keras' log does there. verbose=2 prints that one line per
    epoch (and per evaluate/predict call) wherever the output goes; verbose=0 prints nothing.

    The bar is tqdm's, on purpose: tqdm is already a dependency (dataset downloads), and it does
    the parts that are easy to get subtly wrong — a smoothed rate and ETA, terminal-width handling,
    throttled redraws (mininterval) so a fast loop is not slowed by printing, and clean output in
    Jupyter — so this class only maps callback hooks onto one bar.
    """

    def __init__(self, file: TextIO | None = None, mininterval: float = 0.1) -> None:
        super().__init__()
        self.file = file
        self.mininterval = float(mininterval)
        self.verbose = 1
        self._bar: Any = None
        self._in_fit = False
        self._start = 0.0
        self._seen = 0

    def get_config(self) -> dict[str, Any]:
        return {"mininterval": self.mininterval}

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)

    # ----- output plumbing
    def _out(self) -> TextIO:
        return self.file if self.file is not None else sys.stdout  # looked up late: tests capture it

    def _interactive(self) -> bool:
        out = self._out()
        isatty = getattr(out, "isatty", None)
        if callable(isatty) and isatty():
            return True
        return out is sys.stdout and "ipykernel" in sys.modules  # Jupyter's stdout is no tty

    def _begin(self, desc: str) -> None:
        self._close()
        self._start, self._seen = time.perf_counter(), 0
        if self.verbose != 1 or not self._interactive():
            return
        from tqdm.auto import tqdm  # imported on use: keeps `import minigrad` light

        self._bar = tqdm(total=self.params.get("steps"), desc=desc, unit="step", file=self._out(),
                         mininterval=self.mininterval, dynamic_ncols=True, leave=True, disable=False)

    def _advance(self, batch: int, logs: Logs) -> None:
        self._seen = batch + 1
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

    def _finish(self, desc: str, logs: Logs) -> None:
        """Close the bar, or write the one summary line: 'desc - 3/3 - 0.2s - 61ms/step - loss: ...'."""
        if self._bar is not None:
            self._close(logs)
            return
        if self.verbose not in (1, 2):
            return
        seconds = time.perf_counter() - self._start
        parts = [desc, f"{self._seen}/{self.params.get('steps') or self._seen}", f"{seconds:.1f}s",
                 _per_step(seconds, self._seen), format_logs(logs)]
        out = self._out()
        out.write(" - ".join(p for p in parts if p) + "\n")
        out.flush()

    def _epoch_desc(self, epoch: int) -> str:
        return f"Epoch {epoch + 1}/{self.params.get('epochs') or '?'}"

    # ----- fit
    def on_train_begin(self, logs: Logs = None) -> None:
        self._in_fit = True

    def on_train_end(self, logs: Logs = None) -> None:
        self._close()
        self._in_fit = False

    def on_epoch_begin(self, epoch: int, logs: Logs = None) -> None:
        self._begin(self._epoch_desc(epoch))

    def on_train_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._advance(batch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs = None) -> None:
        self._finish(self._epoch_desc(epoch), logs)

    # ----- evaluate / predict on their own (inside fit, validation stays silent like Keras)
    def on_test_begin(self, logs: Logs = None) -> None:
        if not self._in_fit:
            self._begin("Evaluate")

    def on_test_batch_end(self, batch: int, logs: Logs = None) -> None:
        if not self._in_fit:
            self._advance(batch, logs)

    def on_test_end(self, logs: Logs = None) -> None:
        if not self._in_fit:
            self._finish("Evaluate", logs)

    def on_predict_begin(self, logs: Logs = None) -> None:
        self._begin("Predict")

    def on_predict_batch_end(self, batch: int, logs: Logs = None) -> None:
        self._advance(batch, None)

    def on_predict_end(self, logs: Logs = None) -> None:
        self._finish("Predict", None)
