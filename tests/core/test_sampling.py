"""Sampling: per-token records, transforms, determinism across processes, validation."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, tiny_model

from rnnlm import SamplingSettings, SettingsError, generate, sample_text
from rnnlm.sampling import apply_top_k, apply_top_p, sampling_distribution, softmax


def test_records_explain_every_token(any_model):
    settings = SamplingSettings(temperature=0.7, top_k=10, max_new_tokens=30, seed=4)
    steps = list(generate(any_model, "First", settings, top_n=5))
    prompt = [s for s in steps if s.from_prompt]
    new = [s for s in steps if not s.from_prompt]
    assert "".join(s.text for s in prompt) == "First" and len(new) == 30
    assert [s.index for s in steps] == list(range(len(steps)))
    for s in new:
        assert 0 < s.prob <= 1 and 0 < s.model_prob <= 1
        assert len(s.top) == 5 and s.top == sorted(s.top, key=lambda t: -t[2])
        assert 0 <= s.entropy <= math.log(any_model.tokenizer.vocab_size) + 1e-9
        assert s.text == any_model.tokenizer.token_text(s.token_id)
        assert s.state is None
    # top-k at temperature < 1 sharpens: the chosen token is at least as likely as under the model
    assert all(s.prob >= s.model_prob - 1e-12 for s in new if s.token_id == s.top[0][1])


def test_trace_carries_every_layer_state(any_model):
    steps = list(generate(any_model, "ab", SamplingSettings(max_new_tokens=5), trace=True))
    config = any_model.config
    for s in steps:
        assert s.state.shape == (config.num_layers, len(any_model.quantities), config.hidden_size)
    assert not np.allclose(steps[0].state, steps[1].state)


def test_traced_and_untraced_sampling_give_the_same_text(any_model):
    settings = SamplingSettings(max_new_tokens=40, seed=9)
    plain = [s.token_id for s in generate(any_model, "x", settings)]
    traced = [s.token_id for s in generate(any_model, "x", settings, trace=True)]
    assert plain == traced


def test_same_seed_same_text_different_seed_different_text(any_model):
    a = sample_text(any_model, "The", SamplingSettings(max_new_tokens=60, seed=1, temperature=1.0))
    b = sample_text(any_model, "The", SamplingSettings(max_new_tokens=60, seed=1, temperature=1.0))
    c = sample_text(any_model, "The", SamplingSettings(max_new_tokens=60, seed=2, temperature=1.0))
    assert a == b and a != c


def test_greedy_picks_the_most_likely_token_every_time(any_model):
    steps = [s for s in generate(any_model, "Th", SamplingSettings(temperature=0, max_new_tokens=20)) if not s.from_prompt]
    assert all(s.token_id == s.top[0][1] and s.prob == 1.0 for s in steps)


def test_a_vanishing_temperature_samples_like_greedy(char_tokenizer):
    lm = tiny_model(char_tokenizer)
    greedy = sample_text(lm, "Th", SamplingSettings(temperature=0, max_new_tokens=30))
    with np.errstate(all="raise"):  # no NaN or overflow on the way
        tiny = sample_text(lm, "Th", SamplingSettings(temperature=1e-320, max_new_tokens=30, seed=4))
    assert tiny == greedy


def test_stop_strings_end_generation(char_tokenizer):
    lm = tiny_model(char_tokenizer)
    full = sample_text(lm, "", SamplingSettings(max_new_tokens=200, seed=3, temperature=1.0))
    stop = full[20:22]
    cut = sample_text(lm, "", SamplingSettings(max_new_tokens=200, seed=3, temperature=1.0, stop=(stop,)))
    assert cut.endswith(stop) and full.startswith(cut) and len(cut) <= 22


def test_transforms():
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    assert np.isneginf(apply_top_k(logits, 2)[2:]).all() and np.isfinite(apply_top_k(logits, 2)[:2]).all()
    kept = apply_top_p(softmax(logits), 0.7)
    np.testing.assert_allclose(kept, [0.5 / 0.8, 0.3 / 0.8, 0, 0])
    assert apply_top_p(softmax(logits), 0.5)[1] == 0  # the first token alone reaches 0.5
    cold = sampling_distribution(logits, SamplingSettings(temperature=0.5))
    np.testing.assert_allclose(cold, softmax(logits * 2))


@pytest.mark.parametrize("bad, message", [
    (dict(temperature=-1), "temperature must be between 0 and"),
    (dict(temperature=float("nan")), "temperature"),
    (dict(top_p=0), "top_p must be greater than 0"),
    (dict(top_p=1.5), "top_p"),
    (dict(top_k=-3), "top_k must be a whole number"),
    (dict(max_new_tokens=10**9), "max_new_tokens must be a whole number from 1"),
    (dict(max_new_tokens=0), "max_new_tokens"),
    (dict(seed=-1), "seed"),
    (dict(stop=("",)), "stop"),
    ({"stop": None}, "stop"),  # not a sequence: once a TypeError from len()
    ({"clamps": 7}, "clamps"),
    ({"seed": 10**5000}, "seed must be .* got a number too long to show"),  # once a ValueError from repr()
])
def test_invalid_settings_say_what_is_allowed(bad, message, char_tokenizer):
    lm = tiny_model(char_tokenizer)
    with pytest.raises(SettingsError, match=message):
        list(generate(lm, "", SamplingSettings(**bad)))


def test_prompt_too_long_is_refused(char_tokenizer):
    with pytest.raises(SettingsError, match="limit"):
        list(generate(tiny_model(char_tokenizer), "a" * 30_000, SamplingSettings()))


def test_prompt_with_undecodable_bytes_is_refused(char_tokenizer):
    with pytest.raises(SettingsError, match="not valid Unicode"):
        list(generate(tiny_model(char_tokenizer), "ab\udcff", SamplingSettings()))


def test_same_text_in_a_fresh_process(tmp_path, char_tokenizer):
    """Determinism across processes: the CLI in a subprocess reproduces this process's text."""
    from rnnlm import save_model
    lm = tiny_model(char_tokenizer)
    save_model(lm.net, lm.tokenizer, tmp_path / "m")
    settings = SamplingSettings(temperature=0.9, top_p=0.9, max_new_tokens=80, seed=77)
    here = sample_text(lm, "KING:", settings)
    out = subprocess.run([sys.executable, "-m", "rnnlm", "sample", "--model", str(tmp_path / "m"), "--prompt", "KING:",
                          "--temperature", "0.9", "--top-p", "0.9", "--max-new-tokens", "80", "--seed", "77", "--json"],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    tokens = [json.loads(line) for line in out.stdout.splitlines()]
    assert "".join(t["token"] for t in tokens) == here
    assert all({"token", "id", "prob", "top"} <= set(t) for t in tokens)
