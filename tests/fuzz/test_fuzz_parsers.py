"""Settings and share links from anyone: sampling settings, clamp specs and a share link's
query never end in anything but the project's own errors (RnnlmError), and the share-link
reader never raises at all: it gives values and one notice per parameter it could not use."""

import math

import numpy as np
from fuzz_util import fuzz
from hypothesis import example, given
from hypothesis import strategies as st

from playground import catalogue as cat
from playground import state
from rnnlm.clamp import MAX_ABS_VALUE, parse_clamps
from rnnlm.errors import SettingsError
from rnnlm.sampling import SamplingSettings

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-3, 3000), st.floats(),
                    st.floats(0, 1), st.text(max_size=8), st.integers(-5, 5).map(np.int64), st.floats(width=32).map(np.float32))
ANYTHING = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner), max_leaves=6)
STOPS = st.one_of(st.lists(st.text(max_size=250), max_size=10).map(tuple), ANYTHING)


@fuzz(300)
@given(temperature=ANYTHING, top_k=ANYTHING, top_p=ANYTHING, max_new_tokens=ANYTHING, seed=ANYTHING,
       stop=STOPS, clamps=ANYTHING)
@example(temperature=math.nan, top_k=True, top_p=math.inf, max_new_tokens=10**100, seed=-1, stop=None, clamps=None)
@example(temperature=0.5, top_k=5, top_p=0.9, max_new_tokens=10, seed=3, stop=5, clamps=7)
@example(temperature=0.5, top_k=10**5000, top_p=[0.5] * 1000, max_new_tokens=1, seed=-10**5000, stop=(), clamps=())
def test_sampling_settings_validate_or_say_what_is_wrong(temperature, top_k, top_p, max_new_tokens, seed, stop,
                                                         clamps):
    settings = SamplingSettings(temperature=temperature, top_k=top_k, top_p=top_p, max_new_tokens=max_new_tokens,
                                seed=seed, stop=stop, clamps=clamps)
    try:
        settings.validate()
    except SettingsError as refused:
        assert str(refused) and "Traceback" not in str(refused)


CLAMP_TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(st.tuples(st.integers(-2, 10**6), st.integers(-2, 10**6), st.sampled_from(["", ":c", ":h", ":x"]),
                       st.floats(allow_nan=True, allow_infinity=True)), max_size=10)
    .map(lambda parts: ", ".join(f"{layer}:{unit}{q}={value}" for layer, unit, q, value in parts)),
    st.text(alphabet="0123456789:=,;.-+eEhc \u0661\u00b2", max_size=40),
)


@fuzz(300)
@given(CLAMP_TEXT)
@example("1:" + "9" * 5000 + "=0")  # past Python's 4,300-digit limit for int()
@example("9" * 5000 + ":1=0")
@example("1:1=" + "9" * 5000)
@example("1:1=1e999, 1:1=-0")
def test_clamp_specs_parse_or_say_what_is_wrong(text):
    try:
        clamps = parse_clamps(text)
    except SettingsError as refused:
        assert str(refused) and len(str(refused)) < 400  # a sentence, not the input echoed back in full
        return
    assert all(math.isfinite(c.value) and abs(c.value) <= MAX_ABS_VALUE and c.layer >= 0 for c in clamps)


CATALOGUE = [cat.model_info({"name": name, "corpus": corpus, "level": level, "cell": cell, "layers": 1,
                             "hidden_size": 8, "parameters": 10, "val_nats_per_char": 1.0})
             for name, corpus, level, cell in [("s-char", "shakespeare", "char", "lstm"),
                                               ("c-word", "c", "word", "gru"), ("mine", "imported", "char", "rnn")]]
KEYS = st.sampled_from([*state.GENERATE_PARAMS, *state.COMPARE_PARAMS, "utm_source"]) | st.text(max_size=6)
VALUES = st.one_of(st.text(max_size=30), st.sampled_from([info.name for info in CATALOGUE]),
                   st.sampled_from(["nan", "inf", "-0", "1e9", "0.5", " 7 ", "1_000", "\u0661", "9" * 5000,
                                    "s-char,c-word", "1:2=0.5", "x" * 2500, ""]))


@fuzz(300)
@given(st.dictionaries(KEYS, st.lists(VALUES, max_size=3), max_size=8))
@example({"length": ["9" * 5000], "seed": ["-1"], "clamp": ["1:" + "9" * 5000 + "=0"], "models": []})
@example({"models": ["s-char, s-char", "nope"], "model": ["mine"], "top_p": ["0"], "temperature": ["1e400"]})
def test_any_share_link_gives_values_and_notices_never_an_error(query):
    values, notices = state.values_from_url(query, CATALOGUE)
    names = [info.name for info in CATALOGUE]
    assert values[state.MODEL] in names and 1 <= len(values[state.MODELS]) <= 4
    assert set(values[state.MODELS]) <= set(names)
    for key, (low, high) in state.LIMITS.items():
        assert low <= values[key] <= high, key
    assert len(values[state.PROMPT]) <= state.MAX_PROMPT_CHARS and len(values[state.STOP]) <= state.MAX_STOP_CHARS
    assert all(isinstance(n, str) and n for n in notices) and len(notices) <= len(query)
    if values[state.CLAMP]:
        parse_clamps(values[state.CLAMP])  # a clamp kept from a link always parses

