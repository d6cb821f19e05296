/* The elementwise activations of one element type T at one ISA level (activation_isa.h includes
   this for float and double after defining T, FN(name) and LIBM(name): expf or exp, ...). Forward
   kernels map x to y, backward kernels dy and the saved x (y for sigmoid and tanh) to dx, over
   [start, stop); p is the kernel's parameter (leaky_relu's slope, elu's alpha), unused elsewhere.
   The arithmetic is the Cython kernels' to the letter, double literals included (1.0 - y is a
   double, as Cython wrote it), so the bits stay theirs. Piecewise kernels load every operand before
   the select: a load under the condition might fault, which SSE2 cannot vectorize (no masked
   loads); an arm's arithmetic may be computed and discarded (-fno-trapping-math). The libm calls
   keep their kernels scalar; the FMA levels still contract their arithmetic as -march=native did.
   FWD and BWD are the two parameter lists. */

static inline __attribute__((always_inline)) T FN(sigmoid)(T v) {
    if (v >= 0) return 1.0 / (1.0 + LIBM(exp)(-v));  /* exp of a non-positive argument only: no overflow */
    T e = LIBM(exp)(v);
    return e / (1.0 + e);
}

static inline __attribute__((always_inline)) T FN(gelu_tanh_gate)(T v) {
    /* 0.5 * (1 + tanh(u)) == sigmoid(2u): the sigmoid form keeps the negative tail accurate */
    return FN(sigmoid)((T)(2.0 * MG_SQRT_2_OVER_PI) * (v + (T)MG_GELU_C * v * v * v));
}

#define FWD const T* restrict x, T* restrict y, int64_t start, int64_t stop, T p
#define BWD const T* restrict dy, const T* restrict x, T* restrict dx, int64_t start, int64_t stop, T p

static void FN(relu_forward)(FWD) {
    for (int64_t i = start; i < stop; i++) {
        y[i] = x[i] <= 0 ? 0 : x[i];  /* NaN propagates */
    }
}

static void FN(leaky_relu_forward)(FWD) {
    for (int64_t i = start; i < stop; i++) {
        T v = x[i], t = p * v;
        y[i] = v < 0 ? t : v;
    }
}

static void FN(elu_forward)(FWD) {
    for (int64_t i = start; i < stop; i++) {
        y[i] = x[i] > 0 ? x[i] : p * LIBM(expm1)(x[i]);  /* expm1: exact for tiny |x| */
    }
}

static void FN(selu_forward)(FWD) {
    for (int64_t i = start; i < stop; i++) {
        T s = (T)MG_SELU_SCALE;
        y[i] = x[i] > 0 ? s * x[i] : s * (T)MG_SELU_ALPHA * LIBM(expm1)(x[i]);
    }
}

static void FN(gelu_forward)(FWD) {
    for (int64_t i = start; i < stop; i++) {
        /* 0.5 * erfc(-x/sqrt2) == Phi(x) without the cancellation of 1 + erf for x << 0 */
        y[i] = (T)0.5 * x[i] * LIBM(erfc)(-x[i] * (T)MG_INV_SQRT_2);
    }
}

static void FN(gelu_tanh_forward)(FWD) {
    for (int64_t i = start; i < stop; i++) {
        y[i] = x[i] * FN(gelu_tanh_gate)(x[i]);
    }
}

static void FN(sigmoid_forward)(FWD) {
    for (int64_t i = start; i < stop; i++) {
        y[i] = FN(sigmoid)(x[i]);
    }
}

static void FN(hard_sigmoid_forward)(FWD) {
    for (int64_t i = start; i < stop; i++) {
        T v = (x[i] + 3.0) / 6.0;  /* Keras 3: relu6(x + 3) / 6 */
        y[i] = v <= 0 ? 0 : (v >= 1 ? 1 : v);
    }
}

static void FN(tanh_forward)(FWD) {
    for (int64_t i = start; i < stop; i++) {
        y[i] = LIBM(tanh)(x[i]);
    }
}

