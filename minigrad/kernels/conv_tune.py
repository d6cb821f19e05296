"""Kernel choice by measurement, like cuDNN's benchmark mode or FFTW's wisdom, but on by default.

The first call of a plan in each direction (forward, input gradient, weight gradient) runs every
eligible path on its real arrays (one untimed run, then the best of two timed runs: milliseconds,
once) and keeps the fastest. Decisions persist in a JSON file under the user cache directory
($MINIGRAD_CACHE_DIR, else $XDG_CACHE_HOME/minigrad, else ~/.cache/minigrad), keyed by CPU model,
ISA level, build and geometry, so another process does not measure again. The file is read
defensively: anything malformed is ignored with a warning, and it only ever holds path names.
force_path() / MINIGRAD_CONV_ALGO turn measurement off.
"""
from __future__ import annotations

import json
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable

from minigrad._ext import _conv
from minigrad.kernels.conv_plan import PATHS, ConvPlan

__all__ = ["tune", "cache_file", "cpu_model"]

_FILE = "conv-choices-v1.json"
_MAX_BYTES = 1 << 20  # a larger file is not ours to parse
_MAX_ENTRIES = 2000   # geometries kept per machine key (the oldest go first)
_REPEATS = 2
_choices: dict[str, dict[str, str]] | None = None  # geometry key -> direction -> path, this machine


def cache_file() -> Path:
    """Where the decisions persist."""
    root = os.environ.get("MINIGRAD_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = os.path.join(xdg, "minigrad") if xdg else os.path.join(Path.home(), ".cache", "minigrad")
    return Path(root) / _FILE


def cpu_model() -> str:
    """The CPU's model name, with family and model numbers where Linux reports them."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip().lower(), value.strip())
                if not line.strip():
                    break  # the first processor is enough
    except OSError:
        pass
    name = fields.get("model name") or fields.get("hardware") or platform.processor() or "unknown"
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return name


def _machine_key() -> str:
    from minigrad._version import __version__

    built = os.stat(_conv.__file__)  # a rebuilt extension may choose differently
    return f"{cpu_model()}|{_conv.isa()}|minigrad {__version__}|{built.st_size}-{built.st_mtime_ns}"


def _geometry_key(p: ConvPlan) -> str:
    return (f"{p.in_shape}|{p.w_shape}|{p.dtype.char}|{p.kernel_strides()}|{p.pads}|"
            f"{p.kernel_dilation()}|{p.groups}|{p.n_threads}|{p.chunk}")


def _read() -> dict:
    """The whole file's JSON, {} when absent; malformed content warns and reads as {}."""
    path = cache_file()
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise ValueError(f"larger than {_MAX_BYTES} bytes")
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict) or not all(
                isinstance(k, str) and isinstance(v, dict) for k, v in document.items()):
            raise ValueError("not an object of objects")
        return document
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        warnings.warn(f"minigrad: ignoring the conv choice cache {path}: {exc}", RuntimeWarning,
                      stacklevel=4)
        return {}


def _load() -> dict[str, dict[str, str]]:
    global _choices
    if _choices is None:
        raw = _read().get(_machine_key(), {})
        _choices = {g: {d: p for d, p in dirs.items() if isinstance(d, str) and p in PATHS}
                    for g, dirs in raw.items() if isinstance(g, str) and isinstance(dirs, dict)}
    return _choices


def _store(geometry: str, direction: str, path: str) -> None:
    choices = _load()
    choices.setdefault(geometry, {})[direction] = path
    while len(choices) > _MAX_ENTRIES:
        choices.pop(next(iter(choices)))
    document = _read()
    document[_machine_key()] = choices
    target = cache_file()
    try:  # atomically: a concurrent reader sees the old file or the new one, never half of one
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".conv-choices-", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(document, f)
        os.replace(tmp, target)
    except OSError as exc:  # a read-only home is no reason to fail a training step
        warnings.warn(f"minigrad: cannot save the conv choice cache {target}: {exc}",
                      RuntimeWarning, stacklevel=3)


def _time(run: Callable[[], None]) -> float:
    run()  # untimed: pages in the workspace, warms the caches
    best = float("inf")
    for _ in range(_REPEATS):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def tune(p: ConvPlan, direction: str, run: Callable[[], None]) -> None:
    """Choose p's path for `direction` once: from the cache file, else by timing `run` (which
    runs the kernel of that direction by p's current path) on each eligible path."""
    options = p.eligible[direction]
    if direction in p.measured or p.forced is not None or p.in_shape[0] == 0:
        return
    p.measured[direction] = {}
    if len(options) < 2:
        return
    geometry = _geometry_key(p)
    cached = _load().get(geometry, {}).get(direction)
    if cached in options:
        p._choose(direction, cached, f"measured before (cache {cache_file().name})")
        return
    times = {}
    for path in options:
        p._choose(direction, path, "measuring")
        times[path] = _time(run)
    best = min(times, key=times.__getitem__)
    p.measured[direction] = {k: v * 1e3 for k, v in times.items()}
    p._choose(direction, best, "measured: " + ", ".join(
        f"{k} {v * 1e3:.2f} ms" for k, v in sorted(times.items(), key=lambda kv: kv[1])))
    _store(geometry, direction, best)
