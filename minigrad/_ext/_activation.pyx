# distutils: extra_compile_args = -fno-trapping-math
"""Activation, softmax and softmax-cross-entropy kernels over flat or (rows, classes) arrays.

Every kernel trusts its caller (minigrad.kernels.activation): C-contiguous, matching shapes and
dtypes, outputs preallocated, labels already range-checked. Float32 math stays in float32 (expf,
tanhf, ...); row reductions accumulate in double.

The elementwise kernels are C (activation_body.h), compiled for baseline x86-64, AVX2 + FMA and
AVX-512 in this one module (activation_kernels.h: the mechanism of isa.h that every dispatched
extension uses); the import picks the level, and prange hands each thread one contiguous span.
tests/kernels/test_disassembly.py checks that the loops without libm calls stay vectorized.
-fno-trapping-math (above, this file only) lets GCC compute both arms of a select such as
leaky_relu's `v < 0 ? p * v : v` (it moves a multiply that only one arm uses into that arm, and
a conditional multiply is not vectorized on SSE2 or AVX2); nothing here reads the floating-point
exception flags, and no value changes.
"""
from cython.parallel cimport prange
from cython cimport floating
from libc.math cimport exp, expf, log, isfinite
from libc.stdint cimport int64_t


cdef extern from "activation_kernels.h":
    enum:
        MG_ACT_RELU, MG_ACT_LEAKY_RELU, MG_ACT_ELU, MG_ACT_SELU, MG_ACT_GELU, MG_ACT_GELU_TANH,
        MG_ACT_SIGMOID, MG_ACT_HARD_SIGMOID, MG_ACT_TANH, MG_ACT_SOFTPLUS, MG_ACT_SILU
    ctypedef void (*mg_act_forward_f32)(const float*, float*, int64_t, int64_t, float) noexcept nogil
    ctypedef void (*mg_act_forward_f64)(const double*, double*, int64_t, int64_t, double) noexcept nogil
    ctypedef void (*mg_act_backward_f32)(const float*, const float*, float*, int64_t, int64_t,
                                         float) noexcept nogil
    ctypedef void (*mg_act_backward_f64)(const double*, const double*, double*, int64_t, int64_t,
                                         double) noexcept nogil
    ctypedef struct Kernels "mg_activation_kernels":
        mg_act_forward_f32* forward_f32
        mg_act_forward_f64* forward_f64
        mg_act_backward_f32* backward_f32
        mg_act_backward_f64* backward_f64
    const void* mg_family_table(int* level) noexcept nogil

include "isa_select.pxi"


cdef inline floating _exp(floating v) noexcept nogil:
    if floating is float:
        return expf(v)
    else:
        return exp(v)


cdef inline Py_ssize_t _bound(Py_ssize_t n, Py_ssize_t part, Py_ssize_t parts) noexcept nogil:
    return n * part // parts


cdef void _forward(int kernel, const floating[::1] x, floating[::1] y, double p, int n_threads):
    """y = f(x) by the MG_ACT_* kernel, each thread over one span; p: its parameter, if any."""
    cdef Py_ssize_t part, n = x.shape[0], parts = max(1, n_threads)
    cdef const floating* px = &x[0] if n > 0 else NULL
    cdef floating* py = &y[0] if n > 0 else NULL
    for part in prange(parts, nogil=True, num_threads=parts, schedule="static"):
        if floating is float:
            _k.forward_f32[kernel](px, py, _bound(n, part, parts), _bound(n, part + 1, parts), <float>p)
        else:
            _k.forward_f64[kernel](px, py, _bound(n, part, parts), _bound(n, part + 1, parts), p)


cdef void _backward(int kernel, const floating[::1] dy, const floating[::1] saved, floating[::1] dx,
                    double p, int n_threads):
    """dx = dy * f'(.) by the MG_ACT_* kernel from the saved x (or y), each thread over one span."""
    cdef Py_ssize_t part, n = dy.shape[0], parts = max(1, n_threads)
    cdef const floating* pd = &dy[0] if n > 0 else NULL
    cdef const floating* ps = &saved[0] if n > 0 else NULL
    cdef floating* pdx = &dx[0] if n > 0 else NULL
    for part in prange(parts, nogil=True, num_threads=parts, schedule="static"):
        if floating is float:
            _k.backward_f32[kernel](pd, ps, pdx, _bound(n, part, parts), _bound(n, part + 1, parts), <float>p)
        else:
            _k.backward_f64[kernel](pd, ps, pdx, _bound(n, part, parts), _bound(n, part + 1, parts), p)


