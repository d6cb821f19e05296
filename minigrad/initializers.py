"""Weight initializers (Keras names and rules), drawing from minigrad's global generator.

`initializer(shape, dtype="float32") -> np.ndarray`. Fans follow Keras: a 2-D kernel (in, out) has
fan_in = in, fan_out = out; a conv kernel (..., in, out) multiplies both by its receptive field size.
With `seed=None` draws come from `minigrad.random.generator()` (reproducible under
`minigrad.set_seed`); with an int seed every call returns the same values, as in Keras 3.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from minigrad import random as _random
from minigrad import validation
from minigrad.registry import Registry

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal",
    "VarianceScaling", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform",
    "LecunNormal", "Orthogonal", "Identity", "compute_fans", "registry", "register", "get",
    "serialize", "deserialize",
]


def _is_initializer(obj: Any) -> bool:
    return (isinstance(obj, type) and issubclass(obj, Initializer)) or callable(obj)


registry = Registry("initializers", validate=_is_initializer)


def register(name: str, *, aliases: tuple[str, ...] = (), override: bool = False):
    """Class decorator: register an Initializer under a snake_case name (its class name also resolves)."""
    def decorate(cls: type) -> type:
        registry.register(name, cls, aliases=aliases, override=override)
        return cls
    return decorate


def compute_fans(shape: Sequence[int]) -> tuple[int, int]:
    """(fan_in, fan_out): (in, out) for 2-D; receptive field * channels for conv kernels (..., in, out)."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer:
    """Base class: __call__(shape, dtype) -> ndarray; get_config() -> constructor kwargs."""

    seed: int | None = None

    def __call__(self, shape: Sequence[int], dtype: Any = "float32") -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}: __call__ is not implemented")

    def _rng(self) -> np.random.Generator:
        return _random.generator() if self.seed is None else np.random.default_rng(self.seed)

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _truncated(rng: np.random.Generator, shape: tuple[int, ...], mean: float, stddev: float) -> np.ndarray:
    """Normal samples, redrawing those beyond two standard deviations (as Keras does)."""
    z = rng.standard_normal(shape)
    bad = np.abs(z) > 2.0
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2.0
    return mean + stddev * z


@register("zeros")
class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape: Sequence[int], dtype: Any = "float32") -> np.ndarray:
        return np.zeros(tuple(shape), dtype=dtype)


@register("ones")
class Ones(Initializer):
    """All ones."""

    def __call__(self, shape: Sequence[int], dtype: Any = "float32") -> np.ndarray:
        return np.ones(tuple(shape), dtype=dtype)


@register("constant")
class Constant(Initializer):
    """A scalar or a given array (e.g. a fixed Sobel filter), broadcast to the weight's shape."""

    def __init__(self, value: Any = 0.0) -> None:
        array = np.asarray(value, dtype=np.float64)
        if not np.isfinite(array).all():
            raise ValueError(f"Constant initializer: value must be finite, received {value!r}")
        self.value = array

    def __call__(self, shape: Sequence[int], dtype: Any = "float32") -> np.ndarray:
        shape = tuple(shape)
        try:
            return np.broadcast_to(self.value, shape).astype(dtype)
        except ValueError:
            raise ValueError(f"Constant initializer: value of shape {self.value.shape} does not fit a "
                             f"weight of shape {shape}") from None

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value.item() if self.value.ndim == 0 else self.value.tolist()}


