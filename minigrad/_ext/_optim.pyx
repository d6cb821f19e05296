"""Fused optimizer updates over one flat, C-contiguous buffer of weights (Keras' update formulas).

Each kernel walks w, its gradient and its slot buffers once: gradient scaling (global/per-weight
clipnorm) and clipping (clipvalue), decoupled weight decay, the slot updates and the weight update
happen in the same pass, in the weights' dtype. Every kernel trusts its caller
(minigrad.kernels.optim): equal lengths, matching dtypes, slot buffers present when used.
"""
from cython.parallel cimport prange
from cython cimport floating
from libc.math cimport sqrt, sqrtf


cdef inline floating _sqrt(floating v) noexcept nogil:
    if floating is float:
        return sqrtf(v)
    else:
        return sqrt(v)


cdef inline floating _prepare(floating gi, floating scale, floating clip) noexcept nogil:
    # Keras applies one of clipnorm / global_clipnorm (a scale) or clipvalue (a clamp); clip <= 0: off
    gi = gi * scale
    if clip > 0:
        if gi > clip:
            gi = clip
        elif gi < -clip:
            gi = -clip
    return gi


def sgd_update(floating[::1] w, const floating[::1] g, floating[::1] m,
               double lr, double momentum, bint nesterov,
               double grad_scale, double clip_value, double weight_decay, int n_threads):
    """m = momentum*m - lr*g; w += m (nesterov: w += momentum*m - lr*g); plain: w -= lr*g."""
    cdef Py_ssize_t i
    cdef floating gi, lr_ = <floating>lr, mu = <floating>momentum, wd = <floating>weight_decay
    cdef floating scale = <floating>grad_scale, clip = <floating>clip_value
    for i in prange(w.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        gi = _prepare(g[i], scale, clip)
        if wd != 0:
            w[i] = w[i] - w[i] * wd * lr_
        if mu != 0:
            m[i] = m[i] * mu - gi * lr_
            if nesterov:
                w[i] = w[i] + (m[i] * mu - gi * lr_)
            else:
                w[i] = w[i] + m[i]
        else:
            w[i] = w[i] - gi * lr_


def rmsprop_update(floating[::1] w, const floating[::1] g, floating[::1] velocity,
                   floating[::1] mom, floating[::1] average_gradient,
                   double lr, double rho, double momentum, double epsilon, bint centered,
                   double grad_scale, double clip_value, double weight_decay, int n_threads):
    """v = rho*v + (1-rho)*g^2; inc = lr*g / sqrt(v [- a^2] + eps); w -= inc (or momentum of inc)."""
    cdef Py_ssize_t i
    cdef floating gi, den, inc, lr_ = <floating>lr, r = <floating>rho, mu = <floating>momentum
    cdef floating eps = <floating>epsilon, wd = <floating>weight_decay
    cdef floating scale = <floating>grad_scale, clip = <floating>clip_value
    for i in prange(w.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        gi = _prepare(g[i], scale, clip)
        if wd != 0:
            w[i] = w[i] - w[i] * wd * lr_
        velocity[i] = r * velocity[i] + (1 - r) * (gi * gi)
        if centered:
            average_gradient[i] = r * average_gradient[i] + (1 - r) * gi
            den = velocity[i] - average_gradient[i] * average_gradient[i] + eps
        else:
            den = velocity[i] + eps
        inc = lr_ * gi / _sqrt(den)
        if mu > 0:
            mom[i] = mu * mom[i] + inc
            w[i] = w[i] - mom[i]
        else:
            w[i] = w[i] - inc


def adam_update(floating[::1] w, const floating[::1] g, floating[::1] m, floating[::1] v,
                floating[::1] v_hat, double alpha, double beta_1, double beta_2, double epsilon,
                bint amsgrad, double lr, double grad_scale, double clip_value,
                double weight_decay, int n_threads):
    """m += (g-m)(1-b1); v += (g^2-v)(1-b2); [v_hat = max(v_hat, v)]; w -= alpha*m/(sqrt(v)+eps).

    alpha = lr * sqrt(1 - b2^t) / (1 - b1^t) is computed once by the caller; lr is only used
    for the decoupled weight decay (AdamW).
    """
    cdef Py_ssize_t i
    cdef floating gi, vv, a = <floating>alpha, c1 = <floating>(1 - beta_1)
    cdef floating c2 = <floating>(1 - beta_2), eps = <floating>epsilon
    cdef floating wd = <floating>weight_decay, lr_ = <floating>lr
    cdef floating scale = <floating>grad_scale, clip = <floating>clip_value
    for i in prange(w.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        gi = _prepare(g[i], scale, clip)
        if wd != 0:
            w[i] = w[i] - w[i] * wd * lr_
        m[i] = m[i] + (gi - m[i]) * c1
        v[i] = v[i] + (gi * gi - v[i]) * c2
        vv = v[i]
        if amsgrad:
            if v_hat[i] < vv:
                v_hat[i] = vv
            vv = v_hat[i]
        w[i] = w[i] - (m[i] * a) / (_sqrt(vv) + eps)


def adagrad_update(floating[::1] w, const floating[::1] g, floating[::1] accumulator,
                   double lr, double epsilon, double grad_scale, double clip_value,
                   double weight_decay, int n_threads):
    """acc += g^2; w -= lr*g / sqrt(acc + eps)."""
    cdef Py_ssize_t i
    cdef floating gi, lr_ = <floating>lr, eps = <floating>epsilon, wd = <floating>weight_decay
    cdef floating scale = <floating>grad_scale, clip = <floating>clip_value
    for i in prange(w.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        gi = _prepare(g[i], scale, clip)
        if wd != 0:
            w[i] = w[i] - w[i] * wd * lr_
        accumulator[i] = accumulator[i] + gi * gi
        w[i] = w[i] - lr_ * gi / _sqrt(accumulator[i] + eps)


def ema_update(floating[::1] average, const floating[::1] w, double momentum, int n_threads):
    """average = momentum*average + (1-momentum)*w."""
    cdef Py_ssize_t i
    cdef floating mu = <floating>momentum
    for i in prange(w.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        average[i] = mu * average[i] + (1 - mu) * w[i]
