"""The Learn page's controls: session-only values, so a visit to another page loses nothing."""

LN_LESSON = "ln_lesson"
LESSONS = {"handset": "A hand-set LSTM", "gates": "Gates on real text", "reach": "How far back it looks",
           "clipping": "Exploding gradients", "char_word": "Char vs word"}
LN_HS_CELL, LN_HS_OUTPUT, LN_HS_U, LN_HS_EDIT = "ln_hs_cell", "ln_hs_output", "ln_hs_u", "ln_hs_edit"
LN_GATE_TEXT, LN_GATE_LAYER, LN_GATE_POSITION = "ln_gate_text", "ln_gate_layer", "ln_gate_position"
LN_REACH_CORPUS, LN_REACH_TEXT = "ln_reach_corpus", "ln_reach_text"
LN_CLIP_SOURCE, LN_CLIP_TEXT = "ln_clip_source", "ln_clip_text"
LN_CW_TEXT = "ln_cw_text"
LEARN_DEFAULTS = {LN_LESSON: "handset", LN_HS_CELL: "LSTM", LN_HS_OUTPUT: "linear", LN_HS_U: 1.0, LN_HS_EDIT: False,
                  LN_GATE_TEXT: "", LN_GATE_LAYER: 0, LN_GATE_POSITION: 40, LN_REACH_CORPUS: "",
                  LN_REACH_TEXT: "", LN_CLIP_SOURCE: "builtin", LN_CLIP_TEXT: "", LN_CW_TEXT: ""}
# Widget keys whose values live only in the widget (tables edited in place, the run buttons).
LN_HS_INPUTS, LN_HS_WEIGHTS, LN_HS_CHARTS = "ln_hs_inputs", "ln_hs_weights", "ln_hs_charts"
LN_GATE_UNIT = "ln_gate_unit"
LN_CLIP_SETTINGS = "ln_clip_settings"
