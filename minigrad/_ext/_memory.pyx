"""glibc allocator tuning: keep freed memory for the next training step instead of returning it.

glibc caps M_MMAP_THRESHOLD at 32 MiB, so a larger block (the first conv's output at batch 1000
is 86 MB) would still come from mmap, fresh and zeroed by the kernel on every call: M_MMAP_MAX = 0
serves every block from the heap, whose freed top is kept up to the trim threshold."""

cdef extern from *:
    """
    #if defined(__GLIBC__)
    #include <malloc.h>
    static int mg_keep_freed_memory(int mmap_threshold, int trim_threshold) {
        return mallopt(M_MMAP_THRESHOLD, mmap_threshold) && mallopt(M_TRIM_THRESHOLD, trim_threshold)
            && mallopt(M_MMAP_MAX, 0);
    }
    #else
    static int mg_keep_freed_memory(int mmap_threshold, int trim_threshold) {
        (void)mmap_threshold; (void)trim_threshold; return 0;
    }
    #endif
    """
    int mg_keep_freed_memory(int mmap_threshold, int trim_threshold) nogil


def keep_freed_memory(int mmap_threshold, int trim_threshold) -> bool:
    """mallopt M_MMAP_THRESHOLD, M_TRIM_THRESHOLD and M_MMAP_MAX = 0; False where not glibc."""
    return bool(mg_keep_freed_memory(mmap_threshold, trim_threshold))
