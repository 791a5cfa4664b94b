"""fit(): learning, exact resume, stopping, callbacks, run-folder outputs, refusing bad corpora.

Tiny models (1-2 layers of 16 units), a 24k-character slice of Tiny Shakespeare, a few
steps each, one thread: the whole file runs in seconds next to a real training job.
"""

import json
import math
import os
import signal
import time

import pytest
import torch

from rnnlm.checkpoint import load_model
from rnnlm.errors import CheckpointError, CorpusError
from rnnlm.scoring import score_text
from rnnlm.training.config import TrainConfig
from rnnlm.training.fit import Callbacks, fit


def tiny_config(**overrides) -> TrainConfig:
    settings = dict(hidden_size=16, embed_dim=8, num_layers=1, dropout=0.0, batch_size=4, window=16, lr=1e-2,
                    warmup_steps=2, max_steps=6, eval_every=1000, checkpoint_every=1000, sample_tokens=0,
                    threads=1, seed=3)
    return TrainConfig(**{**settings, **overrides})


@pytest.fixture(scope="module")
def texts(shakespeare_text):
    return shakespeare_text[:21000], shakespeare_text[21000:24000]


class Recorder(Callbacks):
    def __init__(self):
        self.steps, self.evals, self.checkpoints = [], [], []

    def on_step(self, progress):
        self.steps.append(progress)

    def on_eval(self, progress):
        self.evals.append(progress)

    def on_checkpoint(self, path):
        self.checkpoints.append((path, json.loads((path / "trainer_state.json").read_text())["counters"]["step"]))


def trainer_step(run_dir) -> int:
    return json.loads((run_dir / "checkpoint" / "trainer_state.json").read_text())["counters"]["step"]


def test_a_few_steps_lower_the_training_and_held_out_loss(texts, tmp_path):
    recorder = Recorder()
    result = fit(tiny_config(max_steps=40, eval_every=20), *texts, tmp_path, callbacks=recorder)
    losses = [p.loss for p in recorder.steps]
    assert result.steps == 40 and result.stopped_by == "max_steps"
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5
    first_val, last_val = (p.val_loss for p in recorder.evals)
    assert last_val < first_val and result.best_val == pytest.approx(last_val)
    assert result.best_val < math.log(66) - 0.5  # well below a uniform guess over the characters


@pytest.mark.parametrize("ema_decay, precision", [(0.0, "float32"), (0.8, "float32"), (0.0, "bfloat16")])
def test_resumed_run_continues_exactly_like_an_uninterrupted_one(texts, tmp_path, ema_decay, precision):
    # Dropout, two layers, evaluations and checkpoints in between: every piece of state matters.
    cfg = tiny_config(num_layers=2, dropout=0.3, eval_every=2, eval_chars=800, sample_tokens=5, ema_decay=ema_decay,
                      precision=precision)
    straight = Recorder()
    whole = fit(cfg, *texts, tmp_path / "a", callbacks=straight)
    first, second = Recorder(), Recorder()
    interrupted = fit(cfg, *texts, tmp_path / "b", callbacks=first, should_stop=lambda: len(first.steps) >= 3)
    assert interrupted.stopped_by == "cancelled" and interrupted.steps == 3
    resumed = fit(cfg, *texts, tmp_path / "b", callbacks=second, resume=True)
    assert [p.step for p in second.steps] == [4, 5, 6]
    assert [p.loss for p in second.steps] == [p.loss for p in straight.steps[3:]]
    assert [p.grad_norm for p in second.steps] == [p.grad_norm for p in straight.steps[3:]]
    assert all(torch.equal(a, b) for a, b in zip(whole.net.state_dict().values(), resumed.net.state_dict().values()))
    assert resumed.best_val == whole.best_val
    exported = [load_model(folder / "model").net.state_dict() for folder in (tmp_path / "a", tmp_path / "b")]
    assert all(torch.equal(exported[0][k], exported[1][k]) for k in exported[0])  # averaged weights too
    steps_logged = [json.loads(line)["step"] for line in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
                    if json.loads(line)["kind"] == "step"]
    assert steps_logged == [1, 2, 3, 4, 5, 6]


