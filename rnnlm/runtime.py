"""Process-wide thread settings for CPU inference and training.

Two thread pools matter: torch's OpenMP pool (fused forward, training) and NumPy's
OpenBLAS pool (the per-token stepper). Both busy-wait at synchronisation points, so
when more threads want the cores than there are cores (a server sampling for several
sessions while a fine-tune runs) a 2-thread matrix-vector product can take 40x longer
than a 1-thread one. Single-user tools use every core; a shared server uses one BLAS
thread per request.
"""

import os

import torch
from threadpoolctl import threadpool_limits


def available_cores() -> int:
    """Cores this process may run on (respects taskset / container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def configure_threads(max_threads: int | None = None, blas_threads: int | None = None) -> int:
    """Use every available core (or at most max_threads) for torch ops, and blas_threads
    (default: the same number) for NumPy's BLAS."""
    threads = available_cores() if max_threads is None else max(1, min(max_threads, available_cores()))
    torch.set_num_threads(threads)
    threadpool_limits(limits=blas_threads or threads, user_api="blas")
    return threads
