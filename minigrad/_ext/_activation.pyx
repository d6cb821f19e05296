"""Activation, softmax and softmax-cross-entropy kernels over flat or (rows, classes) arrays.

Every kernel trusts its caller (minigrad.kernels.activation): C-contiguous, matching shapes and
dtypes, outputs preallocated, labels already range-checked. Float32 math stays in float32 (expf,
tanhf, ...); row reductions accumulate in double.

The piecewise kernels compute every arm into a local before the select (`g = dy[i]`, `t = s * g`,
then `t if x[i] < 0 else g`): a load or a multiply inside one arm is conditional (it might fault or
raise a floating-point flag), which baseline x86-64 (SSE2: no masked loads) cannot vectorize, and
the loop then ran scalar (relu backward 10x slower than with -march=native). tests/kernels/test_disassembly.py checks that these loops stay packed.
"""
from cython.parallel cimport prange
from cython cimport floating
from libc.math cimport exp, expf, expm1, expm1f, log, log1p, log1pf, tanh, tanhf, erfc, erfcf, isfinite
from libc.stdint cimport int64_t

cdef double SELU_ALPHA = 1.6732632423543772848170429916717
cdef double SELU_SCALE = 1.0507009873554804934193349852946
cdef double SQRT_2_OVER_PI = 0.7978845608028654
cdef double INV_SQRT_2 = 0.7071067811865476
cdef double INV_SQRT_2PI = 0.3989422804014327
cdef double GELU_C = 0.044715


cdef inline floating _exp(floating v) noexcept nogil:
    if floating is float:
        return expf(v)
    else:
        return exp(v)


cdef inline floating _expm1(floating v) noexcept nogil:
    if floating is float:
        return expm1f(v)
    else:
        return expm1(v)


cdef inline floating _log1p(floating v) noexcept nogil:
    if floating is float:
        return log1pf(v)
    else:
        return log1p(v)


cdef inline floating _tanh(floating v) noexcept nogil:
    if floating is float:
        return tanhf(v)
    else:
        return tanh(v)


cdef inline floating _erfc(floating v) noexcept nogil:
    if floating is float:
        return erfcf(v)
    else:
        return erfc(v)


cdef inline floating _sigmoid(floating v) noexcept nogil:
    # exp of a non-positive argument only: no overflow for any |v|
    cdef floating e
    if v >= 0:
        return 1 / (1 + _exp(-v))
    e = _exp(v)
    return e / (1 + e)


cdef inline floating _gelu_tanh_gate(floating v) noexcept nogil:
    # 0.5 * (1 + tanh(u)) == sigmoid(2u): the sigmoid form keeps the negative tail accurate
    return _sigmoid(<floating>(2 * SQRT_2_OVER_PI) * (v + <floating>GELU_C * v * v * v))


# ---- elementwise forward: y = f(x) ------------------------------------------------------------

def relu_forward(const floating[::1] x, floating[::1] y, int n_threads):
    cdef Py_ssize_t i
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        y[i] = 0 if x[i] <= 0 else x[i]  # NaN propagates


def leaky_relu_forward(const floating[::1] x, floating[::1] y, double negative_slope,
                       int n_threads):
    cdef Py_ssize_t i
    cdef floating v, t, s = <floating>negative_slope
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        v = x[i]
        t = s * v
        y[i] = t if v < 0 else v


def elu_forward(const floating[::1] x, floating[::1] y, double alpha, int n_threads):
    cdef Py_ssize_t i
    cdef floating a = <floating>alpha
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        y[i] = x[i] if x[i] > 0 else a * _expm1(x[i])  # expm1: exact for tiny |x|


def selu_forward(const floating[::1] x, floating[::1] y, int n_threads):
    cdef Py_ssize_t i
    cdef floating a = <floating>SELU_ALPHA, s = <floating>SELU_SCALE
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        y[i] = s * x[i] if x[i] > 0 else s * a * _expm1(x[i])


def gelu_forward(const floating[::1] x, floating[::1] y, bint approximate, int n_threads):
    cdef Py_ssize_t i
    cdef floating r = <floating>INV_SQRT_2
    if approximate:
        for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
            y[i] = x[i] * _gelu_tanh_gate(x[i])
    else:
        for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
            # 0.5 * erfc(-x/sqrt2) == Phi(x) without the cancellation of 1 + erf for x << 0
            y[i] = <floating>0.5 * x[i] * _erfc(-x[i] * r)


def sigmoid_forward(const floating[::1] x, floating[::1] y, int n_threads):
    cdef Py_ssize_t i
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        y[i] = _sigmoid(x[i])


