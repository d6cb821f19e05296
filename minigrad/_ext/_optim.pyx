# distutils: extra_compile_args = -fno-math-errno
"""Fused optimizer updates over one flat, C-contiguous buffer of weights (Keras' update formulas).

Each kernel walks w, its gradient and its slot buffers once: gradient scaling (global/per-weight
clipnorm) and clipping (clipvalue), decoupled weight decay, the slot updates and the weight update
happen in the same pass, in the weights' dtype. Every kernel trusts its caller
(minigrad.kernels.optim): equal lengths, matching dtypes, slot buffers present when used.

Speed: the element loops are plain pointer loops in `cdef` span functions so that GCC vectorizes
them (a prange body carries per-iteration bookkeeping that blocks it); prange only hands each
thread one contiguous span. A loop with any branch is not vectorized, so options that change which
buffers are touched (momentum, centered, nesterov, amsgrad) are `const bint` arguments of inline
span functions, called with literal flags: each call site compiles to its own branch-free loop.
Clipping and weight decay are branch-free instead (clip = inf and wd = 0 are exact no-ops for
finite values). -fno-math-errno (above, this file only) lets sqrt become a vector instruction
instead of a scalar call that may set errno; nothing here reads errno.
"""
from cython.parallel cimport prange
from cython cimport floating
from libc.math cimport sqrt, sqrtf, INFINITY


cdef inline floating _sqrt(floating v) noexcept nogil:
    if floating is float:
        return sqrtf(v)
    else:
        return sqrt(v)


cdef inline floating _prepare(floating gi, floating scale, floating clip) noexcept nogil:
    # Keras applies one of clipnorm / global_clipnorm (a scale) or clipvalue (a clamp; inf: off)
    gi = gi * scale
    gi = clip if gi > clip else gi
    return -clip if gi < -clip else gi


cdef inline double _clip_bound(double clip_value) noexcept nogil:
    return clip_value if clip_value > 0 else INFINITY


