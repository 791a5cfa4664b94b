"""The trainer's warning when throughput collapses (another process took a core)."""

from rnnlm.runtime import ThroughputWatch


def feed(watch, rates, start=1):
    return [watch.check(step, rate) for step, rate in enumerate(rates, start)]


def test_a_lasting_collapse_is_reported_once_with_what_to_do():
    watch = ThroughputWatch(threads=2, patience=5)
    said = [w for w in feed(watch, [500] * 20 + [3900] * 30 + [280] * 40) if w]
    assert len(said) == 1
    assert "3,900 to 280 tokens/s" in said[0] and "threads=1" in said[0]


def test_warm_up_and_short_dips_say_nothing():
    watch = ThroughputWatch(threads=2, patience=5)
    rates = [100] * 20 + [3900] * 30 + ([1000] * 4 + [3900] * 10) * 5  # dips shorter than the patience
    assert not any(feed(watch, rates))


def test_free_cores_leave_out_the_busy_ones(monkeypatch):
    from rnnlm import runtime

    monkeypatch.setattr(runtime, "available_cores", lambda: 2)
    assert runtime.free_cores(0.1) == 2 and runtime.free_cores(1.2) == 1 and runtime.free_cores(7.0) == 1
