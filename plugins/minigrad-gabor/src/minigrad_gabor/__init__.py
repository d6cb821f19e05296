"""minigrad-gabor: an example minigrad plugin (Gabor-initialised convolution and friends).

This module imports nothing: minigrad loads each submodule through its entry point only when one
of its names ('gabor_conv2d', 'soft_threshold', 'mish', ...) is first used.
"""

__version__ = "0.1.0"
