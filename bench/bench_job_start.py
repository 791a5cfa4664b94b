"""How long a fine-tune job takes to start: from submit to its first progress, and to its first step.

    OMP_NUM_THREADS=1 taskset -c 1 python bench/bench_job_start.py [--jobs 5] [--nice 10] [--model NAME_OR_FOLDER]

Submits a few tiny fine-tunes (5 steps of the tests' smoke char model, one after another) through
rnnlm.service.jobs.JobManager, as the page does, and polls the snapshot every 2 ms: "first
progress" is the job's first report (it is scoring the base model: its characters per token are
known), "first step" the trainer's first on_step. The first job of a server process also starts
the fork server, which loads torch and the trainer before it forks anything: printed
separately. --nice is the job processes' niceness above this one (RNNLM_JOB_NICE): on a busy
core a nicer job waits longer for the CPU.
Prints figures; asserts nothing.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import rnnlm
from rnnlm.service.job_spec import JobSpec
from rnnlm.service.jobs import JobManager, ProcessLimits
from rnnlm.service.session_store import SessionStore

SMOKE_MODEL = Path(__file__).resolve().parent.parent / "tests" / "models" / "smoke-char-lstm"
TEXT = "".join(f"int count_{i % 7}(void) {{ return {i % 7}; }}\n" for i in range(400))


def timed_job(manager: JobManager, base, session: str) -> tuple[float, float, float]:
    """(seconds to first progress, to first step, to done) of one job."""
    spec = JobSpec(TEXT, base=base, minutes=0, steps=5, sample_tokens=20, prompt="int ",
                   overrides={"batch_size": 8, "window": 32, "eval_every": 5})
    started = time.perf_counter()
    job = manager.submit(session, spec)
    first_progress = first_step = None
    while True:
        snap = manager.snapshot(job)
        now = time.perf_counter() - started
        if first_progress is None and (snap.chars_per_token is not None or snap.step or snap.finished):
            first_progress = now
        if first_step is None and (snap.step or snap.finished):
            first_step = now
        if snap.finished:
            assert snap.status == "done", snap.message
            return first_progress, first_step, now
        time.sleep(0.002)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5)
    parser.add_argument("--model", default=str(SMOKE_MODEL))
    parser.add_argument("--nice", type=int, default=ProcessLimits().nice)
    args = parser.parse_args()
    base = rnnlm.load(args.model)
    with tempfile.TemporaryDirectory() as folder:
        manager = JobManager(SessionStore(folder), limits=ProcessLimits(nice=args.nice))
        cold = timed_job(manager, base, "cold")
        print(f"first job (with the fork server's start): first progress {cold[0]:.3f} s, "
              f"first step {cold[1]:.3f} s, done {cold[2]:.3f} s")
        warm = [timed_job(manager, base, f"s{i}") for i in range(args.jobs)]
        for label, index in (("first progress", 0), ("first step", 1), ("done", 2)):
            values = [w[index] for w in warm]
            print(f"later jobs ({args.jobs}), {label}: median {statistics.median(values):.3f} s, "
                  f"min {min(values):.3f} s, max {max(values):.3f} s")
        for session in ["cold"] + [f"s{i}" for i in range(args.jobs)]:
            manager.end_session(session)


if __name__ == "__main__":
    main()