cdef inline floating* _ptr(floating[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL  # unused slots arrive empty and are never read


cdef inline Py_ssize_t _bound(Py_ssize_t n, Py_ssize_t part, Py_ssize_t parts) noexcept nogil:
    return n * part // parts


cdef inline void _sgd_span(floating* w, const floating* g, floating* m, Py_ssize_t start,
                           Py_ssize_t stop, floating lr, floating mu, floating scale, floating clip,
                           floating wd, const bint momentum, const bint nesterov) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, wi, mi
    for i in range(start, stop):
        gi = _prepare(g[i], scale, clip)
        wi = w[i] - w[i] * wd * lr
        if momentum:
            mi = m[i] * mu - gi * lr
            m[i] = mi
            if nesterov:
                w[i] = wi + (mi * mu - gi * lr)
            else:
                w[i] = wi + mi
        else:
            w[i] = wi - gi * lr


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
        if mu == 0:
            _sgd_span(pw, pg, pm, start, stop, lr_, mu, scale, clip, wd, False, False)
        elif nesterov:
            _sgd_span(pw, pg, pm, start, stop, lr_, mu, scale, clip, wd, True, True)
        else:
            _sgd_span(pw, pg, pm, start, stop, lr_, mu, scale, clip, wd, True, False)


cdef inline void _rmsprop_span(floating* w, const floating* g, floating* v, floating* mom,
                               floating* avg, Py_ssize_t start, Py_ssize_t stop, floating lr,
                               floating r, floating mu, floating eps, floating scale, floating clip,
                               floating wd, const bint momentum, const bint centered) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, wi, vi, ai, den, inc
    for i in range(start, stop):
        gi = _prepare(g[i], scale, clip)
        wi = w[i] - w[i] * wd * lr
        vi = r * v[i] + (1 - r) * (gi * gi)
        v[i] = vi
        if centered:
            ai = r * avg[i] + (1 - r) * gi
            avg[i] = ai
            den = vi - ai * ai + eps
        else:
            den = vi + eps
        inc = lr * gi / _sqrt(den)
        if momentum:
            inc = mu * mom[i] + inc
            mom[i] = inc
        w[i] = wi - inc


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
        if mu > 0 and centered:
            _rmsprop_span(pw, pg, pv, pm, pa, start, stop, lr_, r, mu, eps, scale, clip, wd, True, True)
        elif mu > 0:
            _rmsprop_span(pw, pg, pv, pm, pa, start, stop, lr_, r, mu, eps, scale, clip, wd, True, False)
        elif centered:
            _rmsprop_span(pw, pg, pv, pm, pa, start, stop, lr_, r, mu, eps, scale, clip, wd, False, True)
        else:
            _rmsprop_span(pw, pg, pv, pm, pa, start, stop, lr_, r, mu, eps, scale, clip, wd, False, False)


cdef inline void _adam_span(floating* w, const floating* g, floating* m, floating* v, floating* vh,
                            Py_ssize_t start, Py_ssize_t stop, floating alpha, floating c1,
                            floating c2, floating eps, floating lr, floating scale, floating clip,
                            floating wd, const bint amsgrad) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, wi, mi, vi
    for i in range(start, stop):
        gi = _prepare(g[i], scale, clip)
        wi = w[i] - w[i] * wd * lr
        mi = m[i] + (gi - m[i]) * c1
        m[i] = mi
        vi = v[i] + (gi * gi - v[i]) * c2
        v[i] = vi
        if amsgrad:
            vi = vi if vi > vh[i] else vh[i]
            vh[i] = vi
        w[i] = wi - (mi * alpha) / (_sqrt(vi) + eps)


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
        if amsgrad:
            _adam_span(pw, pg, pm, pv, ph, start, stop, a, c1, c2, eps, lr_, scale, clip, wd, True)
        else:
            _adam_span(pw, pg, pm, pv, ph, start, stop, a, c1, c2, eps, lr_, scale, clip, wd, False)


cdef inline void _adagrad_span(floating* w, const floating* g, floating* acc, Py_ssize_t start,
                               Py_ssize_t stop, floating lr, floating eps, floating scale,
                               floating clip, floating wd) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, wi, ai
    for i in range(start, stop):
        gi = _prepare(g[i], scale, clip)
        wi = w[i] - w[i] * wd * lr
        ai = acc[i] + gi * gi
        acc[i] = ai
        w[i] = wi - lr * gi / _sqrt(ai + eps)


def adagrad_update(floating[::1] w, const floating[::1] g, floating[::1] accumulator,
                   double lr, double epsilon, double grad_scale, double clip_value,
                   double weight_decay, int n_threads):
    """acc += g^2; w -= lr*g / sqrt(acc + eps)."""
    cdef Py_ssize_t part, n = w.shape[0], parts = max(1, n_threads)
    cdef floating* pw = _ptr(w)
    cdef const floating* pg = &g[0] if n > 0 else NULL
    cdef floating* pa = _ptr(accumulator)
    cdef floating lr_ = <floating>lr, eps = <floating>epsilon, scale = <floating>grad_scale
    cdef floating clip = <floating>_clip_bound(clip_value), wd = <floating>weight_decay
    for part in prange(parts, nogil=True, num_threads=parts, schedule="static"):
        _adagrad_span(pw, pg, pa, _bound(n, part, parts), _bound(n, part + 1, parts), lr_, eps,
                      scale, clip, wd)


cdef inline void _ema_span(floating* avg, const floating* w, Py_ssize_t start, Py_ssize_t stop,
                           floating mu) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(start, stop):
        avg[i] = mu * avg[i] + (1 - mu) * w[i]


def ema_update(floating[::1] average, const floating[::1] w, double momentum, int n_threads):
    """average = momentum*average + (1-momentum)*w."""
    cdef Py_ssize_t part, n = w.shape[0], parts = max(1, n_threads)
    cdef floating* pa = _ptr(average)
    cdef const floating* pw = &w[0] if n > 0 else NULL
    cdef floating mu = <floating>momentum
    for part in prange(parts, nogil=True, num_threads=parts, schedule="static"):
        _ema_span(pa, pw, _bound(n, part, parts), _bound(n, part + 1, parts), mu)
