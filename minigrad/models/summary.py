"""model.summary() table, per-layer FLOPs and receptive fields, from layer configs and shapes.

Receptive fields follow the usual recurrences: a layer with kernel k, stride s and dilation d has
effective kernel k' = d*(k-1)+1; going up, r_out = r_in + (k'-1)*j_in and j_out = j_in*s (j is
the distance between neighbouring outputs measured in input pixels); going down from one neuron
of a target layer, the region it sees in the layer below is (region-1)*s + k'.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

from minigrad.models.data import shape_str

__all__ = ["GraphRow", "ReceptiveField", "summary_lines", "receptive_fields", "layer_flops"]


class GraphRow(NamedTuple):
    """One output of the model graph: the layer that made it (None for an input), its input rows, its shape."""

    name: str
    layer: Any
    inputs: tuple[int, ...]
    shape: tuple[int | None, ...]


class ReceptiveField(NamedTuple):
    """One spatial layer: output size, input pixels one of its neurons sees, and that region's share.

    `seen_by_target` is the region of this layer's output that one neuron of the target layer (by
    default the last spatial layer) depends on, None for layers the target does not depend on.
    """

    layer: str
    output_size: tuple[int, ...]
    receptive_field: tuple[int, ...]
    share: float
    seen_by_target: tuple[int, ...] | None


def _config(layer: Any) -> dict[str, Any]:
    return layer.get_config() if layer is not None else {}


def _tuple(value: Any, rank: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * rank


def _window(layer: Any, rank: int) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """(effective kernel, stride) per spatial axis for conv/pooling layers, else None."""
    config = _config(layer)
    if "kernel_size" in config:
        k = _tuple(config["kernel_size"], rank)
        d = _tuple(config.get("dilation_rate", 1), rank)
        s = _tuple(config.get("strides", 1), rank)
        return tuple(di * (ki - 1) + 1 for ki, di in zip(k, d)), s
    if "pool_size" in config:
        k = _tuple(config["pool_size"], rank)
        strides = config.get("strides")
        return k, (k if strides is None else _tuple(strides, rank))
    return None


def _spatial_layout(rows: list[GraphRow]) -> tuple[int, str] | None:
    """(number of spatial axes, data_format) from the first conv/pooling layer, None if there is none."""
    for row in rows:
        config = _config(row.layer)
        size = config.get("kernel_size", config.get("pool_size"))
        if size is not None:
            rank = len(size) if isinstance(size, (tuple, list)) else len(row.shape) - 2
            return rank, config.get("data_format") or "channels_last"
    return None


def _spatial(shape: tuple | None, rank: int, data_format: str) -> tuple[int, ...] | None:
    if shape is None or len(shape) != rank + 2 or any(d is None for d in shape[1:]):
        return None
    return tuple(shape[2:] if data_format == "channels_first" else shape[1:-1])


def receptive_fields(model: Any, target: str | None = None) -> list[ReceptiveField]:
    """One row per spatial output (input included): see ReceptiveField."""
    rows = model._graph()
    layout = _spatial_layout(rows)
    if layout is None:
        raise ValueError(f"receptive_fields: model '{model.name}' has no convolution or pooling layer")
    rank, data_format = layout
    sizes = [_spatial(r.shape, rank, data_format) for r in rows]
    rf: list[tuple[int, ...] | None] = [None] * len(rows)
    jump: list[tuple[int, ...] | None] = [None] * len(rows)
    for i, row in enumerate(rows):
        if sizes[i] is None:
            continue
        if not row.inputs:
            rf[i], jump[i] = (1,) * rank, (1,) * rank
            continue
        ins = [j for j in row.inputs if rf[j] is not None]
        if not ins:
            continue
        r_in = tuple(max(rf[j][a] for j in ins) for a in range(rank))
        j_in = tuple(max(jump[j][a] for j in ins) for a in range(rank))
        k, s = _window(row.layer, rank) or ((1,) * rank, (1,) * rank)
        rf[i] = tuple(r + (ka - 1) * ja for r, ka, ja in zip(r_in, k, j_in))
        jump[i] = tuple(ja * sa for ja, sa in zip(j_in, s))
    spatial_rows = [i for i in range(len(rows)) if rf[i] is not None]
    names = [r.name for r in rows]
    if target is None:
        t = spatial_rows[-1]
    elif target in names and names.index(target) in spatial_rows:
        t = len(names) - 1 - names[::-1].index(target)
    else:
        raise ValueError(f"receptive_fields: target must name a layer with a spatial output, one of "
                         f"{[names[i] for i in spatial_rows]}; received {target!r}")
    seen = _seen_by(rows, rf, t, rank)
    input_area = math.prod(sizes[0]) if sizes[0] else None
    out = []
    for i in spatial_rows:
        covered = math.prod(min(r, n) for r, n in zip(rf[i], sizes[0])) if input_area else 0
        out.append(ReceptiveField(names[i], sizes[i], rf[i], covered / input_area if input_area else 0.0,
                                  seen[i]))
    return out


def _seen_by(rows: list[GraphRow], rf: list, t: int, rank: int) -> list[tuple[int, ...] | None]:
    """Region of each row's output that one neuron of row t depends on (walking inputs downward)."""
    seen: list[tuple[int, ...] | None] = [None] * len(rows)
    seen[t] = (1,) * rank
    for i in range(t, -1, -1):
        if seen[i] is None or not rows[i].inputs:
            continue
        k, s = _window(rows[i].layer, rank) or ((1,) * rank, (1,) * rank)
        below = tuple((r - 1) * sa + ka for r, sa, ka in zip(seen[i], s, k))
        for j in rows[i].inputs:
            if rf[j] is not None:
                seen[j] = below if seen[j] is None else tuple(map(max, seen[j], below))
    return seen


