"""Looking at training: plot a History, a conv layer's filters and a sample's feature maps to PNG.

matplotlib is an optional extra (`pip install 'minigrad[viz]'`), imported on first use. Figures are
drawn with the Agg canvas directly (no pyplot, no GUI, no global figure registry), saved, and
returned so callers (and tests) can inspect the panels.
"""
from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

__all__ = ["plot_history", "plot_filters", "plot_feature_maps"]

_PANEL_INCHES = 1.6


def _figure(figsize: tuple[float, float]) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("minigrad.viz needs matplotlib, which is not installed: pip install 'minigrad[viz]' "
                          "(or pip install matplotlib)") from e
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)  # Agg regardless of the user's default backend
    return fig


def _save(fig: Any, path: str | os.PathLike, dpi: int) -> Any:
    from minigrad.saving.archive import atomic_write

    # a fixed canvas (no bbox_inches='tight'), so the PNG is exactly figsize * dpi pixels
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi))
    return fig


def _grid(n: int) -> tuple[int, int]:
    """(rows, cols) of a near-square grid holding n panels, wider than tall."""
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def _check_dpi(who: str, dpi: Any) -> int:
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 10 <= dpi <= 1000:
        raise ValueError(f"{who}: dpi must be an int in [10, 1000], received {dpi!r}")
    return dpi


# ----- History
def plot_history(history: Any, path: str | os.PathLike, *, figsize: tuple[float, float] | None = None,
                 dpi: int = 100) -> Any:
    """One panel per quantity (loss, then each metric): train and `val_` curves against the epoch."""
    dpi = _check_dpi("plot_history", dpi)
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ValueError(f"plot_history: expected a History or a non-empty dict of per-epoch lists, received {history!r:.80}")
    names = [k for k in logs if not k.startswith("val_")]
    names += [k[4:] for k in logs if k.startswith("val_") and k[4:] not in names]
    names.sort(key=lambda k: (k != "loss", k))
    epochs = list(getattr(history, "epoch", None) or range(len(next(iter(logs.values())))))
    fig = _figure(figsize or (4.5 * len(names), 3.5))
    for i, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), i + 1)
        for key, label, style in ((name, "train", "-o"), (f"val_{name}", "validation", "--s")):
            if key in logs:
                values = [float(v) for v in logs[key]]
                ax.plot([e + 1 for e in epochs[-len(values):]], values, style, label=label, markersize=3)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path, dpi)


# ----- filters
def _kernel(layer: Any) -> np.ndarray:
    weights = layer.get_weights() if getattr(layer, "built", False) else []
    if not weights or weights[0].ndim not in (3, 4):
        raise ValueError(f"plot_filters: expected a built convolution layer (kernel of rank 3 or 4), "
                         f"received {type(layer).__name__} '{getattr(layer, 'name', '?')}'"
                         + ("" if not weights else f" with a kernel of shape {weights[0].shape}"))
    kernel = weights[0]
    return kernel[None] if kernel.ndim == 3 else kernel  # conv1d (k, in, f) -> (1, k, in, f)


