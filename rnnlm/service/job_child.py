"""The training process of one job: run_child is its entry point (job_process starts it).

    run_child(task, conn)   # task: job_task's plain dict; conn: the write end of a Pipe

In order: SIGTERM becomes "stop after this step, keep the best model" (Cancel); the process
lowers its own CPU priority (nice) and, if a ceiling is set, caps its address space; it sets
torch's threads; it loads the base model from its folder (validated, as any model); then
train_job runs and every message (job_progress) goes to the server through conn, the last one
a result, "not_started" or an error.

If the server goes away, the next message fails (a pipe with no reader): the process ends
there rather than train for nobody.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import threading

from ..errors import RnnlmError
from ..runtime import configure_threads
from .job_progress import encode, result_message
from .job_run import train_job
from .job_task import spec_from_task
from .settings import ENV_NAMES

log = logging.getLogger(__name__)
MB = 1 << 20


def run_child(task: dict, conn) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())  # first: Cancel may come at once

    def send(message: dict) -> None:
        conn.send_bytes(encode(message))

    try:
        lower_priority(task["nice"])
        limit_memory(task["memory_mb"])
        configure_threads(task["threads"])  # torch's, and BLAS's for sampling
        spec, name, run_dir = spec_from_task(task)
        result = train_job(spec, name, run_dir, task["threads"], send, stop.is_set)
        send(result_message(result) if result is not None else {"kind": "not_started"})
    except BrokenPipeError:  # the server is gone: nobody to train for
        return
    except Exception as exc:  # every failure reaches the page as one line; the log keeps the traceback
        problem = failure_message(exc, task["memory_mb"])
        if not isinstance(exc, RnnlmError) and not out_of_memory(exc):  # a bug
            log.exception("training job %s failed", task.get("name"))
        try:
            send({"kind": "error", "message": problem})
        except OSError:
            pass
    finally:
        conn.close()


def lower_priority(target: int) -> None:
    """Raise this process's niceness to target (lowering it would need privileges, and is not asked),
    and where Linux offers it, move it to SCHED_IDLE: it then runs only on CPU time nothing else
    wants, and a page's sampling thread that wakes up is placed on its core at once. Niceness alone
    let a job take about a core from 8 visitors sampling at once (bench/bench_pool.py --job-seconds,
    docs/DEPLOY.md). Called before the training threads start, so they inherit both."""
    current = os.nice(0)
    if target > current:
        os.nice(target - current)
    if target > 0 and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError:  # a kernel or sandbox that refuses it: niceness stays
            log.warning("could not move the training job to SCHED_IDLE; it runs at nice %d", target)


def address_space_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as handle:
        return int(handle.read().split()[0]) * resource.getpagesize()


def limit_memory(memory_mb: float) -> None:
    """Cap the address space (RLIMIT_AS) at memory_mb MiB; 0: no ceiling. An allocation beyond it
    fails inside this process (MemoryError), long before the machine's out-of-memory killer acts."""
    if not memory_mb:
        return
    ceiling, used = int(memory_mb * MB), address_space_bytes()
    if used >= ceiling:
        raise RnnlmError(f"the server's memory ceiling for training, {ENV_NAMES['job_memory_mb']}={memory_mb:g} MiB, "
                         f"is below the {used / MB:,.0f} MiB a training process maps before it loads anything; "
                         "ask the server's operator to raise it")
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))


def out_of_memory(exc: Exception) -> bool:
    return isinstance(exc, MemoryError) or "can't allocate memory" in str(exc)  # torch's allocator says so


def failure_message(exc: Exception, memory_mb: float) -> str:
    if isinstance(exc, RnnlmError):
        return str(exc)
    if out_of_memory(exc):
        ceiling = f" (a job may use {memory_mb:g} MiB here)" if memory_mb else ""
        return f"training ran out of memory{ceiling}; try a smaller model, a from-scratch preset or less text"
    return f"training failed: {type(exc).__name__}: {exc}"