def layer_flops(row: GraphRow, rows: list[GraphRow]) -> int:
    """Forward FLOPs per sample: 2 per multiply-add (+1 per bias) in layers with a kernel; one
    operation per window element in pooling layers (per input element in global pooling); 0 for
    other layers (activations, merges, normalization are not counted)."""
    layer, out = row.layer, row.shape
    if layer is None or out is None or any(d is None for d in out[1:]):
        return 0
    out_elems = math.prod(out[1:])
    config = _config(layer)
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        kernel = getattr(layer, "depthwise_kernel", None)
    if kernel is not None:
        channel_axis = 1 if config.get("data_format") == "channels_first" else -1
        macs = out_elems * kernel.data.size // out[channel_axis]
        return 2 * macs + (out_elems if getattr(layer, "bias", None) is not None else 0)
    if "pool_size" in config:
        return out_elems * math.prod(_tuple(config["pool_size"], len(out) - 2))
    if type(layer).__name__.startswith("Global") and row.inputs:  # one op per input element
        return math.prod(rows[row.inputs[0]].shape[1:])
    return 0


def _fmt(n: int) -> str:
    return f"{n:,}"


def _cells(model: Any, rows: list[GraphRow], shown: list[int], show_flops: bool,
           show_receptive_field: bool, functional: bool) -> list[list[str]]:
    """One list of column texts per shown row."""
    fields: dict[str, ReceptiveField] = {}
    if show_receptive_field:
        try:
            fields = {f.layer: f for f in receptive_fields(model)}
        except ValueError:  # no conv/pooling layer: every row shows '-'
            fields = {}
    cells = []
    for i in shown:
        r = rows[i]
        kind = "InputLayer" if r.layer is None else type(r.layer).__name__
        if kind == "Model" and r.layer._is_graph():
            kind = "Functional"  # Keras 3's name for a nested functional model
        shape = "?" if r.shape is None else shape_str(r.shape)  # a subclassed model's layers: unknown, as Keras
        params = "0" if r.layer is None else _fmt(r.layer.count_params()) if r.layer.built else "0 (unbuilt)"
        line = [f"{r.name} ({kind})", shape, params]
        if show_flops:
            line.append(_fmt(layer_flops(r, rows)))
        if show_receptive_field:
            f = fields.get(r.name)
            line.append("-" if f is None else "x".join(map(str, f.receptive_field)) + f" ({f.share:.1%})")
        if functional:
            line.append(", ".join(rows[j].name for j in r.inputs))
        cells.append(line)
    return cells


def summary_lines(model: Any, *, line_length: int | None = None, show_flops: bool = False,
                  show_receptive_field: bool = False) -> list[str]:
    """The lines of model.summary(): Keras' table, then parameter (and FLOP) totals."""
    rows = model._graph()
    # Keras lists inputs and links only for functional models
    functional = model._is_graph() and type(model).__name__ != "Sequential"
    shown = [i for i, r in enumerate(rows) if r.layer is not None or functional]
    cells = _cells(model, rows, shown, show_flops, show_receptive_field, functional)
    columns = [("Layer (type)", 33), ("Output Shape", 26), ("Param #", 12)]
    columns += [("FLOPs", 14)] * show_flops + [("Receptive field", 20)] * show_receptive_field
    columns += [("Connected to", 24)] * functional
    headers = [h for h, _ in columns]
    widths = [max([w, len(h) + 2] + [len(c[k]) + 2 for c in cells]) for k, (h, w) in enumerate(columns)]
    total = sum(widths) if line_length is None else max(line_length, sum(widths))

    def fmt(values: list[str]) -> str:
        return "".join(f" {v}".ljust(w) for v, w in zip(values, widths)).rstrip()

    trainable = sum(w.data.size for w in model.trainable_weights)
    non_trainable = sum(w.data.size for w in model.non_trainable_weights)
    lines = [f'Model: "{model.name}"', "_" * total, fmt(headers), "=" * total]
    lines += [fmt(c) for c in cells] + ["=" * total]
    lines += [f"Total params: {_fmt(trainable + non_trainable)}", f"Trainable params: {_fmt(trainable)}",
              f"Non-trainable params: {_fmt(non_trainable)}"]
    if show_flops:
        lines.append(f"Total FLOPs per sample (forward): {_fmt(sum(layer_flops(rows[i], rows) for i in shown))}")
    return lines + ["_" * total]
