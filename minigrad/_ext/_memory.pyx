"""glibc allocator tuning: keep freed memory for the next training step instead of returning it.

glibc caps M_MMAP_THRESHOLD at 32 MiB, so raising it would still leave a larger block (the first
conv's output at batch 1000 is 86 MB) to mmap, fresh and zeroed by the kernel on every call:
M_MMAP_MAX = 0 serves every block from the heap, whose freed top is kept up to the trim threshold
(glibc falls back to mmap only when the heap cannot grow)."""

cdef extern from *:
    """
    #if defined(__GLIBC__)
    #include <malloc.h>
    static int mg_keep_freed_memory(int trim_threshold) {
        return mallopt(M_MMAP_MAX, 0) && mallopt(M_TRIM_THRESHOLD, trim_threshold);
    }
    #else
    static int mg_keep_freed_memory(int trim_threshold) {
        (void)trim_threshold; return 0;
    }
    #endif
    """
    int mg_keep_freed_memory(int trim_threshold) nogil


def keep_freed_memory(int trim_threshold) -> bool:
    """mallopt M_MMAP_MAX = 0 (no mmap, so no threshold to tune) and M_TRIM_THRESHOLD; False
    where not glibc."""
    return bool(mg_keep_freed_memory(trim_threshold))
