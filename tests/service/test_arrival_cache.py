"""The arrival cache: one computation per key however many ask at once, bounded, and nothing
kept from a computation that was given up."""

import threading
import time

import pytest
from conftest import run_together, tiny_model

from rnnlm.checkpoint import load_model, save_model
from rnnlm.service.arrival_cache import ArrivalCache, model_identity


class Stopped(Exception):
    """What a page that is told to stop raises (Streamlit's own is a BaseException)."""


def ask_at_once(cache, key, count: int, compute, waiting=lambda progress: None) -> list:
    """count threads fetching key together; their results (or exceptions), in thread order."""
    return run_together(count, lambda i: cache.fetch(key, start=list, compute=compute, waiting=waiting,
                                                     tick_seconds=0.01), timeout=30)


def test_concurrent_askers_share_one_computation_and_see_its_progress():
    cache, computed, seen = ArrivalCache(), [], []

    def compute(progress):
        computed.append(1)
        for word in ("to", "be", "or"):
            progress.append(word)
            time.sleep(0.05)
        return " ".join(progress)

    results = ask_at_once(cache, "key", 6, compute, waiting=lambda progress: seen.append(list(progress)))
    assert results == ["to be or"] * 6 and len(computed) == 1
    assert any(0 < len(progress) < 3 for progress in seen)  # the waiters watched it grow
    assert cache.finished("key") == "to be or"
    assert cache.fetch("key", start=list, compute=lambda _: pytest.fail("computed again"), waiting=print) == "to be or"


def test_only_finished_values_are_kept_and_the_least_recently_used_goes_first():
    cache = ArrivalCache(max_entries=2)
    for key in ("a", "b"):
        cache.fetch(key, start=list, compute=lambda _, key=key: key.upper(), waiting=print)
    assert cache.finished("a") == "A"  # now "b" is the least recently used
    cache.fetch("c", start=list, compute=lambda _: "C", waiting=print)
    assert len(cache) == 2 and cache.finished("b") is None and cache.finished("a") == "A"


def test_a_computation_given_up_keeps_nothing_and_a_waiter_computes_it():
    cache, attempts = ArrivalCache(), []

    def compute(progress):
        attempts.append(threading.current_thread().name)
        time.sleep(0.1)  # the others are waiting by now
        if len(attempts) == 1:
            raise Stopped  # the first asker's page was stopped midway
        return "text"

    results = ask_at_once(cache, "key", 3, compute)
    assert sum(isinstance(r, Stopped) for r in results) == 1 and results.count("text") == 2
    assert len(attempts) == 2 and cache.finished("key") == "text"


def test_a_waiter_that_leaves_does_not_stop_the_computation():
    cache, release = ArrivalCache(), threading.Event()

    def compute(progress):
        release.wait(10)
        return "text"

    def leave(progress):
        release.set()
        raise Stopped

    owner = threading.Thread(target=cache.fetch, args=("key", list, compute, print))
    owner.start()
    time.sleep(0.05)
    with pytest.raises(Stopped):
        cache.fetch("key", start=list, compute=compute, waiting=leave, tick_seconds=0.01)
    owner.join(10)
    assert cache.finished("key") == "text"


def test_model_identity_names_the_object_and_its_files(char_tokenizer, tmp_path):
    lm = tiny_model(char_tokenizer)
    assert model_identity(lm) == model_identity(lm)
    assert model_identity(lm) != model_identity(tiny_model(char_tokenizer))  # same weights, another object
    save_model(lm.net, lm.tokenizer, tmp_path / "m")
    first, second = load_model(tmp_path / "m"), load_model(tmp_path / "m")
    one, other = model_identity(first), model_identity(second)
    assert one[1:] == other[1:] and one[0] != other[0]
    assert one[2] == str(tmp_path / "m") and len(one[3]) == 64  # the folder and its config.json's sha256
    other_weights = tiny_model(char_tokenizer, seed=1)
    save_model(other_weights.net, other_weights.tokenizer, tmp_path / "n")
    assert model_identity(load_model(tmp_path / "n"))[3] != one[3]  # other weights: another checksum
