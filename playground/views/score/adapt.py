"""The Score page's "adapt while reading" switch: dynamic evaluation (rnnlm.dynamic_eval).

The model scores the text window by window and, after each window, a private copy of its
weights takes one gradient step on what it just read, so names and idioms of this text become
predictable as it goes. The shared model is never touched. A text of 4,000 tokens or more is
read as segments side by side (the batched mode, several thousand characters a second on one
core; a shorter text is one stream, about a thousand: docs/ADAPT.md). Either way it shows a
progress bar, and the last result is kept in the session: toggling back and forth costs nothing.
"""

import hashlib

import streamlit as st
import torch

from playground import resources
from playground.catalogue import ModelInfo
from playground.views.score import keys
from rnnlm import LanguageModel, ScoreResult
from rnnlm.adapt_settings import streams_for
from rnnlm.dynamic_eval import AdaptSettings, adapt_text

HELP = ("Dynamic evaluation (Krause et al. 2018): after scoring each window of the text, a private copy "
        "of the model takes one gradient step on it, so the text's own names and idioms become "
        "predictable as it goes. Every token is still predicted from the text before it only.")


def switch() -> bool:
    return st.toggle("Adapt while reading", key=keys.SC_ADAPT, help=HELP)


def one_thread(work):
    """A short text adapts as one stream of matrix-vector products, which a second thread does not
    speed up (and a long one fairly shares a busy server this way); on a server whose other core is busy, two spinning OpenMP threads made it crawl: in the
    browser, with tests and a training run on the machine, 3,000 characters of C took 11 s with
    one thread, against 750 characters in 20 s with two. This script thread uses one torch
    thread while adapting, then its own again."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return work()
    finally:
        torch.set_num_threads(before)


def segments(result: ScoreResult) -> int:
    """How many segments side by side the text was read in (1: one stream)."""
    return streams_for(result.tokens, AdaptSettings())


def adapted_score(info: ModelInfo, lm: LanguageModel, text: str) -> ScoreResult:
    """The adapted result for this model and text: kept (one per session, memory stays bounded)."""
    wanted = (resources.model_key(info), hashlib.sha256(text.encode("utf-8")).hexdigest())
    kept = st.session_state.get(keys.SC_ADAPTED)
    if kept is None or kept[0] != wanted:
        bar = st.progress(0.0, text="Adapting to the text…")

        def on_window(done: int, total: int) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=f"Adapting to the text… {done:,} of {total:,} characters")

        result = one_thread(lambda: adapt_text(lm, text, AdaptSettings(), on_window=on_window))
        bar.empty()
        kept = (wanted, result)
        st.session_state[keys.SC_ADAPTED] = kept
    return kept[1]
