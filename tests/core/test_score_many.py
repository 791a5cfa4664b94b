"""Scoring one text with several models side by side (rnnlm.score_many)."""

import threading

import numpy as np
import pytest
import torch
from conftest import tiny_model

from rnnlm import SettingsError, score_text
from rnnlm.score_many import ScoreJob, ScorePool, ScoringInterrupted, by_cost, score_many, shared_pool, wait_all


@pytest.fixture
def models(char_tokenizer, word_tokenizer):
    return {"gru": tiny_model(char_tokenizer, cell="gru", hidden=48), "lstm": tiny_model(char_tokenizer, hidden=32),
            "rnn": tiny_model(char_tokenizer, cell="rnn", hidden=40, seed=3),
            "word-gru": tiny_model(word_tokenizer, cell="gru", hidden=24)}


def torch_threads_in_a_new_thread() -> int:
    seen = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return seen[0]


@pytest.mark.parametrize("precision", ["bfloat16", "float32"])
def test_side_by_side_scores_equal_each_model_scored_alone(models, shakespeare_text, precision):
    text = shakespeare_text[:3_000]
    alone = {name: score_text(lm, text, precision=precision, warmup=64) for name, lm in models.items()}
    seen = []
    together = score_many(models, text, workers=2, on_progress=lambda jobs: seen.append(jobs),
                          precision=precision, warmup=64)
    assert list(together) == list(models)
    for name, result in together.items():
        np.testing.assert_array_equal(result.logprobs, alone[name].logprobs)
        assert result.token_texts == alone[name].token_texts and result.chars == len(text)
    assert seen and all(job.fraction == 1.0 for job in seen[-1])


def test_one_worker_scores_in_the_callers_thread_and_reports_every_window(models, shakespeare_text):
    text = shakespeare_text[:2_000]
    threads, fractions = [], []

    def on_progress(jobs):
        threads.append(threading.current_thread())
        fractions.append(sum(job.fraction for job in jobs) / len(jobs))

    together = score_many(models, text, workers=1, on_progress=on_progress, window=50)
    assert set(threads) == {threading.current_thread()}
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) > len(models)
    for name, lm in models.items():
        np.testing.assert_array_equal(together[name].logprobs, score_text(lm, text, window=50).logprobs)


def test_workers_run_one_torch_thread_each_and_leave_the_process_count_alone():
    class Probe(ScoreJob):
        def run(self, on_step=None):
            self.future.set_running_or_notify_cancel()
            self.future.set_result((threading.current_thread().name, torch.get_num_threads()))

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        pool = ScorePool(2)
        assert torch.get_num_threads() == 2 and torch_threads_in_a_new_thread() == 2
        jobs = {str(i): pool.submit(Probe(str(i), None, "")) for i in range(4)}
        wait_all(jobs)
        answers = [job.result() for job in jobs.values()]
    finally:
        torch.set_num_threads(before)
    assert {count for _, count in answers} == {1}
    assert {name for name, _ in answers} <= {"rnnlm-score-0", "rnnlm-score-1"}


def test_a_failing_job_raises_for_its_waiter_and_the_worker_goes_on(models, shakespeare_text):
    pool = shared_pool(2)
    bad = pool.submit(ScoreJob("bad", models["gru"], "some text", {"precision": "half"}))
    good = pool.submit(ScoreJob("good", models["gru"], "some text", {}))
    wait_all({"bad": bad, "good": good})
    with pytest.raises(SettingsError, match="precision"):
        bad.result()
    np.testing.assert_array_equal(good.result().logprobs, score_text(models["gru"], "some text").logprobs)


def test_a_job_runs_once_whoever_asks(models):
    job = ScoreJob("gru", models["gru"], "abc abc", {})
    job.run()
    job.run()  # a second waiter (another session) finds it taken
    assert job.result().tokens == 7 and job.fraction == 1.0
    kept = ScoreJob.finished("kept", job.result())
    assert kept.future.done() and kept.result() is job.result()


def test_the_largest_models_start_first(models):
    order = by_cost(models)
    costs = [models[name].net.config.parameter_count() for name in order]
    assert costs == sorted(costs, reverse=True) and set(order) == set(models)


def test_a_stopped_reader_stops_and_the_others_waiting_get_an_error_they_can_show(models):
    class Stop(BaseException):  # as Streamlit's StopException: not an Exception
        pass

    def stop():
        raise Stop

    job = ScoreJob("gru", models["gru"], "a text " * 40, {"window": 8})
    with pytest.raises(Stop):
        job.run(stop)
    with pytest.raises(ScoringInterrupted, match="gru was stopped"):
        job.result()