def test_bfloat16_products_train_float32_weights_and_record_the_precision(texts, tmp_path):
    def run(precision):
        recorder = Recorder()
        result = fit(tiny_config(num_layers=2, max_steps=40, eval_every=40, precision=precision), *texts,
                     tmp_path / precision, callbacks=recorder)
        return result, [p.loss for p in recorder.steps]

    (fp32, fp32_losses), (bf16, bf16_losses) = run("float32"), run("bfloat16")
    assert bf16_losses != fp32_losses  # the products really ran in bfloat16
    assert sum(bf16_losses[-5:]) / 5 < sum(bf16_losses[:5]) / 5 - 0.5  # and it learns
    assert abs(bf16.best_val - fp32.best_val) < 0.05
    assert all(p.dtype == torch.float32 for p in bf16.net.parameters())
    checkpoint = load_model(tmp_path / "bfloat16" / "checkpoint")
    assert [load_model(r.model_dir).metadata["matmul_precision"] for r in (fp32, bf16)] == ["float32", "bfloat16"]
    assert checkpoint.metadata["train_config"]["precision"] == "bfloat16"


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_trains_in_bfloat16_only_where_the_cpu_has_it(texts, tmp_path, monkeypatch, native):
    monkeypatch.setattr("rnnlm.scoring.native_bfloat16", lambda: native)
    result = fit(tiny_config(max_steps=2, precision="auto"), *texts, tmp_path)
    assert load_model(result.model_dir).metadata["matmul_precision"] == ("bfloat16" if native else "float32")


def test_resuming_a_finished_run_trains_no_further(texts, tmp_path):
    fit(tiny_config(max_steps=3), *texts, tmp_path)
    recorder = Recorder()
    again = fit(tiny_config(max_steps=3), *texts, tmp_path, resume=True, callbacks=recorder)
    assert again.steps == 3 and again.stopped_by == "max_steps" and recorder.steps == []
    longer = fit(tiny_config(max_steps=5), *texts, tmp_path, resume=True, callbacks=recorder)
    assert longer.steps == 5 and [p.step for p in recorder.steps] == [4, 5]


def test_resume_without_a_checkpoint_says_so(texts, tmp_path):
    with pytest.raises(CheckpointError, match="nothing to resume"):
        fit(tiny_config(), *texts, tmp_path, resume=True)


class LeavesStaging(Callbacks):
    """Leaves a staging folder behind at each checkpoint, as a writer killed mid-write would."""

    def on_checkpoint(self, path):
        (path.parent / f".checkpoint.staging.{time.monotonic_ns()}").mkdir()


def test_stale_staging_folders_are_removed_when_a_run_starts_and_when_it_finishes(texts, tmp_path):
    left = tmp_path / ".model.staging.k1ll3d"  # from an earlier process
    left.mkdir()
    (left / "model.safetensors").write_bytes(b"half a file")
    seen = []
    watcher = Callbacks()
    watcher.on_step = lambda progress: seen.append(left.exists())
    fit(tiny_config(max_steps=3, checkpoint_every=1), *texts, tmp_path, callbacks=watcher)
    assert seen == [False, False, False]  # gone before the first step
    fit(tiny_config(max_steps=6, checkpoint_every=1), *texts, tmp_path, resume=True, callbacks=LeavesStaging())
    assert not list(tmp_path.glob(".*.staging.*")) and trainer_step(tmp_path) == 6


def test_callbacks_carry_progress_fields(texts, tmp_path):
    recorder = Recorder()
    fit(tiny_config(eval_every=3, checkpoint_every=3, sample_tokens=8, grad_clip=1e-3), *texts, tmp_path,
        callbacks=recorder)
    assert [p.step for p in recorder.steps] == [1, 2, 3, 4, 5, 6]
    for p in recorder.steps:
        assert p.max_steps == 6 and math.isfinite(p.loss) and p.loss > 0 and p.lr > 0
        assert p.grad_norm > 1e-3 and p.clipped and p.clip_rate == 1.0  # every gradient is above the tiny limit
        assert p.tokens_per_second > 0 and p.elapsed_seconds > 0 and p.eta_seconds >= 0
    assert [p.fraction for p in recorder.steps] == pytest.approx([k / 6 for k in range(1, 7)])
    assert recorder.steps[-1].eta_seconds == 0
    assert [p.lr for p in recorder.steps[:2]] == pytest.approx([5e-3, 1e-2])  # warmup, then cosine decay
    assert recorder.steps[2].lr > recorder.steps[4].lr
    assert [p.step for p in recorder.evals] == [3, 6]
    for p in recorder.evals:
        assert p.val_loss > 0 and p.best_val == min(e.val_loss for e in recorder.evals if e.step <= p.step)
        assert isinstance(p.sample, str) and len(p.sample) > 0
    assert [(path.name, step) for path, step in recorder.checkpoints] == [("checkpoint", 3), ("checkpoint", 6)]


