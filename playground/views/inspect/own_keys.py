"""Keys of the Inspect page's "Your own feature" section: how the feature is defined (a regular
expression or a selection), the selection itself and what a drag does. Session-only canonical
values (state.bind() works on them), set on the section's first run."""

IN_OWN_BY, IN_BRUSHED, IN_BRUSH_MODE = "in_own_by", "in_brushed", "in_brush_mode"
IN_TEXT_MAP = "in_text_map"  # the text map's chart key: its selection event
OWN_BY = {"regex": "a regular expression", "brush": "selecting text with the mouse"}
BRUSH_MODES = {"add": "adds to the selection", "remove": "removes from it"}
# IN_BRUSHED: (digest of the text it was made on, spans): a selection never outlives its text.
OWN_DEFAULTS = {IN_OWN_BY: "regex", IN_BRUSHED: ("", ()), IN_BRUSH_MODE: "add"}
