"""Batched dynamic evaluation: B segments side by side, one shared step per B windows, in an
order a decoder can follow; equal to the single-stream reference with one stream."""

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import score_command, tiny_model

from rnnlm import SettingsError, score_text
from rnnlm.adapt_settings import MIN_STREAM_TOKENS, shared_lr, stream_bounds, streams_for
from rnnlm.batched_adapt import batched_adapt_logprobs
from rnnlm.dynamic_eval import AdaptSettings, adapt_logprobs, adapt_text
from rnnlm.stream_heads import stream_heads_fit

REPETITIVE = "the cat sat on the mat and the dog sat on the log. " * 24  # 1,224 chars
BATCHED = AdaptSettings(rule="rms", lr=3e-3, window=20, streams=4, stream_lr=0.3)


@pytest.fixture
def short_streams(monkeypatch):
    """Streams of 100 tokens or more, so that tiny texts run batched (the real minimum is 2,000)."""
    monkeypatch.setattr("rnnlm.adapt_settings.MIN_STREAM_TOKENS", 100)


def snapshot(lm):
    return {name: t.clone() for name, t in lm.net.state_dict().items()}


def logprobs(lm, text, settings):
    return batched_adapt_logprobs(lm.net, lm.tokenizer.encode(text), lm.tokenizer.context_id(), settings)


@pytest.mark.parametrize("precision", ["auto", "float32", "bfloat16"])
def test_one_stream_equals_the_single_stream_reference_bit_for_bit(any_model, precision):
    text = REPETITIVE[:400]
    ids, context = any_model.tokenizer.encode(text), any_model.tokenizer.context_id()
    one = AdaptSettings(rule="rms", lr=3e-3, window=13, decay=0.01, clip=2.0, precision=precision, streams=1,
                        stream_lr=0.3)  # one stream has no heads of its own: it is the reference
    reference = adapt_logprobs(any_model.net, ids, context, one)
    np.testing.assert_array_equal(batched_adapt_logprobs(any_model.net, ids, context, one), reference)
    # a text too short for two streams of MIN_STREAM_TOKENS is read as that one stream too
    assert len(ids) < 2 * MIN_STREAM_TOKENS
    many = AdaptSettings(**{**one.to_dict(), "streams": 8})
    np.testing.assert_array_equal(adapt_text(any_model, text, many).logprobs, reference)


def test_same_input_same_figures_bit_for_bit(char_tokenizer, short_streams):
    lm = tiny_model(char_tokenizer, cell="gru")
    first, second = logprobs(lm, REPETITIVE, BATCHED), logprobs(lm, REPETITIVE, BATCHED)
    np.testing.assert_array_equal(first, second)


def test_the_shared_model_is_never_touched(any_model, short_streams):
    before = snapshot(any_model)
    adapted = adapt_text(any_model, REPETITIVE, AdaptSettings(rule="sgd", lr=0.5, window=16, decay=0.1, streams=3))
    assert adapted.nats_per_char != score_text(any_model, REPETITIVE, precision="float32").nats_per_char
    assert all(torch.equal(before[name], t) for name, t in any_model.net.state_dict().items())
    assert not any_model.net.training and all(p.grad is None for p in any_model.net.parameters())


def test_a_tied_head_is_adapted_on_the_copy_only(word_tokenizer, short_streams):
    lm = tiny_model(word_tokenizer, cell="gru", tie=True)
    before = snapshot(lm)
    adapt_text(lm, REPETITIVE * 2, AdaptSettings(lr=3e-3, window=20, streams=2))
    assert all(torch.equal(before[name], t) for name, t in lm.net.state_dict().items())


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_adapting_to_a_repetitive_text_lowers_its_cost(any_model, short_streams, precision):
    text = REPETITIVE * 2  # a word model's 4 segments need a few steps each too
    static = score_text(any_model, text, precision="float32")
    adapted = adapt_text(any_model, text, AdaptSettings(**{**BATCHED.to_dict(), "precision": precision}))
    assert streams_for(adapted.tokens, BATCHED) == 4
    assert adapted.nats_per_char < static.nats_per_char - 0.1
    assert (adapted.chars, adapted.tokens, adapted.token_ids) == (static.chars, static.tokens, static.token_ids)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_at_lr_zero_each_segment_is_scored_on_its_own_from_a_fresh_state(char_tokenizer, short_streams, cell):
    """No segment reads the text before it: that text is decoded later in the interleaved order."""
    lm = tiny_model(char_tokenizer, cell=cell)
    result = logprobs(lm, REPETITIVE, AdaptSettings(lr=0.0, window=7, streams=3, stream_lr=0.0, precision="float32"))
    for start, end in stream_bounds(len(REPETITIVE), 3):
        alone = score_text(lm, REPETITIVE[start:end], streams=1, precision="float32")
        np.testing.assert_allclose(result[start:end], alone.logprobs, atol=1e-5)