# ---- elementwise forward: y = f(x) ------------------------------------------------------------

def relu_forward(const floating[::1] x, floating[::1] y, int n_threads):
    _forward(MG_ACT_RELU, x, y, 0, n_threads)


def leaky_relu_forward(const floating[::1] x, floating[::1] y, double negative_slope,
                       int n_threads):
    _forward(MG_ACT_LEAKY_RELU, x, y, negative_slope, n_threads)


def elu_forward(const floating[::1] x, floating[::1] y, double alpha, int n_threads):
    _forward(MG_ACT_ELU, x, y, alpha, n_threads)


def selu_forward(const floating[::1] x, floating[::1] y, int n_threads):
    _forward(MG_ACT_SELU, x, y, 0, n_threads)


def gelu_forward(const floating[::1] x, floating[::1] y, bint approximate, int n_threads):
    _forward(MG_ACT_GELU_TANH if approximate else MG_ACT_GELU, x, y, 0, n_threads)


def sigmoid_forward(const floating[::1] x, floating[::1] y, int n_threads):
    _forward(MG_ACT_SIGMOID, x, y, 0, n_threads)


def hard_sigmoid_forward(const floating[::1] x, floating[::1] y, int n_threads):
    _forward(MG_ACT_HARD_SIGMOID, x, y, 0, n_threads)


def tanh_forward(const floating[::1] x, floating[::1] y, int n_threads):
    _forward(MG_ACT_TANH, x, y, 0, n_threads)


def softplus_forward(const floating[::1] x, floating[::1] y, int n_threads):
    _forward(MG_ACT_SOFTPLUS, x, y, 0, n_threads)


def silu_forward(const floating[::1] x, floating[::1] y, int n_threads):
    _forward(MG_ACT_SILU, x, y, 0, n_threads)


# ---- elementwise backward: dx = dy * f'(.) ------------------------------------------------------

def relu_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                  int n_threads):
    _backward(MG_ACT_RELU, dy, x, dx, 0, n_threads)


def leaky_relu_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                        double negative_slope, int n_threads):
    _backward(MG_ACT_LEAKY_RELU, dy, x, dx, negative_slope, n_threads)


def elu_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                 double alpha, int n_threads):
    _backward(MG_ACT_ELU, dy, x, dx, alpha, n_threads)


def selu_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                  int n_threads):
    _backward(MG_ACT_SELU, dy, x, dx, 0, n_threads)


def gelu_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                  bint approximate, int n_threads):
    _backward(MG_ACT_GELU_TANH if approximate else MG_ACT_GELU, dy, x, dx, 0, n_threads)


def sigmoid_backward(const floating[::1] dy, const floating[::1] y, floating[::1] dx,
                     int n_threads):
    _backward(MG_ACT_SIGMOID, dy, y, dx, 0, n_threads)


def hard_sigmoid_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                          int n_threads):
    _backward(MG_ACT_HARD_SIGMOID, dy, x, dx, 0, n_threads)


def tanh_backward(const floating[::1] dy, const floating[::1] y, floating[::1] dx,
                  int n_threads):
    _backward(MG_ACT_TANH, dy, y, dx, 0, n_threads)


def softplus_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                      int n_threads):
    _backward(MG_ACT_SOFTPLUS, dy, x, dx, 0, n_threads)


def silu_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                  int n_threads):
    _backward(MG_ACT_SILU, dy, x, dx, 0, n_threads)


# ---- softmax family over the last axis of (rows, classes) -------------------------------------

cdef inline floating _row_max(const floating* v, Py_ssize_t n) noexcept nogil:
    """The shift of a row's log-sum-exp: its max, or 0 when that is +-inf or NaN (as scipy does:
    log_softmax([inf, 1]) is then [nan, -inf], not [nan, nan])."""
    cdef Py_ssize_t j
    cdef floating m = v[0]
    for j in range(1, n):
        if v[j] > m:
            m = v[j]
    return m if isfinite(m) else 0


