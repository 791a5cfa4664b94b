"""The Score page (AppTest) and its pure parts: surprisal colouring and the most surprising spans."""

import re
import threading

import numpy as np
import pytest
import torch
from app_util import APP, TIMEOUT, html_blocks, manifest_names, visible_text
from streamlit.testing.v1 import AppTest

import rnnlm
from playground import state
from playground.views.score import cached, surprisal
from playground.views.score import comparison as score_comparison
from playground.views.score import keys as score_keys
from playground.widgets import token_html
from playground.widgets.token_html import markdown_literal
from rnnlm.score_many import ScoreJob

PAGE = "views/score/score.py"
CHAR_LSTM = "smoke-char-lstm"
TEXT = "KING RICHARD III:\nNow is the winter of our discontent\nMade glorious summer by this sun of York;\n"
INJECTION = '<img src=x onerror=alert(1)> **bold** [x](javascript:alert(2)) :red[r] $x$.txt'


def score_page(model: str = CHAR_LSTM) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"model": model})
    return at.switch_page(PAGE).run()


def paste(at: AppTest, text: str) -> AppTest:
    at.text_area(key=state.widget_key(score_keys.SC_PASTED)).set_value(text).run()
    assert not at.exception
    return at


def scored_text(at: AppTest) -> str:
    return visible_text(html_blocks(at, "rnnlm-scored")[0].split('<div class="rnnlm-legend"')[0])


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def comparison(at: AppTest):
    return at.dataframe[-1].value


def test_an_empty_page_asks_for_a_text():
    at = score_page()
    assert not at.exception and any("Paste a text" in i.value for i in at.info)
    assert not html_blocks(at, "rnnlm-scored")


def test_pasted_text_matches_score_text_and_every_char_model_is_compared():
    at = paste(score_page(), TEXT)
    expected = rnnlm.score_text(rnnlm.load(CHAR_LSTM), TEXT)
    assert metric(at, "nats / char") == f"{expected.nats_per_char:.3f}"
    assert metric(at, "bits / char") == f"{expected.bits_per_char:.3f}"
    assert metric(at, "characters · tokens") == f"{len(TEXT):,} · {expected.tokens:,}"
    assert scored_text(at) == "".join(expected.token_texts)
    html = html_blocks(at, "rnnlm-scored")[0]
    bits = surprisal.surprisal_bits(expected.logprobs)
    assert html.count('class="rnnlm-tok') == expected.tokens and f"{bits[0]:.2f} bits" in html

    spans = at.dataframe[0].value
    top = surprisal.surprising_spans(expected.token_texts, bits, width=surprisal.span_width("char"))[0]
    assert spans["bits"].iloc[0] == round(top.bits, 1) and spans["at character"].iloc[0] == top.char

    table = comparison(at)
    assert sorted(table["model"]) == sorted(manifest_names(level="char"))
    row = table[table["model"] == CHAR_LSTM].iloc[0]
    assert row["nats/char"] == round(expected.nats_per_char, 4)
    best = table.loc[table["nats/char"].idxmin()]
    assert best["best"].startswith("◀") and (table["best"] != "").sum() == 1


def test_unknown_characters_are_shown_as_typed_and_escaped():
    text = "<script>alert('x')</script> {braces}\n"
    at = paste(score_page(), text)
    html = html_blocks(at, "rnnlm-scored")[0]
    assert "<script>" not in html and scored_text(at) == text
    assert any("new to this model" in c.value for c in at.caption)


def test_word_model_compares_word_models():
    model = manifest_names(level="word")[0]
    at = paste(score_page(model), TEXT)
    expected = rnnlm.score_text(rnnlm.load(model), TEXT)
    assert metric(at, "nats / char") == f"{expected.nats_per_char:.3f}"
    assert sorted(comparison(at)["model"]) == sorted(manifest_names(level="word"))


def test_uploaded_utf8_file_is_scored_instead_of_the_pasted_text():
    at = paste(score_page(), "something else")
    at.file_uploader(key=score_keys.SC_UPLOADER).upload("speech.txt", TEXT.replace("\n", "\r\n").encode(), "text/plain")
    at.run()
    assert not at.exception and not at.error
    assert scored_text(at) == "".join(rnnlm.score_text(rnnlm.load(CHAR_LSTM), TEXT).token_texts)


