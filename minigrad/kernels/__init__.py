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

# activations, softmax, softmax cross-entropy and pooling (their own __all__ lists the names)
from minigrad.kernels import activation as _activation_kernels, pool as _pool_kernels  # noqa: E402
from minigrad.kernels.activation import *  # noqa: E402,F401,F403
from minigrad.kernels.pool import *  # noqa: E402,F401,F403

__all__ += _activation_kernels.__all__ + _pool_kernels.__all__
from minigrad.kernels.optim import *  # noqa: E402,F401,F403  (fused optimizer updates)
from minigrad.kernels import optim as _optim_kernels  # noqa: E402
__all__ += _optim_kernels.__all__
