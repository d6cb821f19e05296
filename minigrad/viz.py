"""Looking at training: plot a History, a conv layer's filters and a sample's feature maps to PNG.

matplotlib is an optional extra (`pip install 'minigrad-cython[viz]'`), imported on first use. Figures are
drawn with the Agg canvas directly (no pyplot, no GUI, no global figure registry), saved, and
returned so callers (and tests) can inspect the panels.
"""
from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from minigrad import validation

__all__ = ["plot_history", "plot_filters", "plot_feature_maps", "plot_receptive_field"]

_PANEL_INCHES = 1.6
_MAP_INCHES = 0.42


def _figure(figsize: tuple[float, float]) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("minigrad.viz needs matplotlib, which is not installed: pip install 'minigrad-cython[viz]' "
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


# ----- History
def plot_history(history: Any, path: str | os.PathLike, *, figsize: tuple[float, float] | None = None,
                 dpi: int = 100) -> Any:
    """One panel per quantity (loss, then each metric): train and `val_` curves against the epoch."""
    dpi = validation.integer(dpi, "plot_history", "dpi", low=10, high=1000)
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
    dpi = validation.integer(dpi, "plot_filters", "dpi", low=10, high=1000)
    kernel = _kernel(layer).astype(np.float64)
    n_in, n_filters = kernel.shape[2], kernel.shape[3]
    input_channel = validation.integer(input_channel, "plot_filters", "input_channel", low=0, high=n_in - 1, none=True)
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
    if validation.is_int(layer):
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


def _conv_layers(model: Any) -> list[Any]:
    return [l for l in model.layers if "kernel_size" in l.get_config()]


def _mosaic(maps: np.ndarray, cols: int) -> np.ndarray:
    """(H, W, C) maps tiled row by row into one image, a 1-pixel NaN gap between maps (small maps
    are first repeated to about 12 pixels, so the gap stays thin beside them)."""
    scale = max(1, 12 // max(maps.shape[:2]))
    maps = maps.repeat(scale, axis=0).repeat(scale, axis=1)
    h, w, n = maps.shape
    rows = math.ceil(n / cols)
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for c in range(n):
        r, q = divmod(c, cols)
        out[r * (h + 1):r * (h + 1) + h, q * (w + 1):q * (w + 1) + w] = maps[..., c]
    return out


def _spatial_maps(target: Any, maps: np.ndarray) -> np.ndarray:
    if maps.ndim not in (2, 3):
        raise ValueError(f"plot_feature_maps: layer '{target.name}' outputs shape {(None, *maps.shape)}; "
                         "feature maps need a 1D or 2D spatial output (a conv or pooling layer)")
    if getattr(target, "data_format", "channels_last") == "channels_first":
        maps = np.moveaxis(maps, 0, -1)
    return maps[None] if maps.ndim == 2 else maps  # (length, C) -> a 1-pixel-high strip per channel


def plot_feature_maps(model: Any, sample: np.ndarray, layer: Any, path: str | os.PathLike, *,
                      figsize: tuple[float, float] | None = None, dpi: int = 100,
                      title: str = "input") -> Any:
    """The input sample beside the activation maps of `layer` (a layer, name, index or a list of
    them; None: every conv layer): one mosaic per layer, each with its own colour scale."""
    dpi = validation.integer(dpi, "plot_feature_maps", "dpi", low=10, high=1000)
    chosen = _conv_layers(model) if layer is None else layer if isinstance(layer, list) else [layer]
    targets = [_find_layer(model, one) for one in chosen]
    if not targets:
        raise ValueError(f"plot_feature_maps: model '{model.name}' has no conv layer; pass `layer`")
    blocks = []
    for target in targets:
        maps = _spatial_maps(target, activations_of(model, sample, target).astype(np.float64))
        cols = min(maps.shape[-1], 16)
        mosaic = _mosaic(maps, cols)
        width = _MAP_INCHES * cols  # sized to the content: a fixed size per map, whatever its pixels
        height = max(width * mosaic.shape[0] / mosaic.shape[1], 0.3)
        caption = (f"{target.name}: {maps.shape[-1]} maps of {maps.shape[0]}×{maps.shape[1]}"
                   + (f", channel = {cols}·row + column" if maps.shape[-1] > cols else ""))
        blocks.append((mosaic, width, height, caption))
    left, title_h, bar = 2.0, 0.4, 0.8  # inches: the input panel, a caption, the colour bar
    fig_w = left + max(b[1] for b in blocks) + bar
    fig_h = sum(b[2] + title_h for b in blocks) + 0.2 * len(blocks) + 0.1
    fig = _figure(figsize or (fig_w, max(fig_h, 2.2)))
    box = _Inches(fig_w, max(fig_h, 2.2))
    ax = fig.add_axes(box(0.15, box.height - title_h - 1.6, 1.6, 1.6))
    ax.imshow(_image(sample, targets[0]), cmap="gray", interpolation="nearest")
    _plain(ax, title)
    y = box.height
    for mosaic, width, height, caption in blocks:
        y -= title_h + height
        ax = fig.add_axes(box(left, y, width, height))
        finite = mosaic[np.isfinite(mosaic)]
        im = ax.imshow(np.ma.masked_invalid(mosaic), cmap="viridis", interpolation="nearest",
                       aspect="auto", vmin=min(float(finite.min()), 0.0),
                       vmax=max(float(finite.max()), 1e-12))
        _plain(ax, caption, loc="left")
        fig.colorbar(im, cax=fig.add_axes(box(left + width + 0.1, y, 0.12, height)))
        y -= 0.2
    return _save(fig, path, dpi)


class _Inches:
    """Axes rectangles given in inches from the bottom left of a layout of width x height inches
    (scaled onto the figure, so a caller's figsize still fits everything)."""

    def __init__(self, width: float, height: float) -> None:
        self.width, self.height = width, height

    def __call__(self, x: float, y: float, w: float, h: float) -> list[float]:
        return [x / self.width, y / self.height, w / self.width, h / self.height]


def _plain(ax: Any, title: str, loc: str = "center", fontsize: int = 8) -> None:
    ax.set_title(title, fontsize=fontsize, loc=loc)
    ax.set_xticks([])
    ax.set_yticks([])


def _image(sample: np.ndarray, layer: Any) -> np.ndarray:
    """One sample as a 2-D grey image (channels averaged) or (H, W, 3) RGB, for display."""
    image = np.squeeze(np.asarray(sample, dtype=np.float64))
    if image.ndim == 3 and image.shape[-1] != 3:
        first = getattr(layer, "data_format", "channels_last") == "channels_first"
        image = image.mean(axis=0 if first else -1)
    return image if image.ndim >= 2 else image[None]


# ----- receptive field
def _field(model: Any, with_pooling: bool) -> tuple[str, tuple[int, ...], list[tuple[int, int]]]:
    """(last conv layer, its centre neuron, [first, last] input pixel per axis that neuron sees)."""
    from minigrad.models import summary

    rows = model._graph()
    size = list(rows[0].shape[1:3])
    chain = []  # (kernel, stride, pad before) per axis of every window layer up to the last conv
    for row in rows[1:]:
        if len(row.shape) != 4 or row.layer.get_config().get("data_format") == "channels_first":
            break  # leaves the 2-D channels_last stack (Flatten, Dense, global pooling)
        window = summary._window(row.layer, 2)
        if window is None or ("pool_size" in row.layer.get_config() and not with_pooling):
            continue
        same = row.layer.get_config().get("padding") == "same"
        step = []
        for axis, (k, st) in enumerate(zip(*window)):
            out = -(-size[axis] // st) if same else (size[axis] - k) // st + 1
            step.append((k, st, max((out - 1) * st + k - size[axis], 0) // 2))
            size[axis] = out
        chain.append((row.name, "kernel_size" in row.layer.get_config(), step, tuple(size)))
    while chain and not chain[-1][1]:
        chain.pop()  # the field is that of the last conv layer, not of a pooling after it
    if not chain:
        raise ValueError(f"plot_receptive_field: model '{model.name}' has no 2-D channels_last conv layer")
    centre = tuple((n - 1) // 2 for n in chain[-1][3])
    span = [[c, c] for c in centre]
    for _, _, step, _ in reversed(chain):
        for axis, (k, st, pad) in enumerate(step):
            span[axis] = [span[axis][0] * st - pad, span[axis][1] * st - pad + k - 1]
    return chain[-1][0], centre, [tuple(s) for s in span]


def plot_receptive_field(model: Any, sample: np.ndarray, path: str | os.PathLike, *,
                         dpi: int = 100) -> Any:
    """The input sample with the pixels one neuron (the centre one) of the last conv layer sees, for
    the model as it is and for its conv layers alone (no pooling)."""
    dpi = validation.integer(dpi, "plot_receptive_field", "dpi", low=10, high=1000)
    image = _image(sample, None)
    fig = _figure((7.2, 4.4))
    from matplotlib.patches import Rectangle

    for i, with_pooling in enumerate((True, False)):
        name, centre, span = _field(model, with_pooling)
        (top, bottom), (left, right) = span
        h, w = bottom - top + 1, right - left + 1
        seen = (min(bottom, image.shape[0] - 1) - max(top, 0) + 1) * \
            (min(right, image.shape[1] - 1) - max(left, 0) + 1)
        ax = fig.add_axes([0.05 + 0.5 * i, 0.03, 0.42, 0.74])
        ax.imshow(image, cmap="gray", interpolation="nearest")
        ax.add_patch(Rectangle((left - 0.5, top - 0.5), w, h, facecolor=(1.0, 0.2, 0.1, 0.25),
                               edgecolor="red", linewidth=2))
        # a field reaching past the image (zero padding) is drawn whole, over a white margin
        ax.set_xlim(min(left, 0) - 0.5, max(right, image.shape[1] - 1) + 0.5)
        ax.set_ylim(max(bottom, image.shape[0] - 1) + 0.5, min(top, 0) - 0.5)
        inside = f", {seen} inside the image" if seen != h * w else ""
        _plain(ax, f"{'with the pooling layers' if with_pooling else 'conv layers alone, no pooling'}"
                   f"\none neuron of {name} sees {h}×{w} = {h * w} pixels\n"
                   f"({seen / image.size:.1%} of the {image.shape[0]}×{image.shape[1]} input{inside})",
               loc="left", fontsize=9)
    return _save(fig, path, dpi)