@pytest.mark.parametrize("data, reason", [(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
                                          ("Ç'est déjà l'été".encode("latin-1"), "not UTF-8"),
                                          ("hi".encode("utf-16"), "UTF-16"),
                                          (b"  \n", "no text")], ids=["png", "latin-1", "utf-16", "blank"])
def test_bad_uploads_get_a_message_with_the_name_escaped(data, reason):
    at = score_page()
    at.file_uploader(key=score_keys.SC_UPLOADER).upload(INJECTION, data)
    at.run()
    assert not at.exception and len(at.error) == 1
    message = at.error[0].value
    assert reason in message.replace("\\", "") and "Traceback" not in message  # as rendered: escapes dropped
    assert markdown_literal(INJECTION) in message  # shown as typed
    shown_name = message[:message.index(".txt")]
    assert re.search(r"(?<!\\)[<>*\[\]$:]", shown_name) is None  # no markup character left unescaped
    assert not html_blocks(at, "rnnlm-scored")


# --- pure parts ------------------------------------------------------------------------

def test_surprisal_html_escapes_and_bins_by_bits():
    html = surprisal.scored_html(["<script>", "x", "\n"], [0.5, 9.0, 3.0])
    assert "<script>" not in html and visible_text(html) == "<script>x\n"
    assert surprisal.surprisal_colour(9.0) == surprisal.SURPRISAL_BINS[0][1]
    assert surprisal.surprisal_colour(0.2) == surprisal.SURPRISAL_BINS[-1][1]
    np.testing.assert_allclose(surprisal.surprisal_bits(np.log([0.5, 0.25])), [1.0, 2.0])
    assert "≥ 8 bits" in surprisal.legend_html()


def test_surprising_spans_are_the_largest_non_overlapping_windows():
    tokens = list("abcdefghij")
    bits = [0, 0, 5, 5, 0, 0, 0, 1, 9, 0]
    spans = surprisal.surprising_spans(tokens, bits, count=3, width=2)
    assert [(s.text, s.bits) for s in spans] == [("cd", 10.0), ("hi", 10.0), ("ab", 0.0)]
    assert spans[0].char == 2 and spans[0].bits_per_char == 5.0
    assert surprisal.surprising_spans([], [], width=3) == []
    assert surprisal.surprising_spans(["a", "b"], [1, 2], width=8)[0].text == "ab"  # shorter than one window
    assert surprisal.span_rows(spans[:1]) == [{"span": "cd", "at character": 2, "bits": 10.0, "bits/char": 5.0}]


def test_a_word_models_unknown_characters_are_shown_as_written_and_marked_unknown():
    tokens = ["To", " die", "\ufffd", "to", " sleep"]  # an em dash the vocabulary lacks
    text = "To die\u2014to sleep"
    readable = token_html.readable_tokens(tokens, text)
    assert readable == ["To", " die", "\u2014", "to", " sleep"] and "".join(readable) == text
    html = surprisal.scored_html(readable, [1.0, 2.0, 12.0, 1.0, 3.0], token_html.unknown_flags(tokens))
    assert "\ufffd" not in html and "\u2014" in html
    assert html.count(" unk\"") == 1 and "not in the model&#x27;s vocabulary" in html
    assert token_html.readable_tokens(["ab", "\ufffd"], "abcd") == ["ab", "\ufffd"]  # does not spell the text: kept


def test_the_score_page_shows_the_users_own_characters_for_a_word_model():
    at = paste(score_page("smoke-word-gru"), "To die\u2014to sleep, \u00bfno more?\n")
    assert at.session_state[state.MODEL] == "smoke-word-gru" and " die" in html_blocks(at, "rnnlm-scored")[0]
    shown = scored_text(at)
    assert "\u2014" in shown and "\u00bf" in shown and "\ufffd" not in shown
    assert any("outlined in red" in c.value for c in at.caption)


def test_adapting_while_reading_scores_with_dynamic_evaluation_and_leaves_the_shared_model_alone():
    from rnnlm.dynamic_eval import AdaptSettings, adapt_text

    text = TEXT * 4  # repeats: a model that adapts should find the later copies easier
    at = paste(score_page(), text)
    static = float(metric(at, "nats / char"))
    before = {k: v.clone() for k, v in rnnlm.load(CHAR_LSTM).net.state_dict().items()}
    at.toggle(key=score_keys.SC_ADAPT).set_value(True).run()
    assert not at.exception
    adapted = float(metric(at, "nats / char"))
    expected = adapt_text(rnnlm.load(CHAR_LSTM), text, AdaptSettings())
    assert adapted == pytest.approx(expected.nats_per_char, abs=5e-4) and adapted < static
    assert any("while adapting" in c.value for c in at.caption)
    after = rnnlm.load(CHAR_LSTM).net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # a fresh load equals; the cached one too:
    at.toggle(key=score_keys.SC_ADAPT).set_value(False).run()
    assert float(metric(at, "nats / char")) == pytest.approx(static)  # the cached model was never changed


def test_a_long_text_adapts_as_segments_side_by_side_and_the_page_says_so():
    from rnnlm.adapt_settings import MIN_STREAM_TOKENS
    from rnnlm.dynamic_eval import AdaptSettings, adapt_text

    text = (TEXT * (2 * MIN_STREAM_TOKENS // len(TEXT) + 1))[:2 * MIN_STREAM_TOKENS + 100]  # two streams' worth
    at = paste(score_page(), text)
    at.toggle(key=score_keys.SC_ADAPT).set_value(True).run()
    assert not at.exception
    expected = adapt_text(rnnlm.load(CHAR_LSTM), text, AdaptSettings())
    assert float(metric(at, "nats / char")) == pytest.approx(expected.nats_per_char, abs=5e-4)
    assert any("read as 2 segments side by side" in c.value for c in at.caption)


def test_an_upload_never_silently_replaces_the_pasted_text_and_the_page_says_which_is_scored():
    pasted = "int main(void) { return 0; }\n"
    at = paste(score_page(), pasted)
    at.file_uploader(key=score_keys.SC_UPLOADER).upload("speech *1*.txt", TEXT.encode(), "text/plain")
    at.run()
    assert not at.exception
    choice = at.radio(key=score_keys.SC_SOURCE)
    assert choice.value == "the uploaded file"  # the new file is scored first…
    name = markdown_literal("speech *1*.txt")
    assert any(f"Scored the file {name}" in c.value for c in at.caption)  # named, escaped
    assert scored_text(at) == TEXT
    assert at.text_area(key=state.widget_key(score_keys.SC_PASTED)).value == pasted  # …and the paste is kept
    choice.set_value("the pasted text").run()
    assert not at.exception and scored_text(at) == pasted
    assert any("Scored the pasted text" in c.value for c in at.caption)


def test_an_upload_with_an_empty_paste_box_is_scored_without_asking():
    at = score_page()
    at.file_uploader(key=score_keys.SC_UPLOADER).upload("speech.txt", TEXT.encode(), "text/plain")
    at.run()
    assert not at.exception and scored_text(at) == TEXT
    assert not [r for r in at.radio if r.key == score_keys.SC_SOURCE]


def test_the_comparison_scores_models_side_by_side_with_the_figures_each_gives_alone(monkeypatch):
    monkeypatch.setattr(cached, "default_workers", lambda: 2)  # as on a 2-core server (tests run one thread)
    text = "/* side by side */\nint main(void) { return 0; }\n"  # scored by no other test: nothing is kept yet
    at = paste(score_page(), text)
    assert not at.exception and not at.warning
    assert any(thread.name.startswith("rnnlm-score-") for thread in threading.enumerate())
    table = comparison(at)
    assert sorted(table["model"]) == sorted(manifest_names(level="char"))
    for model in manifest_names(level="char"):
        alone = rnnlm.score_text(rnnlm.load(model), text)
        np.testing.assert_array_equal(cached.kept(model, text).logprobs, alone.logprobs)
        assert table[table["model"] == model].iloc[0]["nats/char"] == round(alone.nats_per_char, 4)


def test_the_comparisons_bar_says_how_far_it_is_and_which_models_are_reading():
    lm = rnnlm.load(CHAR_LSTM)
    done = ScoreJob.finished("done", rnnlm.score_text(lm, "ab"))
    reading = ScoreJob("reading *1*", lm, "ab")
    reading.future.set_running_or_notify_cancel()
    reading.done, reading.total = 1, 4
    waiting = ScoreJob("waiting", lm, "ab")
    fraction, words = score_comparison.progress([done, reading, waiting], "char")
    assert fraction == pytest.approx((1 + 0.25 + 0) / 3)
    assert words.startswith("Scoring with every char-level model: 1 of 3 done")
    assert f"reading with {markdown_literal('reading *1*')}" in words and "waiting" not in words
    assert words.endswith("(42%)")


def test_the_headline_takes_the_result_of_a_comparison_job_already_reading_its_text(monkeypatch):
    """A rerun mid-comparison (another model picked) waits for that model's running job, not a second reading."""
    lm, text = rnnlm.load(CHAR_LSTM), "read once by a comparison's worker\n"
    job = cached.jobs({CHAR_LSTM: (CHAR_LSTM, lm)}, text, workers=1)[CHAR_LSTM]
    release = threading.Event()
    reading = threading.Thread(target=job.run, args=(release.wait,))  # holds after its first window
    reading.start()
    while not job.running:
        threading.Event().wait(0.001)
    monkeypatch.setattr(cached, "score_text", lambda *args, **kwargs: pytest.fail("read the text a second time"))
    threading.Timer(0.2, release.set).start()
    result = cached.score(CHAR_LSTM, text, lm)
    reading.join()
    assert result is job.result() and cached.kept(CHAR_LSTM, text) is result
    np.testing.assert_array_equal(result.logprobs, rnnlm.score_text(lm, text).logprobs)
