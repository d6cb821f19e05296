"""Validated kernel entry points (compiled in minigrad._ext); NumPy twins live in kernels.reference."""
from minigrad.kernels.conv import (
    conv1d_backward,
    conv1d_forward,
    conv2d_backward,
    conv2d_forward,
    conv_output_size,
    same_padding,
)

__all__ = [
    "conv1d_backward",
    "conv1d_forward",
    "conv2d_backward",
    "conv2d_forward",
    "conv_output_size",
    "same_padding",
]