@pytest.mark.parametrize("regulariser", ["dropout", "weight_drop"])
def test_late_dropout_trains_without_dropout_until_its_epoch(texts, tmp_path, regulariser):
    """dropout_from_epoch=0.01 is 3.3 of this corpus's 328 windows per epoch: steps 1-4 run
    without dropout (the same losses as none), from step 5 on with it; the recurrent weights'
    dropout (weight_drop) waits as the other does."""
    def losses(**overrides):
        recorder = Recorder()
        fit(tiny_config(num_layers=2, max_steps=6, **{"dropout": 0.0, **overrides}), *texts,
            tmp_path / str(overrides), callbacks=recorder)
        return [p.loss for p in recorder.steps]

    late_setting = {regulariser: 0.5, "dropout_from_epoch": 0.01}
    without, late, early = losses(), losses(**late_setting), losses(**{regulariser: 0.5})
    assert late[:4] == without[:4] and late[4:] != without[4:]
    assert early[0] != without[0]  # the control: the regulariser from the start changes the first loss
    assert getattr(load_model(tmp_path / str(late_setting) / "model").config, regulariser) == 0.5


@pytest.mark.parametrize("grad_clip", [1.0, 0.0])
def test_clip_rate_is_the_share_of_steps_whose_gradient_was_clipped(texts, tmp_path, grad_clip):
    recorder = Recorder()
    fit(tiny_config(max_steps=8, lr=0.05, grad_clip=grad_clip), *texts, tmp_path, callbacks=recorder)
    norms = [p.grad_norm for p in recorder.steps]
    clipped = [grad_clip > 0 and norm > grad_clip for norm in norms]
    assert [p.clipped for p in recorder.steps] == clipped
    assert [p.clip_rate for p in recorder.steps] == pytest.approx([sum(clipped[:k]) / k for k in range(1, 9)])
    assert all(norm > 0 for norm in norms)  # reported even when clipping is off


def test_run_folder_holds_metrics_loss_curve_checkpoint_and_a_loadable_model(texts, tmp_path):
    result = fit(tiny_config(eval_every=3), *texts, tmp_path, facts={"corpus": "slice"})
    records = [json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))
               for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "step"] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in records if r["kind"] == "eval"] == [3, 6]
    assert "plotly" in (tmp_path / "loss.html").read_text()
    assert trainer_step(tmp_path) == 6
    lm = load_model(result.model_dir)
    assert lm.metadata["facts"]["corpus"] == "slice" and lm.metadata["train_config"]["max_steps"] == 6
    assert lm.metadata["val_nats_per_char"] == pytest.approx(result.best_val)


def test_averaged_weights_are_scored_beside_the_current_ones_and_exported_when_better(texts, tmp_path):
    recorder = Recorder()
    # A high constant learning rate makes the weights jitter around the minimum: their average scores better.
    result = fit(tiny_config(max_steps=60, lr=0.3, min_lr=0.3, eval_every=30, ema_decay=0.8), *texts, tmp_path,
                 callbacks=recorder)
    for p in recorder.evals:
        assert set(p.val_by_weights) == {"current", "averaged"} and p.val_loss == min(p.val_by_weights.values())
    assert recorder.evals[-1].val_by_weights["averaged"] < recorder.evals[-1].val_by_weights["current"]
    lm = load_model(result.model_dir)
    assert lm.metadata["best_weights"] == "averaged"
    assert score_text(lm, texts[1], precision="float32").nats_per_char == pytest.approx(result.best_val, abs=1e-5)
    assert not torch.equal(lm.net.head.weight, result.net.head.weight)  # the export is not the current weights


def test_best_model_is_chosen_on_eval_chars_and_reported_on_all_held_out_text(texts, tmp_path):
    train, val = texts
    result = fit(tiny_config(eval_every=2, eval_chars=500), train, val, tmp_path)
    lm = load_model(result.model_dir)
    whole = score_text(lm, val, precision="float32").nats_per_char
    assert lm.metadata["val_chars"] == len(val)
    assert lm.metadata["val_nats_per_char"] == pytest.approx(whole, abs=1e-6)
    assert result.best_val == pytest.approx(whole, abs=1e-6)
    history = lm.metadata["eval_history"]
    assert [step for step, _ in history] == [2, 4, 6]
    best_slice = min(v for _, v in history)
    assert best_slice == pytest.approx(score_text(lm, val[:500], precision="float32").nats_per_char, abs=1e-6)


def test_cancel_stops_promptly_and_keeps_the_best_model(texts, tmp_path):
    recorder = Recorder()
    result = fit(tiny_config(max_steps=10_000, eval_every=2), *texts, tmp_path, callbacks=recorder,
                 should_stop=lambda: len(recorder.steps) >= 3)
    assert result.stopped_by == "cancelled" and result.steps == 3 and trainer_step(tmp_path) == 3
    assert [p.step for p in recorder.evals] == [2]  # no evaluation on the way out
    kept = load_model(result.model_dir)
    assert kept.metadata["best_step"] == 2 and kept.metadata["val_nats_per_char"] == recorder.evals[0].val_loss


