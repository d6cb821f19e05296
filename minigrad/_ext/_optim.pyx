# distutils: extra_compile_args = -fno-math-errno
"""Fused optimizer updates over one flat, C-contiguous buffer of weights (Keras' update formulas).

Each kernel walks w, its gradient and its slot buffers once: gradient scaling (global/per-weight
clipnorm) and clipping (clipvalue), decoupled weight decay, the slot updates and the weight update
happen in the same pass, in the weights' dtype. Every kernel trusts its caller
(minigrad.kernels.optim): equal lengths, matching dtypes, slot buffers present when used.

The element loops are C (optim_body.h), compiled for baseline x86-64, AVX2 + FMA and AVX-512 in
this one module (optim_kernels.h: the mechanism of isa.h that every dispatched extension uses); the
import picks the level (CPUID, capped by MINIGRAD_ISA and the build's MINIGRAD_BUILD_ISA). prange only
hands each thread one contiguous span. Clipping and weight decay are branch-free (clip = inf and
wd = 0 are exact no-ops for finite values). -fno-math-errno (above, this file only) lets sqrt
become a vector instruction instead of a scalar call that may set errno; nothing here reads errno.
"""
from cython.parallel cimport prange
from cython cimport floating
from libc.math cimport INFINITY
from libc.stdint cimport int64_t


cdef extern from "optim_kernels.h":
    ctypedef struct Kernels "mg_optim_kernels":
        void (*sgd_f32)(float*, const float*, float*, int64_t, int64_t, float, float, float, float,
                        float, int) noexcept nogil
        void (*sgd_f64)(double*, const double*, double*, int64_t, int64_t, double, double, double,
                        double, double, int) noexcept nogil
        void (*rmsprop_f32)(float*, const float*, float*, float*, float*, int64_t, int64_t, float,
                            float, float, float, float, float, float, int) noexcept nogil
        void (*rmsprop_f64)(double*, const double*, double*, double*, double*, int64_t, int64_t,
                            double, double, double, double, double, double, double, int) noexcept nogil
        void (*adam_f32)(float*, const float*, float*, float*, float*, int64_t, int64_t, float,
                         float, float, float, float, float, float, float, int) noexcept nogil
        void (*adam_f64)(double*, const double*, double*, double*, double*, int64_t, int64_t,
                         double, double, double, double, double, double, double, double,
                         int) noexcept nogil
        void (*adagrad_f32)(float*, const float*, float*, int64_t, int64_t, float, float, float,
                            float, float) noexcept nogil
        void (*adagrad_f64)(double*, const double*, double*, int64_t, int64_t, double, double,
                            double, double, double) noexcept nogil
        void (*ema_f32)(float*, const float*, int64_t, int64_t, float) noexcept nogil
        void (*ema_f64)(double*, const double*, int64_t, int64_t, double) noexcept nogil
    const void* mg_family_table(int* level) noexcept nogil

include "isa_select.pxi"


cdef inline double _clip_bound(double clip_value) noexcept nogil:
    return clip_value if clip_value > 0 else INFINITY


