"""Learn page: the RNN lecture's lessons, live on our own models.

One lesson is drawn at a time (each measures something; drawing all five would make the
page slow to open): a hand-set LSTM or GRU whose every number can be checked by hand,
the same equations filled in with a real model's gates, how far back gradients and
context reach in a plain RNN, an LSTM and a GRU, exploding gradients with and without
clipping, and a char and a word model reading the same text.
"""

from importlib import import_module

import streamlit as st

from playground import state
from playground.views.learn import keys
from playground.widgets import blocks


def draw(lesson: str, catalogue, info) -> None:
    """Each lesson is the module of its name in this folder, imported when first drawn: the others
    bring torch, numba and plotly, seconds of imports a fresh server would otherwise spend before
    it draws the hand-set LSTM it opens on."""
    name = lesson if lesson in keys.LESSONS else next(iter(keys.LESSONS))
    import_module(f"playground.views.learn.{name}").show(catalogue, info)


def show() -> None:
    catalogue = blocks.catalogue()
    info = state.current_model(catalogue)
    state.start_page(keys.LEARN_DEFAULTS)
    st.title("Learn")
    st.caption("The RNN lecture's ideas (gates, vanishing and exploding gradients, clipping, char vs word models) "
               "measured on the playground's own models. Pick a lesson.")
    st.segmented_control("Lesson", list(keys.LESSONS), format_func=keys.LESSONS.get, required=True,
                         label_visibility="collapsed", **state.bind(keys.LN_LESSON))
    draw(state.value(keys.LN_LESSON), catalogue, info)


show()