@pytest.fixture
def default_signal_handlers():
    """A terminal's handlers, whatever ran this suite (a background shell job ignores SIGINT)."""
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    for s, handler in before.items():
        signal.signal(s, handler)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_first_interrupt_stops_after_the_step_with_a_consistent_checkpoint(texts, tmp_path, signum,
                                                                            default_signal_handlers):
    class Interrupt(Recorder):
        def on_step(self, progress):
            super().on_step(progress)
            if progress.step == 2:
                os.kill(os.getpid(), signum)

    result = fit(tiny_config(max_steps=100), *texts, tmp_path, callbacks=Interrupt())
    assert result.stopped_by == "interrupted" and result.steps == 2 and trainer_step(tmp_path) == 2
    assert load_model(result.model_dir).metadata["best_step"] == 2  # evaluated once, as no model existed yet
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored afterwards
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_handler_set_by_someone_else_is_left_alone(texts, tmp_path, default_signal_handlers):
    def theirs(signum, frame):
        pass

    signal.signal(signal.SIGTERM, theirs)
    fit(tiny_config(max_steps=2), *texts, tmp_path)
    assert signal.getsignal(signal.SIGTERM) is theirs


def test_time_budget_counts_the_time_spent_in_callbacks(texts, tmp_path):
    class SlowScreen(Recorder):
        def on_step(self, progress):
            super().on_step(progress)
            time.sleep(0.05)

    recorder = SlowScreen()
    result = fit(tiny_config(max_steps=10_000, max_minutes=0.005), *texts, tmp_path, callbacks=recorder)
    assert result.stopped_by == "max_minutes"
    assert result.steps <= 8  # 0.3 s of budget at >= 0.05 s per step
    assert result.minutes * 60 >= 0.05 * (result.steps - 1)
    assert recorder.steps[-1].fraction == 1.0 and load_model(result.model_dir)


def test_early_stop_after_evaluations_without_improvement(texts, tmp_path):
    result = fit(tiny_config(max_steps=100, lr=1e-7, min_lr=0.0, eval_every=2, patience=2), *texts, tmp_path)
    assert result.stopped_by == "early_stop" and result.steps == 6


def test_non_finite_loss_stops_the_run_without_touching_the_weights(texts, tmp_path, char_tokenizer):
    from conftest import tiny_model

    base = tiny_model(char_tokenizer, layers=1, hidden=16)
    with torch.no_grad():
        base.net.head.bias[3] = float("nan")
    result = fit(tiny_config(max_steps=50), *texts, tmp_path, init_from=base)
    assert result.stopped_by == "diverged" and result.steps == 1
    assert torch.isfinite(result.net.embedding.weight).all()  # the NaN gradient was not applied


@pytest.mark.parametrize("train, val, message", [
    ("", "held out", "empty"),
    (" \n\t \n" * 40, "held out", "empty"),
    ("To be or not to be", "held out", "two windows"),
    ("To be, or not to be: that is the question. ", "held out", "too few"),  # fine for one stream, not 4
    ("To be, or not to be: that is the question. " * 20, "", "held-out split is empty"),
], ids=["empty", "whitespace", "shorter-than-two-windows", "too-short-for-the-streams", "no-held-out-text"])
def test_bad_corpora_are_refused_before_any_work(train, val, message, tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(CorpusError, match=message):
        fit(tiny_config(), train, val, run_dir)
    assert not run_dir.exists()


def test_word_level_training_writes_a_word_model(shakespeare_text, tmp_path, monkeypatch):
    from rnnlm.tokenizers import WordTokenizer
    threads_asked, build = [], WordTokenizer.build

    def recording_build(*args, threads, **kwargs):
        threads_asked.append(threads)
        return build(*args, threads=threads, **kwargs)

    monkeypatch.setattr(WordTokenizer, "build", recording_build)
    cfg = tiny_config(level="word", vocab_size=300, window=8, max_steps=3)  # threads=1: the playground's job budget
    result = fit(cfg, shakespeare_text[:30000], shakespeare_text[30000:33000], tmp_path)
    lm = load_model(result.model_dir)
    assert lm.level == "word" and lm.tokenizer.vocab_size == 300 and math.isfinite(result.best_val)
    assert threads_asked == [1]  # SentencePiece keeps to the run's thread budget too