cdef inline floating* _ptr(floating[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL  # unused slots arrive empty and are never read


cdef inline Py_ssize_t _bound(Py_ssize_t n, Py_ssize_t part, Py_ssize_t parts) noexcept nogil:
    return n * part // parts


def sgd_update(floating[::1] w, const floating[::1] g, floating[::1] m,
               double lr, double momentum, bint nesterov,
               double grad_scale, double clip_value, double weight_decay, int n_threads):
    """m = momentum*m - lr*g; w += m (nesterov: w += momentum*m - lr*g); plain: w -= lr*g."""
    cdef Py_ssize_t part, start, stop, n = w.shape[0], parts = max(1, n_threads)
    cdef floating* pw = _ptr(w)
    cdef const floating* pg = &g[0] if n > 0 else NULL
    cdef floating* pm = _ptr(m)
    cdef floating lr_ = <floating>lr, mu = <floating>momentum, scale = <floating>grad_scale
    cdef floating clip = <floating>_clip_bound(clip_value), wd = <floating>weight_decay
    for part in prange(parts, nogil=True, num_threads=parts, schedule="static"):
        start, stop = _bound(n, part, parts), _bound(n, part + 1, parts)
        if floating is float:
            _k.sgd_f32(pw, pg, pm, start, stop, lr_, mu, scale, clip, wd, nesterov)
        else:
            _k.sgd_f64(pw, pg, pm, start, stop, lr_, mu, scale, clip, wd, nesterov)


def rmsprop_update(floating[::1] w, const floating[::1] g, floating[::1] velocity,
                   floating[::1] mom, floating[::1] average_gradient,
                   double lr, double rho, double momentum, double epsilon, bint centered,
                   double grad_scale, double clip_value, double weight_decay, int n_threads):
    """v = rho*v + (1-rho)*g^2; inc = lr*g / sqrt(v [- a^2] + eps); w -= inc (or momentum of inc)."""
    cdef Py_ssize_t part, start, stop, n = w.shape[0], parts = max(1, n_threads)
    cdef floating* pw = _ptr(w)
    cdef const floating* pg = &g[0] if n > 0 else NULL
    cdef floating* pv = _ptr(velocity)
    cdef floating* pm = _ptr(mom)
    cdef floating* pa = _ptr(average_gradient)
    cdef floating lr_ = <floating>lr, r = <floating>rho, mu = <floating>momentum, eps = <floating>epsilon
    cdef floating scale = <floating>grad_scale, clip = <floating>_clip_bound(clip_value)
    cdef floating wd = <floating>weight_decay
    for part in prange(parts, nogil=True, num_threads=parts, schedule="static"):
        start, stop = _bound(n, part, parts), _bound(n, part + 1, parts)
        if floating is float:
            _k.rmsprop_f32(pw, pg, pv, pm, pa, start, stop, lr_, r, mu, eps, scale, clip, wd, centered)
        else:
            _k.rmsprop_f64(pw, pg, pv, pm, pa, start, stop, lr_, r, mu, eps, scale, clip, wd, centered)


def adam_update(floating[::1] w, const floating[::1] g, floating[::1] m, floating[::1] v,
                floating[::1] v_hat, double alpha, double beta_1, double beta_2, double epsilon,
                bint amsgrad, double lr, double grad_scale, double clip_value,
                double weight_decay, int n_threads):
    """m += (g-m)(1-b1); v += (g^2-v)(1-b2); [v_hat = max(v_hat, v)]; w -= alpha*m/(sqrt(v)+eps).

    alpha = lr * sqrt(1 - b2^t) / (1 - b1^t) is computed once by the caller; lr is only used
    for the decoupled weight decay (AdamW).
    """
    cdef Py_ssize_t part, start, stop, n = w.shape[0], parts = max(1, n_threads)
    cdef floating* pw = _ptr(w)
    cdef const floating* pg = &g[0] if n > 0 else NULL
    cdef floating* pm = _ptr(m)
    cdef floating* pv = _ptr(v)
    cdef floating* ph = _ptr(v_hat)
    cdef floating a = <floating>alpha, c1 = <floating>(1 - beta_1), c2 = <floating>(1 - beta_2)
    cdef floating eps = <floating>epsilon, lr_ = <floating>lr, scale = <floating>grad_scale
    cdef floating clip = <floating>_clip_bound(clip_value), wd = <floating>weight_decay
    for part in prange(parts, nogil=True, num_threads=parts, schedule="static"):
        start, stop = _bound(n, part, parts), _bound(n, part + 1, parts)
        if floating is float:
            _k.adam_f32(pw, pg, pm, pv, ph, start, stop, a, c1, c2, eps, lr_, scale, clip, wd, amsgrad)
        else:
            _k.adam_f64(pw, pg, pm, pv, ph, start, stop, a, c1, c2, eps, lr_, scale, clip, wd, amsgrad)


def adagrad_update(floating[::1] w, const floating[::1] g, floating[::1] accumulator,
                   double lr, double epsilon, double grad_scale, double clip_value,
                   double weight_decay, int n_threads):
    """acc += g^2; w -= lr*g / sqrt(acc + eps)."""
    cdef Py_ssize_t part, start, stop, n = w.shape[0], parts = max(1, n_threads)
    cdef floating* pw = _ptr(w)
    cdef const floating* pg = &g[0] if n > 0 else NULL
    cdef floating* pa = _ptr(accumulator)
    cdef floating lr_ = <floating>lr, eps = <floating>epsilon, scale = <floating>grad_scale
    cdef floating clip = <floating>_clip_bound(clip_value), wd = <floating>weight_decay
    for part in prange(parts, nogil=True, num_threads=parts, schedule="static"):
        start, stop = _bound(n, part, parts), _bound(n, part + 1, parts)
        if floating is float:
            _k.adagrad_f32(pw, pg, pa, start, stop, lr_, eps, scale, clip, wd)
        else:
            _k.adagrad_f64(pw, pg, pa, start, stop, lr_, eps, scale, clip, wd)


def ema_update(floating[::1] average, const floating[::1] w, double momentum, int n_threads):
    """average = momentum*average + (1-momentum)*w."""
    cdef Py_ssize_t part, start, stop, n = w.shape[0], parts = max(1, n_threads)
    cdef floating* pa = _ptr(average)
    cdef const floating* pw = &w[0] if n > 0 else NULL
    cdef floating mu = <floating>momentum
    for part in prange(parts, nogil=True, num_threads=parts, schedule="static"):
        start, stop = _bound(n, part, parts), _bound(n, part + 1, parts)
        if floating is float:
            _k.ema_f32(pa, pw, start, stop, mu)
        else:
            _k.ema_f64(pa, pw, start, stop, mu)
