"""minigrad: a small, fast deep-learning framework with a Cython core.

Public API only; no plugin and no heavy optional library is imported here.
"""
import os as _os

# Idle OpenMP threads sleep instead of spinning: a spinning pool starves BLAS and the Python thread
# on small machines (see minigrad.threads). libgomp reads this once, when the extensions load.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from minigrad import ops  # noqa: E402
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

from minigrad._version import __version__  # noqa: E402 - re-exported

__all__ = [
    "Tensor", "tensor", "no_grad", "enable_grad", "is_grad_enabled", "set_grad_enabled", "ops",
    "set_num_threads", "get_num_threads", "get_blas_threads", "openmp_available", "set_seed",
    "models", "Model", "Sequential", "Input", "Layer", "utils", "to_categorical",
    "layers", "initializers", "activations", "regularizers", "constraints",
    "optimizers", "losses", "metrics",
    "callbacks", "saving", "load_model", "distributed",
]
