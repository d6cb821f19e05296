"""Gabor: a bank of oriented Gabor filters for conv kernels (kh, kw, in, filters)."""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from minigrad.initializers import Initializer

__all__ = ["Gabor", "gabor_filter"]


def gabor_filter(kh: int, kw: int, theta: float, wavelength: float, sigma: float, gamma: float,
                 phase: float) -> np.ndarray:
    """exp(-(x'^2 + gamma^2 y'^2) / (2 sigma^2)) * cos(2 pi x' / wavelength + phase), x' along theta."""
    y, x = np.mgrid[0:kh, 0:kw].astype(np.float64)
    y, x = y - (kh - 1) / 2, x - (kw - 1) / 2
    xr = x * math.cos(theta) + y * math.sin(theta)
    yr = -x * math.sin(theta) + y * math.cos(theta)
    return np.exp(-(xr**2 + gamma**2 * yr**2) / (2 * sigma**2)) * np.cos(2 * math.pi * xr / wavelength + phase)


class Gabor(Initializer):
    """Filter f: orientation pi * (f % orientations) / orientations, wavelength wavelengths[f // orientations
    % len]; each (kh, kw) filter has zero mean and unit L2 norm, divided by sqrt(in_channels)."""

    def __init__(self, orientations: int = 4, wavelengths: Sequence[float] = (2.5, 4.0),
                 sigma: float | None = None, gamma: float = 0.5, phase: float = 0.0) -> None:
        if isinstance(orientations, bool) or not isinstance(orientations, int) or orientations < 1:
            raise ValueError(f"Gabor: orientations must be a positive int, received {orientations!r}")
        wavelengths = [float(w) for w in wavelengths]
        if not wavelengths or min(wavelengths) < 2.0:
            raise ValueError(f"Gabor: wavelengths must be a non-empty list of floats >= 2 (the Nyquist "
                             f"limit, in pixels), received {wavelengths!r}")
        if sigma is not None and not sigma > 0:
            raise ValueError(f"Gabor: sigma must be > 0 or None, received {sigma!r}")
        if not gamma > 0:
            raise ValueError(f"Gabor: gamma (aspect ratio) must be > 0, received {gamma!r}")
        self.orientations, self.wavelengths = orientations, wavelengths
        self.sigma, self.gamma, self.phase = sigma, float(gamma), float(phase)

    def __call__(self, shape: Sequence[int], dtype: Any = "float32") -> np.ndarray:
        shape = tuple(int(s) for s in shape)
        if len(shape) != 4 or shape[0] < 3 or shape[1] < 3:
            raise ValueError(f"Gabor: needs a conv kernel shape (kh, kw, in, filters) with kh, kw >= 3, "
                             f"received {shape}")
        kh, kw, channels, filters = shape
        kernel = np.empty(shape, dtype=np.float64)
        for f in range(filters):
            theta = math.pi * (f % self.orientations) / self.orientations
            wavelength = self.wavelengths[(f // self.orientations) % len(self.wavelengths)]
            sigma = self.sigma or 0.56 * wavelength  # about one octave of bandwidth
            g = gabor_filter(kh, kw, theta, wavelength, sigma, self.gamma, self.phase)
            g -= g.mean()  # no response to constant regions
            norm = np.linalg.norm(g)
            if norm > 0:
                g /= norm
            kernel[:, :, :, f] = g[:, :, None] / math.sqrt(channels)
        return kernel.astype(dtype)

    def get_config(self) -> dict[str, Any]:
        return {"orientations": self.orientations, "wavelengths": list(self.wavelengths),
                "sigma": self.sigma, "gamma": self.gamma, "phase": self.phase}