cdef inline double _row_sumexp(const floating* v, floating m, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    cdef double s = 0
    for j in range(n):
        s += _exp(v[j] - m)
    return s


def softmax_forward(const floating[:, ::1] x, floating[:, ::1] y, int n_threads):
    cdef Py_ssize_t r, j, n = x.shape[1]
    cdef floating m, inv
    cdef double s
    for r in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        m = _row_max(&x[r, 0], n)  # subtracting the row max keeps every exp <= 1
        s = 0
        for j in range(n):
            y[r, j] = _exp(x[r, j] - m)
            s = s + y[r, j]
        inv = <floating>(1.0 / s)
        for j in range(n):
            y[r, j] = y[r, j] * inv


def log_softmax_forward(const floating[:, ::1] x, floating[:, ::1] y, int n_threads):
    cdef Py_ssize_t r, j, n = x.shape[1]
    cdef floating m, log_s
    for r in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        m = _row_max(&x[r, 0], n)
        log_s = <floating>log(_row_sumexp(&x[r, 0], m, n))
        for j in range(n):
            y[r, j] = (x[r, j] - m) - log_s  # not x - (m + log_s): that loses log_s when |m| is huge


def softmax_backward(const floating[:, ::1] dy, const floating[:, ::1] y,
                     floating[:, ::1] dx, int n_threads):
    """dx = y * (dy - sum(dy * y)) per row."""
    cdef Py_ssize_t r, j, n = y.shape[1]
    cdef double dot
    for r in prange(y.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        dot = 0
        for j in range(n):
            dot = dot + dy[r, j] * y[r, j]
        for j in range(n):
            dx[r, j] = y[r, j] * (dy[r, j] - <floating>dot)


def log_softmax_backward(const floating[:, ::1] dy, const floating[:, ::1] y,
                         floating[:, ::1] dx, int n_threads):
    """dx = dy - exp(y) * sum(dy) per row (y is the log-softmax output)."""
    cdef Py_ssize_t r, j, n = y.shape[1]
    cdef double total
    for r in prange(y.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        total = 0
        for j in range(n):
            total = total + dy[r, j]
        for j in range(n):
            dx[r, j] = dy[r, j] - _exp(y[r, j]) * <floating>total


def softmax_cross_entropy_forward(const floating[:, ::1] logits, const floating[:, ::1] target,
                                  floating[::1] loss, int n_threads):
    """loss[i] = -sum_j target[i, j] * log_softmax(logits)[i, j], via log-sum-exp."""
    cdef Py_ssize_t r, j, n = logits.shape[1]
    cdef floating m, log_s
    cdef double acc
    for r in prange(logits.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        m = _row_max(&logits[r, 0], n)
        log_s = <floating>log(_row_sumexp(&logits[r, 0], m, n))
        acc = 0
        for j in range(n):
            if target[r, j] != 0:  # skip: 0 * (-inf logit) would be NaN
                acc = acc + target[r, j] * (log_s - (logits[r, j] - m))
        loss[r] = <floating>acc


def softmax_cross_entropy_backward(const floating[::1] dy, const floating[:, ::1] logits,
                                   const floating[:, ::1] target, floating[:, ::1] dx,
                                   int n_threads):
    """dx[i] = dy[i] * (softmax(logits[i]) * sum(target[i]) - target[i])."""
    cdef Py_ssize_t r, j, n = logits.shape[1]
    cdef floating m, scale
    cdef double s, t
    for r in prange(logits.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        m = _row_max(&logits[r, 0], n)
        s = _row_sumexp(&logits[r, 0], m, n)
        t = 0
        for j in range(n):
            t = t + target[r, j]
        scale = <floating>(t / s)  # sum(target) is 1 for proper distributions; exact otherwise
        for j in range(n):
            dx[r, j] = dy[r] * (_exp(logits[r, j] - m) * scale - target[r, j])


def sparse_softmax_cross_entropy_forward(const floating[:, ::1] logits,
                                         const int64_t[::1] labels, floating[::1] loss,
                                         int n_threads):
    """loss[i] = logsumexp(logits[i]) - logits[i, labels[i]]; labels are range-checked."""
    cdef Py_ssize_t r, n = logits.shape[1]
    cdef floating m
    for r in prange(logits.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        m = _row_max(&logits[r, 0], n)
        loss[r] = <floating>log(_row_sumexp(&logits[r, 0], m, n)) - (logits[r, labels[r]] - m)


def sparse_softmax_cross_entropy_backward(const floating[::1] dy,
                                          const floating[:, ::1] logits,
                                          const int64_t[::1] labels, floating[:, ::1] dx,
                                          int n_threads):
    """dx[i] = dy[i] * (softmax(logits[i]) - onehot(labels[i]))."""
    cdef Py_ssize_t r, j, n = logits.shape[1]
    cdef floating m, scale
    for r in prange(logits.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        m = _row_max(&logits[r, 0], n)
        scale = <floating>(1.0 / _row_sumexp(&logits[r, 0], m, n))
        for j in range(n):
            dx[r, j] = dy[r] * _exp(logits[r, j] - m) * scale
        dx[r, labels[r]] = dx[r, labels[r]] - dy[r]
