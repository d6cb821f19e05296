"""minigrad: a small, fast deep-learning framework with a Cython core.

Public API only; no plugin and no heavy optional library is imported here.
"""
from minigrad import ops
from minigrad.random import set_seed
from minigrad.tensor import Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled, tensor
from minigrad.threads import get_blas_threads, get_num_threads, openmp_available, set_num_threads
from minigrad import activations, constraints, initializers, layers, regularizers
from minigrad import models
from minigrad import losses, metrics, optimizers
from minigrad import callbacks, saving
from minigrad import distributed  # imports no MPI library until distributed.init()
from minigrad.saving import load_model
from minigrad.models import Model, Sequential
from minigrad.layers import Input, Layer
from minigrad import utils
from minigrad.utils import to_categorical

from minigrad._version import __version__  # re-exported

__all__ = [
    "Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "ops",
    "set_num_threads", "get_num_threads", "get_blas_threads", "openmp_available", "set_seed",
    "models", "Model", "Sequential", "Input", "Layer", "utils", "to_categorical",
    "layers", "initializers", "activations", "regularizers", "constraints",
    "optimizers", "losses", "metrics",
    "callbacks", "saving", "load_model", "distributed",
]