def plot_filters(layer: Any, path: str | os.PathLike, *, input_channel: int | None = None,
                 figsize: tuple[float, float] | None = None, dpi: int = 100) -> Any:
    """One panel per filter of a conv kernel (kh, kw, in, filters); 3 input channels are shown as RGB,
    otherwise `input_channel` (default: the mean over input channels)."""
    dpi = _check_dpi("plot_filters", dpi)
    kernel = _kernel(layer).astype(np.float64)
    n_in, n_filters = kernel.shape[2], kernel.shape[3]
    if input_channel is not None and not (isinstance(input_channel, int) and 0 <= input_channel < n_in):
        raise ValueError(f"plot_filters: input_channel must be an int in [0, {n_in}), received {input_channel!r}")
    rows, cols = _grid(n_filters)
    fig = _figure(figsize or (_PANEL_INCHES * cols, _PANEL_INCHES * rows))
    lo, hi = float(kernel.min()), float(kernel.max())
    for f in range(n_filters):
        ax = fig.add_subplot(rows, cols, f + 1)
        if input_channel is None and n_in == 3:
            rgb = (kernel[..., f] - lo) / (hi - lo or 1.0)  # one scale for all filters, so they compare
            ax.imshow(rgb, interpolation="nearest")
        else:
            panel = kernel[:, :, input_channel, f] if input_channel is not None else kernel[..., f].mean(axis=2)
            ax.imshow(panel, cmap="gray", vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(f"filter {f}", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    return _save(fig, path, dpi)


# ----- feature maps
def _find_layer(model: Any, layer: Any) -> Any:
    found = list(model.layers)
    if isinstance(layer, int) and not isinstance(layer, bool):
        if not -len(found) <= layer < len(found):
            raise ValueError(f"plot_feature_maps: layer index {layer} out of range for {len(found)} layers")
        return found[layer]
    if isinstance(layer, str):
        for candidate in found:
            if candidate.name == layer:
                return candidate
        raise ValueError(f"plot_feature_maps: no layer named {layer!r}; layers: {', '.join(l.name for l in found)}")
    if any(candidate is layer for candidate in found):
        return layer
    raise ValueError(f"plot_feature_maps: {layer!r} is not a layer of model '{model.name}'")


def activations_of(model: Any, sample: np.ndarray, layer: Any) -> np.ndarray:
    """The output of `layer` (object, name or index) when `model` runs on one sample, without its batch axis."""
    from minigrad.tensor import no_grad

    target = _find_layer(model, layer)
    sample = np.asarray(sample, dtype=model._input_dtype())
    expected = tuple(model.input_shapes()[0][1:]) if model.input_shapes() else None
    if expected is not None and sample.shape == expected:
        sample = sample[None]
    if expected is not None and sample.shape != (1, *expected):
        raise ValueError(f"plot_feature_maps: expected one sample of shape {expected} (or {(1, *expected)}), "
                         f"received {sample.shape}")
    captured: list[Any] = []
    original = target.call

    def capture(*args: Any, **kwargs: Any) -> Any:  # the layer's own call, recorded on the way out
        out = original(*args, **kwargs)
        captured.append(out)
        return out

    target.call = capture
    try:
        with no_grad():
            model(sample, training=False)
    finally:
        del target.call  # back to the class method
    return np.asarray(captured[0].data)[0]


def plot_feature_maps(model: Any, sample: np.ndarray, layer: Any, path: str | os.PathLike, *,
                      figsize: tuple[float, float] | None = None, dpi: int = 100) -> Any:
    """One panel per channel of `layer`'s output for one input sample (activation maps)."""
    dpi = _check_dpi("plot_feature_maps", dpi)
    target = _find_layer(model, layer)
    maps = activations_of(model, sample, target).astype(np.float64)
    if maps.ndim not in (2, 3):
        raise ValueError(f"plot_feature_maps: layer '{target.name}' outputs shape {(None, *maps.shape)}; "
                         "feature maps need a 1D or 2D spatial output (a conv or pooling layer)")
    if getattr(target, "data_format", "channels_last") == "channels_first":
        maps = np.moveaxis(maps, 0, -1)
    if maps.ndim == 2:
        maps = maps[None]  # (length, C) -> a 1-pixel-high strip per channel
    rows, cols = _grid(maps.shape[-1])
    fig = _figure(figsize or (_PANEL_INCHES * cols, _PANEL_INCHES * rows))
    for c in range(maps.shape[-1]):
        ax = fig.add_subplot(rows, cols, c + 1)
        ax.imshow(maps[..., c], cmap="viridis", interpolation="nearest")
        ax.set_title(f"{target.name}[{c}]", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    return _save(fig, path, dpi)