def hard_sigmoid_forward(const floating[::1] x, floating[::1] y, int n_threads):
    cdef Py_ssize_t i
    cdef floating v
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        v = (x[i] + 3) / 6  # Keras 3: relu6(x + 3) / 6
        y[i] = 0 if v <= 0 else (1 if v >= 1 else v)


def tanh_forward(const floating[::1] x, floating[::1] y, int n_threads):
    cdef Py_ssize_t i
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        y[i] = _tanh(x[i])


def softplus_forward(const floating[::1] x, floating[::1] y, int n_threads):
    cdef Py_ssize_t i
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): never overflows
        if x[i] > 0:
            y[i] = x[i] + _log1p(_exp(-x[i]))
        else:
            y[i] = _log1p(_exp(x[i]))


def silu_forward(const floating[::1] x, floating[::1] y, int n_threads):
    cdef Py_ssize_t i
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        y[i] = x[i] * _sigmoid(x[i])


# ---- elementwise backward: dx = dy * f'(.) ------------------------------------------------------

def relu_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                  int n_threads):
    cdef Py_ssize_t i
    cdef floating g
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        g = dy[i]
        dx[i] = g if x[i] > 0 else 0


def leaky_relu_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                        double negative_slope, int n_threads):
    cdef Py_ssize_t i
    cdef floating g, t, s = <floating>negative_slope
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        g = dy[i]
        t = s * g
        dx[i] = t if x[i] < 0 else g


def elu_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                 double alpha, int n_threads):
    cdef Py_ssize_t i
    cdef floating a = <floating>alpha
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        dx[i] = dy[i] if x[i] > 0 else dy[i] * a * _exp(x[i])


def selu_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                  int n_threads):
    cdef Py_ssize_t i
    cdef floating a = <floating>SELU_ALPHA, s = <floating>SELU_SCALE
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        dx[i] = s * dy[i] if x[i] > 0 else s * a * dy[i] * _exp(x[i])


def gelu_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                  bint approximate, int n_threads):
    cdef Py_ssize_t i
    cdef floating g, v, r = <floating>INV_SQRT_2, q = <floating>INV_SQRT_2PI
    cdef floating k = <floating>(2 * SQRT_2_OVER_PI), c3 = <floating>(3 * GELU_C)
    if approximate:
        for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
            v = x[i]
            g = _gelu_tanh_gate(v)
            # d/dx [x * sigmoid(2u)] = g + x g (1 - g) 2u'; past |x| = 20 the second term is
            # below 1e-200 but x^3 could overflow into inf * 0
            if v > 20 or v < -20:
                dx[i] = dy[i] * g
            else:
                dx[i] = dy[i] * (g + v * g * (1 - g) * k * (1 + c3 * v * v))
    else:
        for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
            v = x[i]
            if v > 40 or v < -40:  # pdf term is exactly 0 there; avoids inf * 0 for huge |x|
                dx[i] = dy[i] * (1 if v > 0 else 0)
            else:
                dx[i] = dy[i] * (<floating>0.5 * _erfc(-v * r) + v * q * _exp(<floating>-0.5 * v * v))


def sigmoid_backward(const floating[::1] dy, const floating[::1] y, floating[::1] dx,
                     int n_threads):
    cdef Py_ssize_t i
    for i in prange(y.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        dx[i] = dy[i] * y[i] * (1 - y[i])


def hard_sigmoid_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                          int n_threads):
    cdef Py_ssize_t i
    cdef floating v, g, sixth = <floating>(1.0 / 6.0)
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        v = x[i]
        g = dy[i] * sixth
        dx[i] = g if (v > -3) & (v < 3) else 0  # `&`: `and` short-circuits into a branch


def tanh_backward(const floating[::1] dy, const floating[::1] y, floating[::1] dx,
                  int n_threads):
    cdef Py_ssize_t i
    for i in prange(y.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        dx[i] = dy[i] * (1 - y[i] * y[i])


def softplus_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                      int n_threads):
    cdef Py_ssize_t i
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        dx[i] = dy[i] * _sigmoid(x[i])


def silu_backward(const floating[::1] dy, const floating[::1] x, floating[::1] dx,
                  int n_threads):
    cdef Py_ssize_t i
    cdef floating s
    for i in prange(x.shape[0], nogil=True, num_threads=n_threads, schedule="static"):
        s = _sigmoid(x[i])
        dx[i] = dy[i] * s * (1 + x[i] * (1 - s))


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
