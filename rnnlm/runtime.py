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


def free_cores(load: float | None = None) -> int:
    """Available cores minus those other processes keep busy (the 1-minute load average,
    rounded). With one of 2 cores busy, a 2x512 GRU trained at 3,106 tokens/s on 2 spinning
    threads, 5,771 with OMP_WAIT_POLICY=PASSIVE and 6,177 on 1 thread (bench/bench_threads.py).
    With both cores idle: 5,948 on 1 thread, 7,981 on 2, and 5,720 on 2 with PASSIVE, which so
    costs 28% of an idle machine's speed. So the trainer keeps OpenMP's default (spinning) wait
    policy and takes no more threads than there are free cores, rather than waiting passively."""
    load = os.getloadavg()[0] if load is None and hasattr(os, "getloadavg") else (load or 0.0)
    return max(1, available_cores() - round(load))


def configure_threads(max_threads: int | None = None, blas_threads: int | None = None) -> int:
    """Use every available core (or at most max_threads) for torch ops, and blas_threads
    (default: the same number) for NumPy's BLAS."""
    threads = available_cores() if max_threads is None else max(1, min(max_threads, available_cores()))
    torch.set_num_threads(threads)
    threadpool_limits(limits=blas_threads or threads, user_api="blas")
    return threads


class ThroughputWatch:
    """Notices when training throughput collapses, which on a small machine almost always means
    another process took a core that this run's OpenMP threads spin-wait on: a 2-thread run
    measured ~3,900 tokens/s alone and ~280 with one core taken. Says so once, with what to do."""

    def __init__(self, threads: int | None = None, drop: float = 1 / 3, settle_steps: int = 20, patience: int = 10):
        """threads: the run's torch threads; None reads them when warning (the trainer sets them per rank)."""
        self.threads, self.drop, self.settle_steps, self.patience = threads, drop, settle_steps, patience
        self.best, self.slow_steps, self.warned = 0.0, 0, False

    def check(self, step: int, tokens_per_second: float) -> str | None:
        """A warning the first time throughput stays below `drop` of the best for `patience` steps."""
        if step <= self.settle_steps:  # the first steps warm up caches and allocators
            return None
        self.best = max(self.best, tokens_per_second)
        self.slow_steps = self.slow_steps + 1 if tokens_per_second < self.drop * self.best else 0
        if self.warned or self.slow_steps < self.patience:
            return None
        self.warned = True
        threads = self.threads or torch.get_num_threads()
        return (f"throughput fell from {self.best:,.0f} to {tokens_per_second:,.0f} tokens/s: another process is "
                f"probably using a core this run's {threads} thread(s) wait on. Stop it, or train with "
                f"threads={max(1, threads - 1)} so that the threads of all runs add up to the cores "
                f"({available_cores()} here).")
