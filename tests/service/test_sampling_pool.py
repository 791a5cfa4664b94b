"""The sampling pool: the same steps as sampling alone, fair slices, cancellation, bounded threads."""

import os
import threading
import time

import pytest
from conftest import tiny_model

from rnnlm import SamplingSettings, SettingsError, generate
from rnnlm.service.sampling_pool import SamplingPool, shared_pool

LONG = SamplingSettings(max_new_tokens=10_000, seed=3)


@pytest.fixture(scope="module")
def model(char_tokenizer):
    """Wide enough that 10,000 tokens take a few seconds: the long task stays long under load."""
    return tiny_model(char_tokenizer, cell="lstm", hidden=384)


def collect(task, timeout: float = 30.0) -> list:
    """Every step of a task, in order, until it ends."""
    steps, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch, over = task.wait(0.5)
        steps += batch
        if over:
            return steps
    raise AssertionError("the task did not end")


def fingerprint(steps) -> list[tuple]:
    return [(s.index, s.token_id, s.text, s.from_prompt, s.prob, s.model_prob, s.entropy, s.top) for s in steps]


def test_steps_are_exactly_those_of_sampling_alone(any_model):
    settings = SamplingSettings(temperature=0.9, top_k=20, top_p=0.95, max_new_tokens=120, seed=11)
    pool = SamplingPool(workers=2, slice_seconds=0.0005)  # a slice of a token or two: many pauses
    tasks = [pool.submit(generate(any_model, "The ", settings)) for _ in range(3)]
    expected = fingerprint(generate(any_model, "The ", settings))
    assert all(fingerprint(collect(task)) == expected for task in tasks)


def test_a_late_short_task_ends_before_an_early_long_one(model):
    pool = SamplingPool(workers=1, slice_seconds=0.002)
    long = pool.submit(generate(model, "", LONG))
    time.sleep(0.01)  # the long one is running
    short = pool.submit(generate(model, "", SamplingSettings(max_new_tokens=20, seed=4)))
    assert len([s for s in collect(short) if not s.from_prompt]) == 20
    taken, over = long.wait(0)
    assert not over and 0 < len(taken) < 10_000  # the long one has started and is far from done
    long.cancel()


def test_generations_take_turns_in_slices(model):
    """Two long generations on one worker both advance: neither waits for the other to end."""
    pool = SamplingPool(workers=1, slice_seconds=0.002)
    first, second = (pool.submit(generate(model, "", LONG)) for _ in range(2))
    counts, deadline = [0, 0], time.monotonic() + 5.0
    while min(counts) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
        counts = [count + len(task.wait(0)[0]) for count, task in zip(counts, (first, second))]
    assert min(counts) > 0 and max(counts) < 10_000  # both under way, neither anywhere near done
    first.cancel()
    second.cancel()


def test_cancel_stops_the_task_and_frees_its_worker(model):
    pool = SamplingPool(workers=1, slice_seconds=0.002)
    steps_iterator = generate(model, "", LONG)
    task = pool.submit(steps_iterator)
    first_batch, _ = task.wait(5.0)
    assert first_batch
    task.cancel()
    deadline = time.monotonic() + 5.0
    while steps_iterator.gi_frame is not None and time.monotonic() < deadline:
        time.sleep(0.01)  # the worker ends its slice, drops the task and closes the generator
    assert steps_iterator.gi_frame is None  # closed: it will never run again
    assert task.wait(0.1) == ([], False)  # and nothing more was handed over
    after = pool.submit(generate(model, "", SamplingSettings(max_new_tokens=5)))
    assert len(collect(after, timeout=5.0)) == 5  # the one worker serves the next task


def test_workers_are_bounded(model):
    running, most = [0], [0]
    lock = threading.Lock()

    def counted(steps):
        """The real steps, counting how many generations are inside a step at once."""
        for step in steps:
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.0005)  # long enough for the others to overlap if they could
            with lock:
                running[0] -= 1
            yield step

    pool = SamplingPool(workers=2, slice_seconds=0.002)
    tasks = [pool.submit(counted(generate(model, "", SamplingSettings(max_new_tokens=60, seed=i)))) for i in range(6)]
    for task in tasks:
        collect(task)
    assert pool.thread_count() == 2 and most[0] == 2


def test_a_refused_setting_is_raised_to_the_waiter(model):
    task = SamplingPool(workers=1).submit(generate(model, "", SamplingSettings(temperature=-1)))
    with pytest.raises(SettingsError, match="temperature must be between 0"):
        collect(task)


def test_a_pool_needs_a_worker():
    with pytest.raises(ValueError, match="at least one worker"):
        SamplingPool(workers=0)


def test_the_process_has_one_shared_pool_with_a_worker_per_core():
    found = []
    threads = [threading.Thread(target=lambda: found.append(shared_pool())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(pool) for pool in found}) == 1  # sessions arriving at once share one pool
    assert found[0].workers == len(os.sched_getaffinity(0))


def test_tasks_per_worker_counts_the_queued_and_the_running(model):
    pool = SamplingPool(workers=2, slice_seconds=0.002)
    assert pool.tasks_per_worker() == 0
    tasks = [pool.submit(generate(model, "", LONG)) for _ in range(5)]
    time.sleep(0.05)  # the workers have taken some
    assert pool.tasks_per_worker() == 2.5  # every task, whether queued or in a worker's slice
    for task in tasks:
        task.cancel()
    deadline = time.monotonic() + 5.0
    while pool.tasks_per_worker() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pool.tasks_per_worker() == 0  # cancelled tasks leave at their next slice
