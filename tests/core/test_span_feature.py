"""Your own feature by selection (brushing) on tiny synthetic traces: selected characters become the
same kind of track a regular expression gives, a unit wired to it is found on the first half and
validated on the second, a random one is rejected, and selections that cannot be validated say why."""

import numpy as np
import pytest
from feature_util import PLANTED, STRING, code, trace_of

from rnnlm.cell_validation import halves_middle, search_halves
from rnnlm.errors import SettingsError
from rnnlm.regex_feature import MAX_TEXT_CHARS, regex_feature
from rnnlm.span_feature import MIN_MARKED, added, merged, removed, span_feature, span_track, spans_of


def string_spans(text: str) -> list[tuple[int, int]]:
    """What a user brushing every string literal would select, found independently of the regex."""
    quotes = [i for i, ch in enumerate(text) if ch == '"']
    return [(quotes[i], quotes[i + 1] + 1) for i in range(0, len(quotes), 2)]


def test_spans_are_merged_and_edited_by_positions():
    assert merged([(5, 7), (0, 2), (2, 3), (6, 9), (4, 4)]) == ((0, 3), (5, 9))
    assert spans_of([3, 1, 2, 2, 8]) == ((1, 4), (8, 9))
    assert added(((0, 2),), [2, 3, 10]) == ((0, 4), (10, 11))
    assert removed(((0, 5), (8, 10)), [2, 9, 30]) == ((0, 2), (3, 5), (8, 9))
    assert removed(((0, 2),), [0, 1]) == ()


def test_selected_characters_give_the_same_feature_as_the_regex_that_matches_them():
    tokens = ["say ", '"', "hi", '" ', "now"]  # a word model's tokens: read at each token's last character
    text = "".join(tokens)
    feature = span_feature(tokens, [(4, 8)])  # '"hi"'
    regex = regex_feature(STRING, tokens)
    np.testing.assert_array_equal(feature.chars, regex.chars)
    np.testing.assert_array_equal(feature.tokens, regex.tokens)
    np.testing.assert_array_equal(feature.tokens, [0, 1, 1, 0, 0])  # '" ' ends on a space, outside
    assert feature.name == "your selection (4 characters in 1 span)" and len(feature.chars) == len(text)
    assert feature.middle_char == len("say " + '"') and halves_middle(5) == 2


def test_a_unit_wired_to_the_selection_is_found_on_the_first_half_and_validated_on_the_second():
    text = code(120, seed=1)
    feature = span_feature(list(text), string_spans(text))
    assert feature.problem is None
    matches = search_halves(trace_of(text, seed=2, wired=feature.tokens), "h", per_feature=3,
                            features={feature.name: feature.tokens}, shifts=100)
    best = matches[0]
    assert (best.feature, best.layer, best.unit) == (feature.name, *PLANTED)
    assert best.validated and best.correlation > 0.5 and best.check_correlation > 0.5 and best.chance < 0.3
    assert not any(m.validated for m in matches if m.layer == 0)  # layer 0 holds only noise


def test_the_chance_baseline_rejects_the_luckiest_random_unit():
    text = code(60, seed=3)
    feature = span_feature(list(text), string_spans(text))
    matches = search_halves(trace_of(text, seed=4, walk=True), "h", per_feature=3,
                            features={feature.name: feature.tokens}, shifts=100)
    assert abs(matches[0].correlation) > 2 / np.sqrt(len(text) / 2)  # looks like a cell on the first half...
    assert not any(m.validated for m in matches)  # ...but searching every unit finds that by chance


def test_selections_that_cannot_be_validated_say_what_to_do():
    text = "abcdefghij" * 4  # 40 one-character tokens: the second half starts at character 20
    tokens = list(text)
    assert "Nothing is selected" in span_feature(tokens, []).problem
    assert "Every character is selected" in span_feature(tokens, [(0, 40)]).problem
    first_only = span_feature(tokens, [(2, 6)]).problem
    assert "0 tokens in the second half" in first_only and "from character 20 on" in first_only
    assert f"at least {MIN_MARKED} tokens in each" in first_only
    one_early = span_feature(tokens, [(3, 4), (25, 30)]).problem
    assert "1 token in the first half" in one_early and "before character 20" in one_early
    assert "almost every token in the second half" in span_feature(tokens, [(2, 6), (20, 40)]).problem
    assert span_feature(tokens, [(2, 6), (25, 30)]).problem is None


def test_a_word_token_counts_only_when_its_last_character_is_selected():
    tokens = ["hello ", "world ", "again ", "hello ", "world ", "again "] * 2
    inside_words = span_feature(tokens, [(0, 3), (36, 39)])  # the start of "hello " twice: no token ends there
    assert inside_words.chars.sum() == 6 and inside_words.tokens.sum() == 0
    assert "0 tokens in the first half" in inside_words.problem


def test_spans_outside_the_text_or_a_text_too_long_are_refused():
    with pytest.raises(SettingsError, match="outside this text"):
        span_feature(list("abc"), [(1, 5)])
    with pytest.raises(SettingsError, match="outside this text"):
        span_track(3, ((-1, 2),))
    with pytest.raises(SettingsError, match="characters long"):
        span_track(MAX_TEXT_CHARS + 1, ((0, 1),))
