"""Background jobs through the manager the page uses: fine-tune, cancel, queue, threads, cleanup.
(How a job sits in its own process: test_job_process.py.)

Tiny budgets (a few dozen steps of the shipped smoke models, small batches, one thread)
so the file runs in well under a minute next to a real training job.
"""

import os
import threading
import time

import pytest
import torch

import rnnlm
from rnnlm.errors import RnnlmError
from rnnlm.sampling import SamplingSettings, sample_text
from rnnlm.service.job_spec import JobSpec, train_config
from rnnlm.service.jobs import JobManager, held_out_split
from rnnlm.service.model_zip import import_model_zip, model_zip_bytes
from rnnlm.service.session_store import SessionStore

TINY = {"batch_size": 8, "window": 32, "lr": 5e-3, "warmup_steps": 2}


def corpus(lines: int = 400) -> str:
    """A new, very regular style (with characters Shakespeare never used) that a few steps learn."""
    return "".join(f"int count_{i % 7}(void) {{ return {i % 7}; }}\n" for i in range(lines))


def tiny_spec(base, steps=30, **changes) -> JobSpec:
    settings = {"text": corpus(), "base": base, "minutes": 0, "steps": steps, "sample_tokens": 40, "prompt": "int ",
                "seed": 3, "overrides": {**TINY, "eval_every": 10}}
    return JobSpec(**{**settings, **changes})


@pytest.fixture
def manager(tmp_path):
    made = JobManager(SessionStore(tmp_path / "sessions"))
    yield made
    for session in ("a", "b", "c"):
        made.end_session(session)


