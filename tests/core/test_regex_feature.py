"""Your own feature (a regular expression) on tiny synthetic traces: a unit wired to it is found and
validated, a random one is rejected by the chance baseline, and bad patterns are refused."""

import numpy as np
import pytest
from feature_util import PLANTED, STRING, code, trace_of

from rnnlm.cell_validation import search_halves
from rnnlm.errors import SettingsError
from rnnlm.features import feature_tracks
from rnnlm.interpret import Trace, token_feature_tracks
from rnnlm.regex_feature import MAX_PATTERN_CHARS, MAX_TEXT_CHARS, compile_pattern, regex_feature, regex_track


def test_the_track_marks_every_character_of_each_match():
    text = 'a = "hi"; // note\nb'
    np.testing.assert_array_equal(regex_track(STRING, text), [c in '"hi' and 4 <= i <= 7 for i, c in enumerate(text)])
    comment = regex_track("//.*", text)
    assert "".join(c for c, m in zip(text, comment) if m) == "// note"
    assert not regex_track("x*", "abc").any()  # empty matches mark nothing


def test_tokens_read_the_track_at_their_last_character_like_the_built_in_features():
    tokens = ["say ", '"', "hi", '" ', "now"]
    feature = regex_feature(STRING, tokens)
    np.testing.assert_array_equal(feature.tokens, [0, 1, 1, 0, 0])  # '" ' ends on a space, outside the string
    trace = Trace(list(range(5)), tokens, np.zeros((5, 1, 1, 1), np.float32), [[]] * 5, ("h",))
    built_in = token_feature_tracks(trace)["whitespace run"]
    np.testing.assert_array_equal(built_in, feature_tracks("".join(tokens))["whitespace run"][[3, 4, 6, 8, 11]])


def test_a_unit_wired_to_the_pattern_is_found_on_the_first_half_and_validated_on_the_second():
    text = code(120, seed=1)
    feature = regex_feature(STRING, list(text))
    assert feature.problem is None
    matches = search_halves(trace_of(text, seed=2, wired=feature.tokens), "h", per_feature=3,
                            features={feature.name: feature.tokens}, shifts=100)
    best = matches[0]
    assert (best.feature, best.layer, best.unit) == (f"matches {STRING}", *PLANTED)
    assert best.validated and best.correlation > 0.5 and best.check_correlation > 0.5 and best.chance < 0.3
    assert not any(m.validated for m in matches if m.layer == 0)  # layer 0 holds only noise


def test_the_chance_baseline_rejects_the_luckiest_random_unit():
    text = code(60, seed=3)
    feature = regex_feature(STRING, list(text))
    matches = search_halves(trace_of(text, seed=4, walk=True), "h", per_feature=3,
                            features={feature.name: feature.tokens}, shifts=100)
    assert abs(matches[0].correlation) > 2 / np.sqrt(len(text) / 2)  # it looks like a cell on the first half...
    assert not any(m.validated for m in matches)  # ...but searching every unit finds that by chance


def test_a_pattern_that_matches_nothing_or_everything_is_reported_not_searched():
    assert "nothing" in regex_feature("zzz", list("abc abc")).problem
    assert "every character" in regex_feature(".", list("abc")).problem
    assert "first half" in regex_feature("q", list("abcdefq")).problem


@pytest.mark.parametrize("pattern, says", [
    ("", "Type a regular expression"),
    ("(", "Not a valid regular expression"),
    ("[a-", "Not a valid regular expression"),
    ("a" * (MAX_PATTERN_CHARS + 1), f"at most {MAX_PATTERN_CHARS}"),
    ("(a+)+$", "exponential time"),
    ("(\\w*)*x", "exponential time"),
    ('("[^"]*"\\s*)+', "exponential time"),
])
def test_bad_or_dangerous_patterns_are_refused_with_a_clear_message(pattern, says):
    with pytest.raises(SettingsError, match=says.replace("(", r"\(")):
        compile_pattern(pattern)


def test_safe_repetition_and_a_bounded_text_are_allowed_but_a_longer_text_is_refused():
    for pattern in (STRING, "//.*", "(ab)+", "(?:ab{2})*", "[a-z]+\\d*"):
        compile_pattern(pattern)
    assert regex_track("a", "a" * MAX_TEXT_CHARS).all()
    with pytest.raises(SettingsError, match="characters long"):
        regex_track("a", "a" * (MAX_TEXT_CHARS + 1))