@register("random_normal")
class RandomNormal(Initializer):
    """Normal(mean, stddev)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev = float(mean), validation.real(stddev, "RandomNormal", "stddev", low=0)
        self.seed = validation.integer(seed, "RandomNormal", "seed", low=0, none=True)

    def __call__(self, shape: Sequence[int], dtype: Any = "float32") -> np.ndarray:
        return self._rng().normal(self.mean, self.stddev, tuple(shape)).astype(dtype)

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


@register("random_uniform")
class RandomUniform(Initializer):
    """Uniform[minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        if not minval <= maxval:
            raise ValueError(f"RandomUniform: minval must be <= maxval, received {minval!r} > {maxval!r}")
        self.minval, self.maxval = float(minval), float(maxval)
        self.seed = validation.integer(seed, "RandomUniform", "seed", low=0, none=True)

    def __call__(self, shape: Sequence[int], dtype: Any = "float32") -> np.ndarray:
        return self._rng().uniform(self.minval, self.maxval, tuple(shape)).astype(dtype)

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


@register("truncated_normal")
class TruncatedNormal(Initializer):
    """Normal(mean, stddev) with values beyond 2 stddev redrawn."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        self.mean, self.stddev = float(mean), validation.real(stddev, "TruncatedNormal", "stddev", low=0)
        self.seed = validation.integer(seed, "TruncatedNormal", "seed", low=0, none=True)

    def __call__(self, shape: Sequence[int], dtype: Any = "float32") -> np.ndarray:
        return _truncated(self._rng(), tuple(shape), self.mean, self.stddev).astype(dtype)

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


@register("variance_scaling")
class VarianceScaling(Initializer):
    """Samples with variance scale / n, n = fan_in, fan_out or their mean (mode)."""

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None) -> None:
        name = type(self).__name__
        self.scale = validation.real(scale, name, "scale", low=0, low_open=True)
        self.mode = validation.choice(mode, self._MODES, name, "mode")
        distribution = "truncated_normal" if distribution == "normal" else distribution
        self.distribution = validation.choice(distribution, self._DISTRIBUTIONS, name, "distribution")
        self.seed = validation.integer(seed, name, "seed", low=0, none=True)

    def __call__(self, shape: Sequence[int], dtype: Any = "float32") -> np.ndarray:
        shape = tuple(shape)
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            # 0.8796... is the stddev of a unit normal truncated at +-2: undo the shrinkage
            values = _truncated(rng, shape, 0.0, math.sqrt(variance) / 0.87962566103423978)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(variance), shape)
        else:
            limit = math.sqrt(3.0 * variance)
            values = rng.uniform(-limit, limit, shape)
        return values.astype(dtype)

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _preset(name: str, snake: str, scale: float, mode: str, distribution: str) -> type:
    """A VarianceScaling subclass with fixed parameters and only `seed` configurable."""
    def __init__(self, seed: int | None = None) -> None:
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}

    doc = f"VarianceScaling(scale={scale}, mode='{mode}', distribution='{distribution}')."
    cls = type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc,
                                           "__module__": __name__})
    return register(snake)(cls)


GlorotUniform = _preset("GlorotUniform", "glorot_uniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _preset("GlorotNormal", "glorot_normal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _preset("HeUniform", "he_uniform", 2.0, "fan_in", "uniform")
HeNormal = _preset("HeNormal", "he_normal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _preset("LecunUniform", "lecun_uniform", 1.0, "fan_in", "uniform")
LecunNormal = _preset("LecunNormal", "lecun_normal", 1.0, "fan_in", "truncated_normal")


@register("orthogonal")
class Orthogonal(Initializer):
    """gain * an orthogonal matrix (QR of a normal draw), reshaped to (..., out) for conv kernels."""

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        self.gain, self.seed = float(gain), validation.integer(seed, "Orthogonal", "seed", low=0, none=True)

    def __call__(self, shape: Sequence[int], dtype: Any = "float32") -> np.ndarray:
        shape = tuple(shape)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal initializer: needs a shape of rank >= 2, received {shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))  # sign fix makes the distribution uniform (Haar)
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape).astype(dtype)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, "seed": self.seed}


@register("identity")
class Identity(Initializer):
    """gain * the identity matrix (2-D shapes only)."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = float(gain)

    def __call__(self, shape: Sequence[int], dtype: Any = "float32") -> np.ndarray:
        if len(shape) != 2:
            raise ValueError(f"Identity initializer: needs a 2-D shape, received {tuple(shape)}")
        return (self.gain * np.eye(*shape)).astype(dtype)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}


def get(identifier: Any) -> Any:
    """None, an Initializer, a class, a name or a serialized dict -> an initializer (or None)."""
    return registry.resolve(identifier, Initializer)


serialize = registry.serialize
deserialize = registry.deserialize
