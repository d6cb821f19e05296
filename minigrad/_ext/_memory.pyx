"""glibc allocator tuning: keep freed memory for the next training step instead of returning it."""

cdef extern from *:
    """
    #if defined(__GLIBC__)
    #include <malloc.h>
    static int mg_keep_freed_memory(int mmap_threshold, int trim_threshold) {
        return mallopt(M_MMAP_THRESHOLD, mmap_threshold) && mallopt(M_TRIM_THRESHOLD, trim_threshold);
    }
    #else
    static int mg_keep_freed_memory(int mmap_threshold, int trim_threshold) {
        (void)mmap_threshold; (void)trim_threshold; return 0;
    }
    #endif
    """
    int mg_keep_freed_memory(int mmap_threshold, int trim_threshold) nogil


def keep_freed_memory(int mmap_threshold, int trim_threshold) -> bool:
    """mallopt(M_MMAP_THRESHOLD, ...) and mallopt(M_TRIM_THRESHOLD, ...); False where not glibc."""
    return bool(mg_keep_freed_memory(mmap_threshold, trim_threshold))
