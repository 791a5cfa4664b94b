"""Feature tracks, cell search, unit ordering and gate saturation."""

import numpy as np
import pytest
from conftest import tiny_model

from rnnlm.interpret import Trace, correlations, feature_tracks, gate_saturation, search_cells, trace_text, unit_order

CODE = 'int f(a) { /* x{ */ if (p) { s = "a{b"; } }\n'


def test_brace_depth_ignores_comments_and_strings():
    depth = feature_tracks(CODE)["brace depth"]
    assert depth[CODE.index("/*")] == 1 and depth[CODE.index("a{b")] == 2 and depth[-1] == 0
    assert depth.max() == 2


def test_comment_and_string_tracks():
    comment = feature_tracks(CODE)["inside comment"]
    start, end = CODE.index("/*"), CODE.index("*/") + 2
    assert comment[start:end].all() and not comment[:start].any() and not comment[end:].any()
    line_comment = feature_tracks("a; // note\nb;")["inside comment"]
    assert line_comment[3:10].all() and not line_comment[11:].any()
    string = feature_tracks(r'x = "a\"b"; y')["inside string literal"]
    assert string[4:10].all() and not string[11:].any()


def test_quotes_nesting_lines_and_speakers():
    text = 'KING HENRY:\nHe said "go".\n'
    tracks = feature_tracks(text)
    assert tracks["inside quotes"][text.index('"go"'):text.index('"go"') + 4].all()
    assert tracks["speaker name line"][:11].all() and not tracks["speaker name line"][12:].any()
    assert list(tracks["position in line"][12:16]) == [0, 1, 2, 3]
    assert tracks["start of line"][12] == 1 and tracks["start of line"][13] == 0
    nested = feature_tracks("f(g(x), [1])")
    assert nested["parenthesis depth"].max() == 2 and nested["bracket depth"].max() == 1


def test_indentation_level_counts_leading_whitespace_as_read_with_tabs_to_eight():
    text = "a\n    b c\n\tx;\n\t  y\n"
    indent = feature_tracks(text)["indentation level"]
    assert indent[0] == 0 and list(indent[2:7]) == [1, 2, 3, 4, 4]  # grows while the indentation is read
    assert indent[text.index("c")] == 4 and indent[text.index("b c\n") + 3] == 4  # the newline ends its line
    assert indent[text.index("x")] == 8 and indent[text.index("y")] == 10  # a tab reaches column 8
    assert indent[-1] == 10 and feature_tracks("  ")["indentation level"].tolist() == [1, 2]


def test_if_for_while_block_depth_counts_only_braces_those_statements_open():
    text = ("int f(void) {\n\tif (a) {\n\t\tfor (i = 0; i < n; i++) {\n\t\t\tx;\n\t\t}\n\t} else {\n\t\ty;\n\t}\n"
            "\tif (b) return;\n\tstruct s t = {1};\n\twhile (c)\n\t\tz;\n}\n")
    block = feature_tracks(text)["if/for/while block depth"]

    def at(piece: str) -> float:
        return block[text.index(piece)]

    assert at("int") == 0 and at("if (a)") == 0 and at("for") == 1 and at("x;") == 2
    assert at("}\n\t} else") == 1 and at("y;") == 1  # an else block belongs to its if statement
    assert at("{1}") == 0 and at("{1}") == block[text.index("t = ")]  # `if (b) return;` opened no block
    assert block.max() == 2 and block[-1] == 0
    ignored = 'x = "if (a) {"; /* while (b) { */ #if X\n{ y; }\n'
    assert not feature_tracks(ignored)["if/for/while block depth"].any()  # strings, comments, preprocessor


def _synthetic_trace(feature, units=16, seed=0, planted=11):
    rng = np.random.default_rng(seed)
    states = rng.normal(size=(len(feature), 2, 1, units)).astype(np.float32)
    states[:, 1, 0, planted] = -feature  # a unit that is exactly (minus) the feature, in layer 1
    return Trace(list(range(len(feature))), ["x"] * len(feature), states, [[]] * len(feature), ("h",))


def test_search_ranks_a_planted_unit_first():
    feature = (np.arange(400) % 37 < 10).astype(np.float32)
    best = search_cells(_synthetic_trace(feature), features={"planted": feature, "flat": np.zeros(400)})[0]
    assert (best.layer, best.unit, best.feature) == (1, 11, "planted")
    assert best.correlation == pytest.approx(-1.0, abs=1e-5)


def test_search_on_a_real_trace(char_tokenizer):
    lm = tiny_model(char_tokenizer)
    trace = trace_text(lm, "ROMEO:\nO, she doth teach the torches to burn bright!\n")
    assert trace.states.shape == (len(trace.token_ids), 2, 6, 24)
    assert "".join(trace.token_texts).startswith("ROMEO:")
    assert all(len(g) == 3 and g[0][1] >= g[1][1] for g in trace.next_top)
    matches = search_cells(trace)
    assert matches and all(-1 <= m.correlation <= 1 for m in matches)
    assert abs(matches[0].correlation) >= abs(matches[-1].correlation)


def test_correlations_and_orderings():
    feature = np.linspace(0, 1, 50)
    values = np.stack([feature, -feature, np.ones(50), np.sin(np.arange(50))], axis=1)
    r = correlations(values, feature)
    assert r[0] == pytest.approx(1) and r[1] == pytest.approx(-1) and r[2] == 0
    assert list(unit_order(values, "correlation", feature)[:1]) == [0]
    assert sorted(unit_order(values, "variance")) == [0, 1, 2, 3]
    assert unit_order(values, "variance")[-1] == 2  # the constant unit has no variance
    assert sorted(unit_order(values, "similarity")) == [0, 1, 2, 3]


def test_gate_saturation_fractions(char_tokenizer):
    trace = trace_text(tiny_model(char_tokenizer, cell="gru"), "to be or not to be " * 5)
    result = gate_saturation(trace)
    assert {(s.gate, s.layer) for s in result} == {(g, l) for g in ("reset", "update") for l in (0, 1)}
    for s in result:
        assert ((s.left >= 0) & (s.left + s.right <= 1)).all()
    states = np.full((10, 1, 6, 4), 0.5, dtype=np.float32)
    states[:3, 0, 3, 0] = 0.95  # forget gate of unit 0 open 30% of the time
    planted = Trace([0] * 10, ["a"] * 10, states, [[]] * 10, ("h", "c", "input", "forget", "output", "candidate"))
    forget = next(s for s in gate_saturation(planted) if s.gate == "forget")
    assert forget.right[0] == pytest.approx(0.3) and forget.left[0] == 0
