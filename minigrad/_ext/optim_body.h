/* The fused optimizer updates of one element type T at one ISA level (optim_isa.h includes this for
   float and double after defining T, FN(name) and LIBM(name): sqrtf or sqrt). Each walks w, its
   gradient and its slot buffers once over [start, stop): gradient scaling and clipping (clip = inf
   is off), decoupled weight decay (wd = 0 is off), the slot updates and the weight update, in
   Keras' order of operations; `1.0 - r` is a double, as the Cython kernels had it, so the bits stay
   theirs. Options that change which buffers are touched (momentum, nesterov, centered, amsgrad)
   select one of the always-inlined loops with literal flags: each compiles to a branch-free vector
   loop. The buffers never overlap (minigrad.kernels.optim checks), hence restrict. */

static inline __attribute__((always_inline)) T FN(prepare)(T gi, T scale, T clip) {
    gi = gi * scale;
    gi = gi > clip ? clip : gi;
    return gi < -clip ? -clip : gi;
}

static inline __attribute__((always_inline)) void FN(sgd_loop)(
        T* restrict w, const T* restrict g, T* restrict m, int64_t start, int64_t stop, T lr, T mu,
        T scale, T clip, T wd, const int momentum, const int nesterov) {
    for (int64_t i = start; i < stop; i++) {
        T gi = FN(prepare)(g[i], scale, clip);
        T wi = w[i] - w[i] * wd * lr;
        if (momentum) {
            T mi = m[i] * mu - gi * lr;
            m[i] = mi;
            w[i] = nesterov ? wi + (mi * mu - gi * lr) : wi + mi;
        } else {
            w[i] = wi - gi * lr;
        }
    }
}

static void FN(sgd)(T* w, const T* g, T* m, int64_t start, int64_t stop, T lr, T mu, T scale,
                    T clip, T wd, int nesterov) {
    if (mu == 0) FN(sgd_loop)(w, g, m, start, stop, lr, mu, scale, clip, wd, 0, 0);
    else if (nesterov) FN(sgd_loop)(w, g, m, start, stop, lr, mu, scale, clip, wd, 1, 1);
    else FN(sgd_loop)(w, g, m, start, stop, lr, mu, scale, clip, wd, 1, 0);
}

static inline __attribute__((always_inline)) void FN(rmsprop_loop)(
        T* restrict w, const T* restrict g, T* restrict v, T* restrict mom, T* restrict avg,
        int64_t start, int64_t stop, T lr, T r, T mu, T eps, T scale, T clip, T wd,
        const int momentum, const int centered) {
    for (int64_t i = start; i < stop; i++) {
        T gi = FN(prepare)(g[i], scale, clip);
        T wi = w[i] - w[i] * wd * lr;
        T vi = r * v[i] + (1.0 - r) * (gi * gi);
        T den, inc;
        v[i] = vi;
        if (centered) {
            T ai = r * avg[i] + (1.0 - r) * gi;
            avg[i] = ai;
            den = vi - ai * ai + eps;
        } else {
            den = vi + eps;
        }
        inc = lr * gi / LIBM(sqrt)(den);
        if (momentum) {
            inc = mu * mom[i] + inc;
            mom[i] = inc;
        }
        w[i] = wi - inc;
    }
}

static void FN(rmsprop)(T* w, const T* g, T* v, T* mom, T* avg, int64_t start, int64_t stop, T lr,
                        T r, T mu, T eps, T scale, T clip, T wd, int centered) {
    if (mu > 0 && centered)
        FN(rmsprop_loop)(w, g, v, mom, avg, start, stop, lr, r, mu, eps, scale, clip, wd, 1, 1);
    else if (mu > 0)
        FN(rmsprop_loop)(w, g, v, mom, avg, start, stop, lr, r, mu, eps, scale, clip, wd, 1, 0);
    else if (centered)
        FN(rmsprop_loop)(w, g, v, mom, avg, start, stop, lr, r, mu, eps, scale, clip, wd, 0, 1);
    else
        FN(rmsprop_loop)(w, g, v, mom, avg, start, stop, lr, r, mu, eps, scale, clip, wd, 0, 0);
}

static inline __attribute__((always_inline)) void FN(adam_loop)(
        T* restrict w, const T* restrict g, T* restrict m, T* restrict v, T* restrict vh,
        int64_t start, int64_t stop, T alpha, T c1, T c2, T eps, T lr, T scale, T clip, T wd,
        const int amsgrad) {
    for (int64_t i = start; i < stop; i++) {
        T gi = FN(prepare)(g[i], scale, clip);
        T wi = w[i] - w[i] * wd * lr;
        T mi = m[i] + (gi - m[i]) * c1;
        T vi = v[i] + (gi * gi - v[i]) * c2;
        m[i] = mi;
        v[i] = vi;
        if (amsgrad) {
            vi = vi > vh[i] ? vi : vh[i];
            vh[i] = vi;
        }
        w[i] = wi - (mi * alpha) / (LIBM(sqrt)(vi) + eps);
    }
}

static void FN(adam)(T* w, const T* g, T* m, T* v, T* vh, int64_t start, int64_t stop, T alpha,
                     T c1, T c2, T eps, T lr, T scale, T clip, T wd, int amsgrad) {
    if (amsgrad) FN(adam_loop)(w, g, m, v, vh, start, stop, alpha, c1, c2, eps, lr, scale, clip, wd, 1);
    else FN(adam_loop)(w, g, m, v, vh, start, stop, alpha, c1, c2, eps, lr, scale, clip, wd, 0);
}

static void FN(adagrad)(T* restrict w, const T* restrict g, T* restrict acc, int64_t start,
                        int64_t stop, T lr, T eps, T scale, T clip, T wd) {
    for (int64_t i = start; i < stop; i++) {
        T gi = FN(prepare)(g[i], scale, clip);
        T wi = w[i] - w[i] * wd * lr;
        T ai = acc[i] + gi * gi;
        acc[i] = ai;
        w[i] = wi - lr * gi / LIBM(sqrt)(ai + eps);
    }
}

static void FN(ema)(T* restrict avg, const T* restrict w, int64_t start, int64_t stop, T mu) {
    for (int64_t i = start; i < stop; i++) avg[i] = mu * avg[i] + (1.0 - mu) * w[i];
}