def unaffected_by(position: int, bounds, window: int) -> np.ndarray:
    """Positions whose scores cannot depend on the token at `position`: every window of an earlier
    step, the other segments' windows of the same step (scored with the same weights), and its own
    segment's tokens before it. Everything else is decoded after it in the interleaved order."""
    step_of, segment_of = np.empty(bounds[-1][1], dtype=int), np.empty(bounds[-1][1], dtype=int)
    for segment, (start, end) in enumerate(bounds):
        step_of[start:end] = (np.arange(start, end) - start) // window
        segment_of[start:end] = segment
    same_segment = segment_of == segment_of[position]
    return (step_of < step_of[position]) | ((step_of == step_of[position]) & ~same_segment) | (
        same_segment & (np.arange(len(step_of)) < position))


@pytest.mark.parametrize("where", ["last window of the last segment", "last window of the first segment",
                                   "middle of a middle segment"])
def test_each_score_uses_only_text_decoded_before_it(char_tokenizer, short_streams, where):
    """Change one character: no score that a decoder needs before it moves; later steps do move."""
    lm = tiny_model(char_tokenizer)
    bounds = stream_bounds(len(REPETITIVE), 4)  # 4 segments of 306 chars, windows of 20
    position = {"last window of the last segment": bounds[3][1] - 7, "last window of the first segment": bounds[0][1] - 3,
                "middle of a middle segment": bounds[2][0] + 107}[where]
    other = REPETITIVE[:position] + ("X" if REPETITIVE[position] != "X" else "Y") + REPETITIVE[position + 1:]
    a, b = logprobs(lm, REPETITIVE, BATCHED), logprobs(lm, other, BATCHED)
    unaffected = unaffected_by(position, bounds, BATCHED.window)
    np.testing.assert_array_equal(a[unaffected], b[unaffected])
    assert a[position] != b[position]
    if where == "middle of a middle segment":  # the shared step carries it into the other segments' next windows
        next_window = bounds[0][0] + (107 // 20 + 1) * 20
        assert not np.array_equal(a[next_window:next_window + 20], b[next_window:next_window + 20])
    # the first window of every segment is scored with the trained weights from a fresh state
    first = logprobs(lm, REPETITIVE, AdaptSettings(lr=0.0, window=20, streams=4))
    for start, _ in bounds:
        np.testing.assert_array_equal(a[start:start + 20], first[start:start + 20])


def test_each_streams_own_output_layer_learns_from_that_stream_alone(char_tokenizer, short_streams):
    """With the shared step off (lr 0), a change in one segment moves no other segment's score."""
    lm = tiny_model(char_tokenizer)
    own_only = AdaptSettings(lr=0.0, window=20, streams=4, stream_lr=0.5)
    bounds = stream_bounds(len(REPETITIVE), 4)
    position = bounds[1][0] + 45
    other = REPETITIVE[:position] + "X" + REPETITIVE[position + 1:]
    a, b = logprobs(lm, REPETITIVE, own_only), logprobs(lm, other, own_only)
    end = bounds[1][1]
    np.testing.assert_array_equal(np.delete(a, np.s_[position:end]), np.delete(b, np.s_[position:end]))
    assert not np.array_equal(a[position + 20:end], b[position + 20:end])  # its own later windows do move
    static = score_text(lm, REPETITIVE, precision="float32").nats_per_char
    assert -a.sum() / len(REPETITIVE) < static - 0.1  # and they learn: the text gets cheaper


def test_own_output_layers_are_off_where_they_would_not_fit():
    on = AdaptSettings(streams=16, stream_lr=0.3)
    assert stream_heads_fit(16, 138, 512, on)  # a char model: 14 MB
    assert not stream_heads_fit(16, 8000, 512, on)  # a word model: 0.8 GB
    assert not stream_heads_fit(2, 2000, 512, on)  # a small word vocabulary would fit, but was never tuned
    assert not stream_heads_fit(1, 138, 512, on)
    assert not stream_heads_fit(16, 138, 512, AdaptSettings(streams=16, stream_lr=0))


def test_progress_counts_characters_up_to_the_total(char_tokenizer, short_streams):
    calls = []
    result = adapt_text(tiny_model(char_tokenizer), REPETITIVE, AdaptSettings(window=30, streams=4),
                        on_window=lambda done, total: calls.append((done, total)))
    assert len(calls) == math.ceil(math.ceil(result.tokens / 4) / 30)  # one per step of the longest segment
    assert calls[-1] == (len(REPETITIVE), len(REPETITIVE))
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_works_inside_a_callers_inference_mode(char_tokenizer, short_streams):
    lm = tiny_model(char_tokenizer)
    expected = logprobs(lm, REPETITIVE, BATCHED)
    with torch.inference_mode():
        np.testing.assert_array_equal(logprobs(lm, REPETITIVE, BATCHED), expected)


def test_streams_for_a_text():
    settings = AdaptSettings(streams=32)
    assert [streams_for(n, settings) for n in (0, 100, 2 * MIN_STREAM_TOKENS - 1, 10 * MIN_STREAM_TOKENS)] == [1, 1, 1, 10]
    assert streams_for(10 ** 7, settings) == 32 and streams_for(10 ** 7, AdaptSettings(streams=1)) == 1
    assert stream_bounds(10, 4) == [(0, 3), (3, 6), (6, 9), (9, 10)]


@pytest.mark.parametrize("changes, message", [
    ({"streams": 0}, "streams must be a whole number from 1"),
    ({"streams": 2.5}, "streams must be a whole number"),
    ({"streams": 1000}, "streams must be a whole number from 1 .* to 256"),
    ({"streams": 256, "window": 100}, "streams x window must be at most 20,000 tokens"),
    ({"stream_lr": -1}, "stream_lr must be a number from 0 .off. to 10"),
    ({"stream_lr": float("inf")}, "stream_lr must be a number"),
])
def test_bad_stream_settings_are_named(char_tokenizer, changes, message):
    with pytest.raises(SettingsError, match=message):
        adapt_text(tiny_model(char_tokenizer), "hello", AdaptSettings(**changes))


# --- the command line, in this process ------------------------------------------------------

@pytest.fixture
def cli(monkeypatch, capsys, char_tokenizer, tmp_path, short_streams):
    return score_command(monkeypatch, capsys, tiny_model(char_tokenizer), REPETITIVE, tmp_path)


def test_cli_json_names_the_mode_and_gives_both_figures(cli):
    status, out, err = cli("--json", "--adapt", "--adapt-streams", "4", "--adapt-lr", "3e-3", "--adapt-window", "20",
                           "--adapt-stream-lr", "0.3")
    assert status == 0, err
    data = json.loads(out)
    assert data["adapt_mode"] == "batched" and data["adapt_streams"] == 4 and data["adapt"]["streams"] == 4
    assert data["adapt"]["stream_lr"] == 0.3 and data["adapt_own_output_layers"] is True
    assert data["adapt_shared_lr"] == pytest.approx(3e-3 * 2)  # lr x sqrt(4): the step really taken
    assert data["adapt_precision_used"] in ("float32", "bfloat16") and data["adapt"]["precision"] == "auto"
    assert data["nats_per_char"] < data["static_nats_per_char"] - 0.1
    status, out, err = cli("--json", "--adapt", "--adapt-streams", "1")
    one = json.loads(out)
    assert status == 0 and one["adapt_mode"] == "single-stream" and one["adapt_streams"] == 1
    assert one["adapt_precision_used"] == "float32" and one["adapt_own_output_layers"] is False  # auto, one stream
    status, out, _ = cli("--adapt", "--adapt-streams", "4", "--adapt-lr", "1e-3", "--adapt-precision", "float32")
    assert status == 0 and "batched, 4 streams; rms lr 0.002 " in out and "own output layers 0.3" in out
    assert "float32" in out and "static" in out


@pytest.mark.parametrize("args, message", [
    (["--adapt", "--adapt-streams", "0"], "--adapt settings: streams must be a whole number from 1"),
    (["--adapt", "--adapt-streams", "many"], "invalid int value"),
    (["--adapt-streams", "4"], "--adapt-streams needs --adapt"),
    (["--adapt", "--adapt-stream-lr", "-2"], "--adapt settings: stream_lr must be a number from 0"),
    (["--adapt-stream-lr", "0.3"], "--adapt-stream-lr needs --adapt"),
])
def test_cli_bad_streams_give_one_clear_line(cli, args, message):
    status, out, err = cli(*args)
    assert status == 2 and out == ""
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_the_shared_step_grows_with_the_square_root_of_the_streams():
    assert shared_lr(AdaptSettings(lr=1e-3), 16) == pytest.approx(4e-3)
    assert shared_lr(AdaptSettings(lr=1e-3), 1) == 1e-3  # one stream: the single stream's own step


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_is_bfloat16_for_batched_streams_only_where_the_cpu_has_it(char_tokenizer, short_streams,
                                                                                  monkeypatch, native):
    from rnnlm import batched_adapt

    monkeypatch.setattr(batched_adapt, "native_bfloat16", lambda: native)
    lm = tiny_model(char_tokenizer)
    auto = logprobs(lm, REPETITIVE, BATCHED)
    assert BATCHED.precision == "auto"
    explicit = logprobs(lm, REPETITIVE, replace(BATCHED, precision="bfloat16" if native else "float32"))
    np.testing.assert_array_equal(auto, explicit)
    other = logprobs(lm, REPETITIVE, replace(BATCHED, precision="float32" if native else "bfloat16"))
    assert not np.array_equal(auto, other)