static void FN(softplus_forward)(FWD) {
    for (int64_t i = start; i < stop; i++) {
        /* log(1 + e^x) = max(x, 0) + log1p(e^-|x|): never overflows */
        y[i] = x[i] > 0 ? x[i] + LIBM(log1p)(LIBM(exp)(-x[i])) : LIBM(log1p)(LIBM(exp)(x[i]));
    }
}

static void FN(silu_forward)(FWD) {
    for (int64_t i = start; i < stop; i++) {
        y[i] = x[i] * FN(sigmoid)(x[i]);
    }
}

static void FN(relu_backward)(BWD) {
    for (int64_t i = start; i < stop; i++) {
        T g = dy[i];
        dx[i] = x[i] > 0 ? g : 0;
    }
}

static void FN(leaky_relu_backward)(BWD) {
    for (int64_t i = start; i < stop; i++) {
        T g = dy[i], t = p * g;
        dx[i] = x[i] < 0 ? t : g;
    }
}

static void FN(elu_backward)(BWD) {
    for (int64_t i = start; i < stop; i++) {
        dx[i] = x[i] > 0 ? dy[i] : dy[i] * p * LIBM(exp)(x[i]);
    }
}

static void FN(selu_backward)(BWD) {
    for (int64_t i = start; i < stop; i++) {
        T s = (T)MG_SELU_SCALE;
        dx[i] = x[i] > 0 ? s * dy[i] : s * (T)MG_SELU_ALPHA * dy[i] * LIBM(exp)(x[i]);
    }
}

static void FN(gelu_backward)(BWD) {
    for (int64_t i = start; i < stop; i++) {
        T v = x[i];  /* the pdf term is exactly 0 past |x| = 40: no inf * 0 there */
        dx[i] = v > 40 || v < -40 ? dy[i] * (v > 0 ? 1 : 0)
                : dy[i] * ((T)0.5 * LIBM(erfc)(-v * (T)MG_INV_SQRT_2)
                           + v * (T)MG_INV_SQRT_2PI * LIBM(exp)((T)-0.5 * v * v));
    }
}

static void FN(gelu_tanh_backward)(BWD) {
    for (int64_t i = start; i < stop; i++) {
        /* d/dx [x * sigmoid(2u)] = g + x g (1 - g) 2u'; past |x| = 20 the second term is below
           1e-200 but x^3 could overflow into inf * 0 */
        T v = x[i], g = FN(gelu_tanh_gate)(v);
        dx[i] = v > 20 || v < -20 ? dy[i] * g
                : dy[i] * (g + v * g * (1.0 - g) * (T)(2.0 * MG_SQRT_2_OVER_PI)
                                   * (1.0 + (T)(3.0 * MG_GELU_C) * v * v));
    }
}

static void FN(sigmoid_backward)(BWD) {
    for (int64_t i = start; i < stop; i++) {
        dx[i] = dy[i] * x[i] * (1.0 - x[i]);  /* x holds y = sigmoid(x) */
    }
}

static void FN(hard_sigmoid_backward)(BWD) {
    for (int64_t i = start; i < stop; i++) {
        T v = x[i], g = dy[i] * (T)(1.0 / 6.0);
        dx[i] = (v > -3) & (v < 3) ? g : 0;  /* `&`: `&&` would branch */
    }
}

static void FN(tanh_backward)(BWD) {
    for (int64_t i = start; i < stop; i++) {
        dx[i] = dy[i] * (1.0 - x[i] * x[i]);  /* x holds y = tanh(x) */
    }
}

static void FN(softplus_backward)(BWD) {
    for (int64_t i = start; i < stop; i++) {
        dx[i] = dy[i] * FN(sigmoid)(x[i]);
    }
}

static void FN(silu_backward)(BWD) {
    for (int64_t i = start; i < stop; i++) {
        T s = FN(sigmoid)(x[i]);
        dx[i] = dy[i] * s * (1.0 + x[i] * (1.0 - s));
    }
}
#undef FWD
#undef BWD
