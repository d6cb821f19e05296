/* Row helpers of the conv driver for one element type: conv_kernels.h includes this for float
   and double after defining T and ROWS(name). restrict lets the compiler vectorise them (the
   same loops in Cython ran scalar: their pointers might alias). The bias gradient is sum_rows in
   each ISA level's table (conv_body.h). */
static void ROWS(mg_add_rows)(T* restrict y, int64_t rows, int64_t F, const T* restrict b) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t f = 0; f < F; f++) y[r * F + f] += b[f];
}
static void ROWS(mg_relu)(T* restrict y, int64_t n) {  /* the fused activation, in cache */
    for (int64_t e = 0; e < n; e++) y[e] = y[e] <= 0 ? 0 : y[e];  /* NaN propagates */
}
static inline void ROWS(mg_add)(T* restrict dst, const T* restrict src, int64_t n) {
    for (int64_t e = 0; e < n; e++) dst[e] += src[e];  /* col2im's scatter-add */
}
