"""GaborConv2D: a Conv2D whose kernel starts as a Gabor filter bank and is frozen by default."""
from __future__ import annotations

from typing import Any

from minigrad.layers import Conv2D

from minigrad_gabor.initializers import Gabor

__all__ = ["GaborConv2D"]


class GaborConv2D(Conv2D):
    """Conv2D with kernel_initializer=Gabor() (any initializer may replace it); with frozen=True the
    kernel is non-trainable (a fixed oriented edge/texture front end) and only the bias learns."""

    example_config = {"filters": 4, "kernel_size": 3, "activation": "mish"}
    example_input_shape = (2, 6, 6, 2)

    def __init__(self, filters: int, kernel_size: Any, *, frozen: bool = True, kernel_initializer: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(filters, kernel_size, kernel_initializer=kernel_initializer or Gabor(), **kwargs)
        if kernel_initializer is None and min(self.kernel_size) < 3:  # a Gabor filter needs 3x3 or more
            raise ValueError(f"GaborConv2D '{self.name}': the Gabor kernel needs kernel_size >= 3, received "
                             f"{kernel_size!r} (pass another kernel_initializer for smaller kernels)")
        self.frozen = bool(frozen)

    def build(self, input_shape: Any) -> None:
        super().build(input_shape)
        if self.frozen:
            self.kernel.trainable = False

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "frozen": self.frozen}
