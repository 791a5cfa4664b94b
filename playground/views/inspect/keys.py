"""The Inspect page's controls: session-only canonical values (state.bind() works on them),
so a visit to another page loses nothing. The inspected text can be long, so it stays out of the URL."""

import random

import streamlit as st

IN_SOURCE, IN_PASTED, IN_SLICE_SEED, IN_SLICE_CHARS = "in_source", "in_pasted", "in_slice_seed", "in_slice_chars"
IN_LAYER, IN_QUANTITY, IN_SQUASH, IN_SORT, IN_FEATURE, IN_WINDOW, IN_UNIT = (
    "in_layer", "in_quantity", "in_squash", "in_sort", "in_feature", "in_window", "in_unit")
IN_CELL = "in_cell"  # the interpretable cell picked in the search results
IN_PATTERN, IN_OWN_CELL = "in_pattern", "in_own_cell"  # your own feature (a regex) and the unit picked for it
IN_UNITS_SHOWN, IN_WINDOW_SIZE = "in_units_shown", "in_window_size"
UNITS_SHOWN = (32, 64, 128, 256, 512)  # the first N units in the chosen order
WINDOW_SIZES = (100, 200, 500, 1000)  # tokens per view
INSPECT_DEFAULTS = {IN_SOURCE: "validation", IN_PASTED: "", IN_SLICE_SEED: 0, IN_SLICE_CHARS: 2000, IN_LAYER: 0,
                    IN_QUANTITY: "h", IN_SQUASH: True, IN_SORT: "variance", IN_FEATURE: "position in line",
                    IN_WINDOW: 0, IN_UNIT: 0, IN_CELL: 0, IN_PATTERN: "", IN_OWN_CELL: 0,
                    IN_UNITS_SHOWN: 64, IN_WINDOW_SIZE: 200}  # a readable first view: the busiest units
IN_HEATMAP, IN_SATURATION = "in_heatmap", "in_saturation"  # chart widget keys: clicking a unit picks it


def roll_slice() -> None:
    st.session_state[IN_SLICE_SEED] = random.randrange(0, 1_000_000)

