"""Lesson: a char and a word model of the same corpus read the same text; per character,
where does each pay fewer bits?"""

import html

import numpy as np
import streamlit as st

from playground import catalogue as cat
from playground import resources
from playground.views.learn import cached, charts, keys, sources
from playground.widgets.token_html import markdown_literal, swatch_legend
from rnnlm import RnnlmError
from rnnlm.units import nats_to_bits

TEXT_CHARS, MAX_CHARS = 1_500, 5_000
WIN_COLOURS = {"char": (31, 119, 180), "word": (255, 127, 14)}  # the chart's colours


def best(catalogue, corpus: str, level: str):
    found = [i for i in cat.options(catalogue, corpus=corpus, level=level) if not i.from_session]
    return min(found, key=lambda i: i.val_nats_per_char) if found else None


def bits_per_char(info, text: str) -> np.ndarray:
    result = cached.score(resources.model_key(info), text, resources.load(info))
    return nats_to_bits(result.per_char_nats())


def winner_html(text: str, char_bits: np.ndarray, word_bits: np.ndarray) -> str:
    """Each character tinted by the model that paid fewer bits for it, deeper for a bigger margin."""
    parts = []
    for ch, c, w in zip(text, char_bits, word_bits):
        colour = WIN_COLOURS["char" if c < w else "word"]
        alpha = min(abs(c - w) / 4.0, 1.0) * 0.8
        shown = "↵\n" if ch == "\n" else html.escape(ch)
        parts.append(f'<span style="background: rgba({colour[0]},{colour[1]},{colour[2]},{alpha:.2f})" '
                     f'title="char {c:.2f} bits, word {w:.2f} bits">{shown}</span>')
    return f'<div class="rnnlm-tokens" style="white-space: pre-wrap">{"".join(parts)}</div>'


def show(catalogue, info) -> None:
    char_model, word_model = best(catalogue, info.corpus, "char"), best(catalogue, info.corpus, "word")
    if not (char_model and word_model):
        st.info(f"{markdown_literal(cat.corpus_label(info.corpus))} needs both a char and a word model for this "
                "lesson: pick a model of another corpus in the sidebar.")
        return
    st.markdown(f"**{markdown_literal(char_model.name)}** predicts one character at a time; "
                f"**{markdown_literal(word_model.name)}** one piece (a word or part of one) at a time. Each token's "
                "cost is spread over its characters, so both are measured in bits per character.")
    text, origin = sources.text_or_paste(info.corpus, TEXT_CHARS, keys.LN_CW_TEXT, "Text to read", MAX_CHARS)
    text = text[:MAX_CHARS]
    if not text.strip():
        st.info("Paste a text to compare the two models on.")
        return
    try:
        char_bits, word_bits = bits_per_char(char_model, text), bits_per_char(word_model, text)
    except RnnlmError as exc:
        st.error(str(exc))
        return
    left, right, share = st.columns(3)
    left.metric(f"{char_model.name}", f"{char_bits.mean():.3f} bits/char")
    right.metric(f"{word_model.name}", f"{word_bits.mean():.3f} bits/char")
    share.metric("characters the char model wins", f"{(char_bits < word_bits).mean():.0%}")
    st.plotly_chart(charts.char_word_figure(char_model.name, char_bits.tolist(), word_model.name,
                                            word_bits.tolist()), key="ln_cw_chart")
    st.html(winner_html(text, char_bits, word_bits) + swatch_legend(
        "Cheaper for", [(f"rgb{WIN_COLOURS['char']}", html.escape(char_model.name)),
                         (f"rgb{WIN_COLOURS['word']}", html.escape(word_model.name))],
        "deeper colour, bigger margin; hover a character for both costs"))
    st.caption(f"Read: {origin}. A word model spends its bits at the start of each piece and little after; a char "
               "model pays for every character but can spell words its vocabulary lacks.")