def wait_until(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def snapshot_weights(lm):
    return {name: t.detach().clone() for name, t in lm.net.state_dict().items()}


def test_a_fine_tune_lowers_the_held_out_loss_and_leaves_the_base_untouched(manager):
    base = rnnlm.load("smoke-char-lstm")
    weights, chars = snapshot_weights(base), list(base.tokenizer.chars)
    snap = manager.wait(manager.submit("a", tiny_spec(base)), timeout=120)
    assert snap.status == "done", snap.message
    result = snap.result
    assert result.val_after < result.val_before and result.relative_drop > 0.1
    assert result.stopped_by == "max_steps" and result.steps == 30 == snap.step and snap.fraction == 1.0
    assert [s for s, _ in snap.val_loss] == [10, 20, 30] and len(snap.samples) == 3 and len(snap.train_loss) == 30
    assert snap.tokens_per_second > 0 and 0 <= snap.clip_rate <= 1 and snap.grad_norm > 0
    # the base model, possibly cached and shared by every session, is exactly as it was
    after = snapshot_weights(base)
    assert all(torch.equal(weights[n], after[n]) for n in weights)
    assert base.tokenizer.chars == chars and not base.net.training
    # before/after samples: same prompt and seed, the "before" one reproducible from the base
    assert result.sample_before == sample_text(base, "int ", SamplingSettings(max_new_tokens=40, seed=3))
    tuned = rnnlm.load_model(result.model_dir)
    assert result.sample_after == sample_text(tuned, "int ", SamplingSettings(max_new_tokens=40, seed=3))
    assert set("{}();_") <= set(tuned.tokenizer.chars) and "{" in result.facts["added_chars"]
    assert (result.model_dir / "card.md").read_text().startswith(f"# {result.name}")
    assert not (result.model_dir.parent / "checkpoint").exists()


def test_a_word_model_fine_tune_keeps_its_tokenizer(manager):
    base = rnnlm.load("smoke-word-gru")
    weights = snapshot_weights(base)
    snap = manager.wait(manager.submit("a", tiny_spec(base, steps=6, overrides={**TINY, "window": 16})), 120)
    assert snap.status == "done", snap.message
    tuned = rnnlm.load_model(snap.result.model_dir)
    assert tuned.tokenizer.model_proto == base.tokenizer.model_proto
    assert 0 < snap.result.facts["unknown_rate"] == snap.result.facts["unknown_rate_before"]
    # the train loss (nats/token) converts to the held-out loss's nats/char with the tokenizer's ratio
    held_out = held_out_split(corpus())[1]
    assert snap.chars_per_token == pytest.approx(len(held_out) / len(base.tokenizer.encode(held_out)))
    assert snap.chars_per_token > 1
    assert all(torch.equal(weights[n], t) for n, t in base.net.state_dict().items())


def test_cancel_stops_the_run_and_keeps_the_best_model_so_far(manager):
    base = rnnlm.load("smoke-char-lstm")
    job = manager.submit("a", tiny_spec(base, steps=100_000, overrides={**TINY, "eval_every": 5}))
    wait_until(lambda: len(manager.snapshot(job).val_loss) >= 2)
    manager.cancel(job)
    assert manager.snapshot(job).phase in ("cancelling", "finishing") or manager.snapshot(job).finished
    snap = manager.wait(job, timeout=60)
    assert snap.status == "cancelled" and snap.result.stopped_by == "cancelled"
    assert 10 <= snap.result.steps < 1000
    kept = rnnlm.load_model(snap.result.model_dir)  # loadable, and it is the best evaluation's model
    assert snap.result.val_after == pytest.approx(min(v for _, v in snap.val_loss))
    assert sample_text(kept, "int ", SamplingSettings(max_new_tokens=40, seed=3)) == snap.result.sample_after


def test_automatic_names_are_numbered_within_each_session(manager):
    base = rnnlm.load("smoke-char-lstm")
    first = manager.wait(manager.submit("a", tiny_spec(base, steps=2)), timeout=120)
    assert first.name == "smoke-char-lstm-tuned-1"
    assert first.result.base_name == "smoke-char-lstm" and first.result.best_step == 2
    other = manager.submit("b", tiny_spec(base, steps=2))  # a new session: its own numbering
    assert manager.snapshot(other).name == "smoke-char-lstm-tuned-1"
    manager.wait(other, timeout=120)
    again = manager.submit("a", tiny_spec(base, steps=2))
    assert manager.snapshot(again).name == "smoke-char-lstm-tuned-2"
    scratch = manager.submit("c", tiny_spec(None, level="char", preset="small", steps=2))
    assert manager.snapshot(scratch).name == "char-small-1"


def test_download_then_upload_of_a_trained_model_gives_identical_samples(manager, tmp_path):
    snap = manager.wait(manager.submit("a", tiny_spec(rnnlm.load("smoke-char-lstm"), steps=5)), 120)
    uploaded = import_model_zip(model_zip_bytes(snap.result.model_dir), manager.store.new_folder("a", "upload"))
    assert "card.md" in {p.name for p in uploaded.path.iterdir()}
    assert sample_text(uploaded, "int ", SamplingSettings(max_new_tokens=40, seed=3)) == snap.result.sample_after


def test_a_second_job_waits_in_the_queue_and_sees_its_position(tmp_path):
    manager = JobManager(SessionStore(tmp_path), max_concurrent=1, max_queue=2)
    base = rnnlm.load("smoke-char-lstm")
    first = manager.submit("a", tiny_spec(base, steps=100_000))
    wait_until(lambda: manager.snapshot(first).phase == "training")
    second, third = manager.submit("b", tiny_spec(base)), manager.submit("c", tiny_spec(base))
    assert manager.snapshot(first).status == "running" and manager.snapshot(first).queue_position == 0
    assert [manager.snapshot(j).queue_position for j in (second, third)] == [1, 2]
    assert manager.snapshot(second).status == "queued"
    with pytest.raises(RnnlmError, match="already has a training job"):
        manager.submit("a", tiny_spec(base))
    with pytest.raises(RnnlmError, match="busy: 2 training jobs are waiting"):
        manager.submit("d", tiny_spec(base))
    manager.cancel(second)  # a queued job leaves the queue at once
    assert manager.snapshot(second).status == "cancelled" and manager.snapshot(second).result is None
    assert manager.snapshot(third).queue_position == 1
    manager.cancel(first)
    wait_until(lambda: manager.snapshot(third).status == "running")
    manager.cancel(third)
    assert manager.wait(third, 60).status == "cancelled"


def test_a_failing_job_reports_why(manager):
    spec = tiny_spec(None, level="word", overrides={**TINY, "vocab_size": 50_000, "vocab_fits_text": False})
    snap = manager.wait(manager.submit("a", spec), timeout=60)
    assert snap.status == "failed" and snap.result is None
    assert "too small for a 50,000-piece word vocabulary" in snap.message and "trainer_interface" not in snap.message


def test_a_word_job_on_a_low_variety_text_gets_the_vocabulary_the_text_supports(manager):
    spec = tiny_spec(None, level="word", preset="small", steps=4, overrides={**TINY, "hidden_size": 32, "embed_dim": 16})
    planned = train_config(spec, spec.text, threads=1).vocab_size
    snap = manager.wait(manager.submit("a", spec), timeout=60)
    assert snap.status == "done", snap.message
    tuned = rnnlm.load_model(snap.result.model_dir)
    assert tuned.level == "word" and tuned.tokenizer.vocab_size < planned
    held_out = held_out_split(corpus())[1]  # the new tokenizer's ratio, known from the first evaluation
    assert snap.chars_per_token == pytest.approx(len(held_out) / len(tuned.tokenizer.encode(held_out)))
    assert tuned.tokenizer.decode(tuned.tokenizer.encode(corpus(5))) == corpus(5)


def test_from_scratch_presets_train_the_chosen_level(manager):
    spec = tiny_spec(None, level="char", preset="small", steps=4,
                     overrides={**TINY, "hidden_size": 32, "embed_dim": 16})
    snap = manager.wait(manager.submit("a", spec), timeout=60)
    assert snap.status == "done" and snap.result.val_before is None and snap.result.sample_before is None
    assert snap.chars_per_token == 1.0 and snap.result.base_name is None
    tuned = rnnlm.load_model(snap.result.model_dir)
    assert tuned.level == "char" and tuned.config.hidden_size == 32 and tuned.tokenizer.chars == sorted(set(corpus()))
    medium = train_config(JobSpec(corpus(), level="word", preset="medium"), corpus(), threads=1)
    assert (medium.level, medium.num_layers, medium.hidden_size, medium.max_minutes) == ("word", 2, 512, 2.0)


def test_a_time_budget_ends_the_run(manager):
    spec = tiny_spec(rnnlm.load("smoke-char-lstm"), minutes=0.03, steps=0, overrides=TINY)
    snap = manager.wait(manager.submit("a", spec), timeout=60)
    assert snap.status == "done" and snap.result.stopped_by == "max_minutes" and snap.fraction == 1.0
    assert snap.step > 1 and snap.eta_seconds == 0 and snap.val_loss


def test_invalid_jobs_are_refused_before_they_queue(manager):
    base = rnnlm.load("smoke-char-lstm")
    for spec, words in [(tiny_spec(base, text="too short"), "at least 2,000"),
                        (tiny_spec(base, minutes=90, steps=0), "between 0 and 30 minutes"),
                        (tiny_spec(base, minutes=0, steps=0), "time budget or a number of steps"),
                        (tiny_spec(None, level="byte"), "level char or word"),
                        (tiny_spec(base, overrides={"learning_rate": 1}), "unknown training settings")]:
        with pytest.raises(RnnlmError, match=words):
            manager.submit("a", spec)
    assert manager.session_jobs("a") == []


def test_small_uploads_get_smaller_batches_and_a_held_out_slice():
    text = corpus(70)  # about 2,000 characters
    train, val = held_out_split(text)
    assert train + val == text and 0 < len(val) <= len(text) * 0.05 + 1
    char = train_config(JobSpec(text, base=rnnlm.load("smoke-char-lstm")), train, threads=1)
    word = train_config(JobSpec(text, base=rnnlm.load("smoke-word-gru")), train, threads=1)
    assert (char.batch_size, char.window, word.batch_size, word.window) == (16, 64, 8, 32)
    assert len(rnnlm.load("smoke-word-gru").tokenizer.encode(train)) // word.batch_size >= word.window + 1
    long_train, long_val = held_out_split("x" * 2_000_000)
    assert len(long_val) == 10_000 and len(long_train) == 1_990_000


def test_a_fine_tune_keeps_its_bases_dropout_and_recurrent_weight_dropout():
    from dataclasses import replace

    from rnnlm.language_model import LanguageModel
    from rnnlm.model import RNNLM

    smoke = rnnlm.load("smoke-char-lstm")
    config = replace(smoke.net.config, dropout=0.3, weight_drop=0.25)
    base = LanguageModel("regularised", RNNLM(config), smoke.tokenizer)
    planned = train_config(JobSpec(corpus(), base=base), corpus(), threads=1)
    assert (planned.dropout, planned.weight_drop) == (0.3, 0.25)


def torch_threads_in_a_new_thread() -> int:
    seen = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return seen[0]


def test_overlapping_jobs_leave_the_servers_thread_settings_alone(tmp_path):
    """Each job sets train_threads in its own process; the server's count never changes."""
    server_torch = torch_threads_in_a_new_thread()
    manager = JobManager(SessionStore(tmp_path), max_concurrent=2, train_threads=server_torch + 1)
    base = rnnlm.load("smoke-char-lstm")
    long = manager.submit("a", tiny_spec(base, steps=100_000))
    short = None
    try:
        wait_until(lambda: manager.snapshot(long).step > 0)
        short = manager.submit("b", tiny_spec(base, steps=300))
        wait_until(lambda: manager.snapshot(short).step > 0)
        manager.cancel(long)
        assert manager.wait(long, 60).status == "cancelled" and not manager.snapshot(short).finished
    finally:  # never leave a training process running past the test
        for job in (long, short):
            if job is not None:
                manager.cancel(job)
                manager.wait(job, 60)
    assert torch_threads_in_a_new_thread() == server_torch


def test_ending_a_session_and_sweeping_remove_session_folders(tmp_path):
    store = SessionStore(tmp_path, max_age_seconds=3600)
    manager = JobManager(store)
    snap = manager.wait(manager.submit("a", tiny_spec(rnnlm.load("smoke-char-lstm"), steps=3)), 60)
    assert snap.result.model_dir.is_dir() and store.exists("a")
    assert manager.end_session("a") and not store.exists("a") and not snap.result.model_dir.exists()
    assert manager.session_jobs("a") == []
    stale, fresh = store.new_folder("stale"), store.new_folder("fresh")
    long_ago = time.time() - 7200
    os.utime(stale.parent, (long_ago, long_ago))
    os.utime(fresh.parent, (long_ago, long_ago))
    store.touch("fresh")  # the page still runs for this session
    assert manager.sweep() == [stale.parent.name] and not stale.exists() and fresh.exists()
    assert store.folder("x").name.startswith("s-") and ".." not in store.folder("../../x").name
