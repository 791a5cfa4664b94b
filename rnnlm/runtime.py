"""Process-wide settings for CPU inference and training."""

import os

import torch


def available_cores() -> int:
    """Cores this process may run on (respects taskset / container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def configure_threads(max_threads: int | None = None) -> int:
    """Use every available core (or at most max_threads) for torch ops."""
    threads = available_cores() if max_threads is None else max(1, min(max_threads, available_cores()))
    torch.set_num_threads(threads)
    return threads
