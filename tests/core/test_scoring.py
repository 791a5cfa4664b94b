"""Scoring: full-context log-probs, per-character figures comparable across levels."""

import math

import numpy as np
import pytest
from conftest import tiny_model

from rnnlm import SamplingSettings, SettingsError, generate, score_text
from rnnlm.scoring import token_logprobs


def test_scores_match_the_step_path(any_model, shakespeare_text):
    text = shakespeare_text[:300]
    result = score_text(any_model, text, precision="float32")  # the step path is float32
    steps = list(generate(any_model, text, SamplingSettings(max_new_tokens=1)))
    prompt_probs = [s.model_prob for s in steps if s.from_prompt]
    np.testing.assert_allclose(result.logprobs, np.log(prompt_probs), atol=1e-4)
    assert result.chars == len(text) and result.tokens == len(prompt_probs)


def test_figures_are_per_character(any_model, shakespeare_text):
    result = score_text(any_model, shakespeare_text[:2000])
    assert math.isclose(result.nats_per_char, -result.logprobs.sum() / 2000)
    assert math.isclose(result.bits_per_char, result.nats_per_char / math.log(2))
    assert result.summary().keys() == {"nats_per_char", "bits_per_char", "chars", "tokens"}


def test_batched_streams_match_exact_single_stream(char_tokenizer, shakespeare_text):
    lm = tiny_model(char_tokenizer, hidden=32)
    text = shakespeare_text[:8_000]
    exact = score_text(lm, text, streams=1, precision="float32")
    batched = score_text(lm, text, streams=4, warmup=256, precision="float32")
    assert abs(exact.nats_per_char - batched.nats_per_char) < 1e-3
    window_sizes = score_text(lm, text, streams=1, window=37, precision="float32")  # state carried across windows
    np.testing.assert_allclose(window_sizes.logprobs, exact.logprobs, atol=1e-5)


def test_context_is_carried_across_the_text(char_tokenizer):
    """A repeated passage is better predicted the second time only if state carries over."""
    lm = tiny_model(char_tokenizer, hidden=16)
    ids = char_tokenizer.encode("abc" * 50)
    with_state = token_logprobs(lm.net, ids, char_tokenizer.context_id(), streams=1, window=10)
    fresh = np.concatenate([token_logprobs(lm.net, ids[i:i + 10], ids[i - 1] if i else char_tokenizer.context_id(),
                                           streams=1, window=10) for i in range(0, len(ids), 10)])
    assert not np.allclose(with_state, fresh)


def test_scoring_leaves_the_model_mode_alone(char_tokenizer):
    lm = tiny_model(char_tokenizer)
    lm.net.train()
    score_text(lm, "hello")
    assert lm.net.training


def test_empty_text_scores_to_nothing(char_tokenizer):
    result = score_text(tiny_model(char_tokenizer), "")
    assert result.tokens == 0 and result.nats_per_char == 0.0


def test_bfloat16_scoring_stays_close_to_float32(char_tokenizer, shakespeare_text):
    lm = tiny_model(char_tokenizer, hidden=32)
    text = shakespeare_text[:3_000]
    exact = score_text(lm, text, precision="float32")
    fast = score_text(lm, text, precision="bfloat16")
    assert not np.array_equal(fast.logprobs, exact.logprobs)  # the products really ran in bfloat16
    assert abs(fast.nats_per_char - exact.nats_per_char) < 2e-3
    np.testing.assert_allclose(fast.logprobs, exact.logprobs, atol=0.05)


@pytest.mark.parametrize("native", [True, False])
def test_auto_precision_uses_bfloat16_only_where_the_cpu_has_it(char_tokenizer, shakespeare_text, monkeypatch,
                                                                 native):
    lm = tiny_model(char_tokenizer, hidden=32)
    text = shakespeare_text[:1_000]
    monkeypatch.setattr("rnnlm.scoring.native_bfloat16", lambda: native)
    expected = score_text(lm, text, precision="bfloat16" if native else "float32")
    np.testing.assert_array_equal(score_text(lm, text).logprobs, expected.logprobs)


def test_unknown_precision_is_refused_with_the_choices(char_tokenizer):
    with pytest.raises(SettingsError, match="auto, float32, bfloat16"):
        score_text(tiny_model(char_tokenizer), "hello", precision="float16")


def test_progress_is_reported_window_by_window(char_tokenizer, shakespeare_text):
    lm = tiny_model(char_tokenizer, hidden=16)
    calls = []
    token_logprobs(lm.net, char_tokenizer.encode(shakespeare_text[:1_000]), char_tokenizer.context_id(), streams=1,
                   window=300, on_progress=lambda done, total: calls.append((done, total)))
    assert calls == [(300, 1_000), (600, 1_000), (900, 1_000), (1_000, 1_000)]


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_bfloat16_gru_and_rnn_scoring_stays_close_to_float32(char_tokenizer, shakespeare_text, cell):
    """GRU and RNN cells step through time with their own bfloat16 loop (torch's stays in float32)."""
    lm = tiny_model(char_tokenizer, hidden=32, cell=cell, layers=2)
    text = shakespeare_text[:3_000]
    exact = score_text(lm, text, precision="float32")
    fast = score_text(lm, text, precision="bfloat16")
    assert not np.array_equal(fast.logprobs, exact.logprobs)
    assert abs(fast.nats_per_char - exact.nats_per_char) < 2e-3
    np.testing.assert_allclose(fast.logprobs, exact.logprobs, atol=0.05)
