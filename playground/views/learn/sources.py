"""Where the Learn page's lessons get text: held-out text of a corpus when it is on this
server, else what the user pastes."""

import streamlit as st

from playground import catalogue as cat
from playground import resources, state
from playground.widgets.token_html import markdown_literal


def held_out(corpus: str, chars: int, offset: int = 0) -> str | None:
    """chars characters of the corpus's validation split from its first paragraph start (a
    speaker's name, a function) after offset, or None when the corpus is not on this server."""
    validation = resources.validation_text(corpus)
    if not validation:
        return None
    start = validation.find("\n\n", offset) + 2 if "\n\n" in validation[offset:] else offset
    return validation[start:start + chars]


def text_or_paste(corpus: str, chars: int, key: str, label: str, max_chars: int) -> tuple[str, str]:
    """(text, where it came from): held-out text of the corpus, or a text area when the
    user prefers their own or the corpus is not on this server."""
    held = held_out(corpus, chars)
    if held is not None and not st.toggle("Use my own text", key=f"{key}_own"):
        return held, f"{len(held):,} held-out characters of {markdown_literal(cat.corpus_label(corpus))}"
    if held is None:
        st.caption(f"The held-out text of {markdown_literal(cat.corpus_label(corpus))} is not on this server: "
                   "paste a text of that kind.")
    st.text_area(label, height=120, max_chars=max_chars, placeholder="Paste a text…", **state.bind(key))
    return state.value(key), "your text"
